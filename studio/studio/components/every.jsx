// <Every ms={20000} onTick={...} />: calls onTick every `ms` milliseconds while it is mounted
// and the page is visible, and once more when a hidden page becomes visible again. Renders
// nothing. The studio's header uses it to poll the inbox's unread count; it stops by itself
// when the person signs out (the header goes) or closes the tab.
import { useEffect, useRef } from "react";

export function Every({ ms, onTick }) {
  const tick = useRef(onTick);
  useEffect(() => {
    tick.current = onTick;
  }, [onTick]);
  useEffect(() => {
    const fire = () => {
      if (!document.hidden && tick.current) tick.current();
    };
    const timer = setInterval(fire, Math.max(Number(ms) || 0, 1000));
    document.addEventListener("visibilitychange", fire);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", fire);
    };
  }, [ms]);
  return null;
}
