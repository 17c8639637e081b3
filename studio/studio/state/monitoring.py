"""The monitoring page's state: one report per workspace and date range, shown per scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import reflex as rx

from studio.monitoring_view import (
    assistant_rows,
    chart_points,
    default_range,
    role_rows,
    scope_options,
    scope_part,
    tiles,
)
from studio.state.base import AppState


class MonitoringState(AppState):
    since: str = ""
    until: str = ""
    scope: str = "all"
    loading: bool = False
    loaded: bool = False
    total_runs: int = 0
    points: list[dict[str, Any]] = []
    # The runtime's answer, kept on the server: switching the scope needs no new request;
    # what the page says is computed from it in the person's language.
    _report: dict[str, Any] = {}

    @rx.var
    def tile_rows(self) -> list[dict[str, str]]:
        if not self._report:
            return []
        return tiles(scope_part(self._report, self.scope).get("summary") or {}, self.lang)

    @rx.var
    def assistants(self) -> list[dict[str, str]]:
        return assistant_rows(self._report, self.lang) if self._report else []

    @rx.var
    def roles(self) -> list[dict[str, str]]:
        return role_rows(self._report, self.lang) if self._report else []

    @rx.var
    def scopes(self) -> list[dict[str, str]]:
        return scope_options(self._report, self.lang) if self._report else []

    @rx.var
    def scope_label(self) -> str:
        return next((item["label"] for item in self.scopes if item["value"] == self.scope), "")

    @rx.event
    async def load(self) -> Any:
        if not self.token or not self.workspace:
            return
        if not self.since or not self.until:
            self.since, self.until = default_range(datetime.now(UTC).date())
        self.loading = True
        yield
        async with self._runtime_call("loading") as call:
            report = await self.api().monitoring(self.workspace, self.since, self.until)
            self._report = report
            if self.scope not in {item["value"] for item in scope_options(report, self.lang)}:
                self.scope = "all"
            self._show_scope()
            self.total_runs = int(((report.get("summary") or {}).get("runs") or {}).get("total") or 0)
            self.loaded = True
        yield call.events

    def _show_scope(self) -> None:
        part = scope_part(self._report, self.scope)
        self.points = chart_points(part.get("daily") or [])

    @rx.event
    def choose_scope(self, scope: str) -> None:
        self.scope = scope
        self._show_scope()

    @rx.event
    def apply_range(self, form: dict[str, Any]) -> Any:
        since, until = str(form.get("since") or ""), str(form.get("until") or "")
        if since and until and since > until:
            return rx.toast.warning(self.tr("range_backwards"))
        self.since, self.until = since or self.since, until or self.until
        return MonitoringState.load

    @rx.event
    def last_days(self, days: int) -> Any:
        today = datetime.now(UTC).date()
        self.since, self.until = (today - timedelta(days=days - 1)).isoformat(), today.isoformat()
        return MonitoringState.load
