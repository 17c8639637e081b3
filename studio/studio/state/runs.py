"""The runs viewer's state: an assistant's runs page by page, one run's trace, and the
dialog that turns a run (with the asker's correction) into a test case of the working copy.

The runtime decides what the person may see (`GET /api/flows/{id}/runs` filters by the
policy) and whether they may add a case (`can_make_test_case`); this state only asks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import reflex as rx

from studio import routes
from studio.runs_view import PAGE_SIZE, TraceView, list_filters, run_row, step_view, trace_view
from studio.state.base import AppState


def _flow_id(path: str) -> str:
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "flows" else ""


class RunsState(AppState):
    flow_id: str = ""
    flow_name: str = ""
    can_edit: bool = False
    load_error: str = ""
    # The list: the filter form's values, the cursor of each page shown ("" the newest).
    filters: dict[str, str] = {}
    pages: list[str] = [""]
    next_before: str = ""
    # What the runtime answered; `rows` and `trace` say it in the person's language.
    _runs: list[dict[str, Any]] = []
    _trace_raw: dict[str, Any] = {}
    _full_steps: dict[str, dict[str, Any]] = {}
    loading: bool = False
    # The trace of the selected run.
    selected: str = ""
    trace_loading: bool = False
    open_steps: list[str] = []
    full_loading: str = ""

    @rx.var
    def rows(self) -> list[dict[str, str]]:
        return [run_row(run, self.lang) for run in self._runs]

    @rx.var
    def trace(self) -> TraceView:
        if not self._trace_raw:
            return TraceView()
        shown = trace_view(self._trace_raw, self.lang)
        if not self._full_steps:
            return shown
        full = {node: step_view(step, self.lang) for node, step in self._full_steps.items()}
        return replace(
            shown,
            steps=[
                replace(
                    item,
                    inputs=full[item.node_id].inputs,
                    outputs=full[item.node_id].outputs,
                    truncated=False,
                )
                if item.node_id in full
                else item
                for item in shown.steps
            ],
        )

    @rx.var
    def page_number(self) -> int:
        return len(self.pages)

    # -- the list ----------------------------------------------------------------------------
    @rx.event
    async def load(self) -> Any:
        if not self.token:
            return
        flow_id = _flow_id(self.router.url.path)
        if flow_id != self.flow_id:
            self.flow_id, self.flow_name, self.filters = flow_id, "", {}
            self._close_trace()
        self.pages, self.load_error = [""], ""
        async with self._runtime_call(error_to="load_error") as call:
            flow = await self.api().flow(flow_id)
            self.flow_name = str(flow.get("name") or "")
            self.can_edit = "edit" in (flow.get("allowed_actions") or [])
        yield call.events or RunsState.fetch

    @rx.event
    async def fetch(self) -> Any:
        self.loading = True
        yield
        async with self._runtime_call("loading") as call:
            page = await self.api().flow_runs(
                self.flow_id, list_filters(self.filters), PAGE_SIZE, self.pages[-1]
            )
            self._runs = list(page.get("runs") or [])
            self.next_before = str(page.get("next_before") or "")
        yield call.events

    @rx.event
    def apply_filters(self, form: dict[str, Any]) -> Any:
        self.filters = {name: str(value) for name, value in form.items() if value not in (None, "")}
        self.pages = [""]
        return RunsState.fetch

    @rx.event
    def clear_filters(self) -> Any:
        self.filters, self.pages = {}, [""]
        return RunsState.fetch

    @rx.event
    def older(self) -> Any:
        if self.next_before:
            self.pages = [*self.pages, self.next_before]
            return RunsState.fetch
        return None

    @rx.event
    def newer(self) -> Any:
        if len(self.pages) > 1:
            self.pages = self.pages[:-1]
            return RunsState.fetch
        return None

    # -- one run's trace ---------------------------------------------------------------------
    def _close_trace(self) -> None:
        self.selected, self._trace_raw, self._full_steps, self.open_steps = "", {}, {}, []

    @rx.event
    def close_trace(self) -> None:
        self._close_trace()

    @rx.event
    async def open_run(self, run_id: str) -> Any:
        self.selected, self.trace_loading, self.open_steps = run_id, True, []
        yield
        async with self._runtime_call("trace_loading") as call:
            trace = await self.api().run_trace(run_id)
            if self.selected == run_id:  # another run may have been chosen meanwhile
                self._trace_raw, self._full_steps = trace, {}
        yield call.events

    @rx.event
    def toggle_step(self, node_id: str) -> None:
        opened = self.open_steps
        self.open_steps = [n for n in opened if n != node_id] if node_id in opened else [*opened, node_id]

    @rx.event
    async def load_full_step(self, node_id: str) -> Any:
        """The step's inputs and outputs as stored (the trace cut them)."""
        self.full_loading = node_id
        yield
        async with self._runtime_call("full_loading") as call:
            step = await self.api().run_step(self.selected, node_id)
            self._full_steps = {**self._full_steps, node_id: step}
        yield call.events

    # -- links -------------------------------------------------------------------------------
    @rx.event
    def open_editor_cases(self) -> Any:
        return rx.redirect(f"{routes.editor(self.flow_id)}?tab=cases")
