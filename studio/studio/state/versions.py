"""The versions page's state: a flow's versions with each one's test gate, the diff between
two of them (`state.version_diff.DiffViewer`, as the review shows it) and the lifecycle
(submit, publish, retire).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.state.base import AppState
from studio.state.version_diff import DiffViewer
from studio.testcases import gate_view

LIFECYCLE_MESSAGES = {"submit": "submitted_ok", "publish": "published_ok", "retire": "retired_ok"}


def _route_id(path: str) -> str:
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 1 else ""


def _gate(row: dict[str, Any], lang: str) -> dict[str, str]:
    """The version's tests gate (`passed`, `failed`, `missing`), when the runtime reports one."""
    if "tests" not in row:
        return {"gate": "", "gate_text": ""}
    gate, text = gate_view(row["tests"], lang)
    return {"gate": gate, "gate_text": text}


class VersionsState(DiffViewer, AppState):
    flow_id: str = ""
    flow_name: str = ""
    live_number: int = 0
    can_edit: bool = False
    # The runtime's versions; `versions` says their gates in the person's language.
    _rows: list[dict[str, Any]] = []
    diff_from: str = ""
    diff_to: str = ""
    busy: str = ""
    error: str = ""

    @rx.var
    def versions(self) -> list[dict[str, str]]:
        return [
            {
                "number": str(row["number"]),
                "state": str(row.get("state") or ""),
                "author": str(row.get("author") or ""),
                "submitted_by": str(row.get("submitted_by") or ""),
                "hash": str(row.get("content_hash") or "")[:12],
                "full_hash": str(row.get("content_hash") or ""),
                "created": str(row.get("created_at") or "")[:16].replace("T", " "),
                "live": "true" if int(row["number"]) == self.live_number else "",
                **_gate(row, self.lang),
            }
            for row in self._rows
        ]

    @rx.var
    def version_numbers(self) -> list[str]:
        return [row["number"] for row in self.versions]

    @rx.event
    async def load(self) -> Any:
        if not self.token:
            return
        self.flow_id = _route_id(self.router.url.path)
        self.error = ""
        api = self.api()
        async with self._runtime_call(error_to="error") as call:
            flow = await api.flow(self.flow_id)
            rows = await api.versions(self.flow_id)
        if call.failed:
            yield call.events
            return
        self.flow_name = flow.get("name", "")
        self.can_edit = "edit" in (flow.get("allowed_actions") or [])
        self.live_number = int((flow.get("live_version") or {}).get("number") or 0)
        self._rows = rows
        numbers = self.version_numbers
        if self.diff_to not in numbers:
            self.diff_to = numbers[0] if numbers else ""
            self.diff_from = numbers[1] if len(numbers) > 1 else ""
        yield
        await self._load_diff()

    async def _load_diff(self) -> None:
        if not self.diff_to:
            self.clear_diff()
            return
        await self.load_diff(self.flow_id, int(self.diff_to), self.diff_from or "live")

    @rx.event
    async def set_diff_from(self, value: str) -> None:
        self.diff_from = value
        await self._load_diff()

    @rx.event
    async def set_diff_to(self, value: str) -> None:
        self.diff_to = value
        await self._load_diff()

    @rx.event
    async def lifecycle(self, number: str, action: str) -> Any:
        self.busy = f"{action}:{number}"
        yield
        async with self._runtime_call("busy") as call:
            await self.api().lifecycle(self.flow_id, int(number), action)
        if call.failed:
            yield call.events
            return
        yield rx.toast.success(self.tr(LIFECYCLE_MESSAGES[action], n=number))
        yield VersionsState.load
