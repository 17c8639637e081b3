"""The flows page's state: the flows of the current workspace, one row each."""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.api_types import FlowOut
from studio.state.base import AppState


class FlowsState(AppState):
    # Display rows: id, name, slug, latest_number, latest_state, live_number ("" when none).
    flows: list[dict[str, str]] = []
    loading: bool = False

    @rx.event
    async def load(self) -> Any:
        if not self.token:
            return
        self.loading = True
        yield
        async with self._runtime_call("loading") as call:
            self.flows = [_row(flow) for flow in await self.api().flows(self.workspace or None)]
        yield call.events


def _row(flow: FlowOut) -> dict[str, str]:
    latest = flow.get("latest_version") or {}
    live = flow.get("live_version") or {}
    return {
        "id": flow["id"],
        "name": flow["name"],
        "slug": flow["slug"],
        "latest_number": str(latest.get("number", "")),
        "latest_state": str(latest.get("state", "")),
        "live_number": str(live.get("number", "")),
    }
