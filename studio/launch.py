"""Start the studio as a production build on one port, pointed at a runtime.

Used by `dirigent up` (runtime/cli/server.py's studio hook) and the browser tests;
runs from the command line too:

    python studio/launch.py --runtime-url http://127.0.0.1:8710 --port 8711

`reflex run --env prod --single-port` compiles the app, builds the frontend (bun, Vite)
when the sources changed, and serves frontend and backend on one port. The first build
takes a minute or two; later starts reuse it. Standard library only: the caller may not
have Reflex importable, and then `start` says so instead of failing halfway.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

STUDIO_DIR = Path(__file__).resolve().parent
DEFAULT_PORT = 8711


class StudioUnavailable(RuntimeError):
    """The studio cannot start here (Reflex or bun missing); the message says what to install."""


def check_prerequisites() -> None:
    if importlib.util.find_spec("reflex") is None:
        raise StudioUnavailable("Reflex is not installed: pip install -e '.[studio]' (or `make venv`)")
    if os.environ.get("REFLEX_USE_SYSTEM_BUN", "1") != "0" and not _which("bun"):
        raise StudioUnavailable("bun is not installed: npm install -g bun")


def _which(name: str) -> str | None:
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def studio_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://{shown}:{port}"


def start(
    runtime_url: str,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    log_path: Path | None = None,
    studio_dir: Path = STUDIO_DIR,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `reflex run --env prod --single-port` in `studio_dir`; returns the process at once."""
    check_prerequisites()
    environment = {**os.environ, **(env or {})}
    environment.setdefault("REFLEX_USE_SYSTEM_BUN", "1")
    environment["DIRIGENT_RUNTIME_URL"] = runtime_url
    environment.setdefault("PYTHONUNBUFFERED", "1")
    # The studio package (studio/studio) must win over anything else named `studio`.
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(studio_dir), environment.get("PYTHONPATH")])
    )
    command = [
        sys.executable,
        "-m",
        "reflex",
        "run",
        "--env",
        "prod",
        "--single-port",
        "--frontend-port",
        str(port),
        "--backend-host",
        host,
        "--loglevel",
        "info",
    ]
    output = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    try:
        # A session of its own: stopping the studio stops its bun/Vite children too.
        return subprocess.Popen(
            command,
            cwd=studio_dir,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        if log_path:
            output.close()  # type: ignore[union-attr]


def stop(process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    """SIGTERM to the studio's process group, SIGKILL after `timeout_s`."""
    import signal

    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout_s)
    except (ProcessLookupError, PermissionError):
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def wait_ready(url: str, timeout_s: float = 600.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Until the studio answers its ping (the build may take minutes the first time)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StudioUnavailable(f"the studio exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                if response.status == 200:
                    with urllib.request.urlopen(f"{url}/", timeout=5) as page:
                        if page.status == 200:
                            return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1.0)
    raise StudioUnavailable(f"the studio did not answer on {url} within {timeout_s:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runtime-url", default=os.environ.get("DIRIGENT_RUNTIME_URL", "http://127.0.0.1:8710")
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args()
    process = start(args.runtime_url, host=args.host, port=args.port)
    print(f"Dirigent studio on {studio_url(args.host, args.port)} (runtime {args.runtime_url})", flush=True)
    try:
        process.wait()
    except KeyboardInterrupt:
        stop(process)


if __name__ == "__main__":
    main()
