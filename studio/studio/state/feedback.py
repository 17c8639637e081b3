"""Feedback under an answer: thumbs up, or thumbs down with a correction (what the answer
should have said). Posting again replaces the earlier one.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.state.base import AppState


class FeedbackState(AppState):
    # run id -> "up" | "down", for the answers rated in this session.
    given: dict[str, str] = {}
    correcting: str = ""  # the run whose correction box is open
    sending: str = ""

    @rx.event
    async def thumbs_up(self, run_id: str) -> Any:
        async for event in self._send(run_id, "up", ""):
            yield event

    @rx.event
    def open_correction(self, run_id: str) -> None:
        self.correcting = "" if self.correcting == run_id else run_id

    @rx.event
    async def thumbs_down(self, form: dict[str, Any]) -> Any:
        async for event in self._send(self.correcting, "down", str(form.get("correction") or "")):
            yield event

    async def _send(self, run_id: str, rating: str, correction: str) -> Any:
        if not run_id:
            return
        self.sending = run_id
        yield
        async with self._runtime_call("sending") as call:
            await self.api().give_feedback(run_id, rating, correction)
        if call.failed:
            yield call.events
            return
        self.sending, self.correcting = "", ""
        self.given = {**self.given, run_id: rating}
        yield rx.toast.success(self.tr("thanks_feedback"))
