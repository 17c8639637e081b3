"""The editor's state: one flow's working copy, drawn and edited by concern.

`EditorState` only loads the page (`load`: node types, the working copy, what selects
offer); the rest is a chain of mixins, one concern per module, each on top of the one
before:

- `state.validation.Validation`: the document and the runtime's problems with it;
- `state.working_copy.WorkingCopy`: loading, autosave with ETags, conflicts, undo/redo,
  cutting versions;
- `state.test_panel.TestPanel`: the test panel (inputs, a test run streamed with SSE);
- `state.canvas.Canvas`: palette, canvas, the selected node's form and the canvas edits;
- `state.flow_form.FlowForm`: the flow and card tabs (name, inputs, outputs, card).

The test cases tab is the substate `state.testcases.CasesState`.
"""

from __future__ import annotations

import contextlib
from typing import Any

import reflex as rx

from studio import routes
from studio.api import ApiError, SignedOut
from studio.state.base import AppState
from studio.state.flow_form import FlowForm

# The tabs of the side panel (`pages/editor.py`); `?tab=<one>` opens it.
PANEL_TABS = ("node", "flow", "card", "test", "cases")


class EditorState(FlowForm, AppState):  # AppState named: a class with only mixin bases is a mixin
    # -- loading --------------------------------------------------------------------------------
    @rx.event
    async def load(self) -> Any:
        if not self.token:
            return
        flow_id = (
            self.router.url.path.rstrip("/").split("/")[2] if self.router.url.path.count("/") >= 2 else ""
        )
        if flow_id != self.flow_id:
            self.loaded = False
            self.selected_node = self.selected_edge = ""
            self._clear_run()
        self.load_error = ""
        api = self.api()
        try:
            if not self.node_types:
                self.node_types = {item["type"]: item for item in await api.node_types()}
            await self._load_working_copy(flow_id)
        except ApiError as exc:
            self.load_error = self.error_text(exc)
            self.loaded = True
            if isinstance(exc, SignedOut):  # otherwise the page itself says what went wrong
                yield self.on_error(exc)
            return
        self.test_inputs = {name: self.test_inputs.get(name, "") for name in (self.doc.get("inputs") or {})}
        # `?tab=cases` (the runs viewer links there after adding a case) opens that tab.
        if self.router.url.query_parameters.get("tab") in PANEL_TABS:
            self.panel_tab = str(self.router.url.query_parameters["tab"])
        self.loaded = True
        yield
        await self._load_choices()

    async def _load_choices(self) -> None:
        """What selects offer: model endpoints, the workspace's knowledge indexes and connections
        (best effort)."""
        api = self.api()
        offered: dict[str, list[str]] = {}
        try:
            endpoints = await api.model_endpoints()
            offered["model"] = [
                "default",
                *[item["name"] for item in endpoints if item.get("name") != "default"],
            ]
        except ApiError:
            offered["model"] = ["default"]
        with contextlib.suppress(ApiError, KeyError, TypeError):
            offered["index"] = [item["name"] for item in await api.knowledge_indexes(self.flow_workspace)]
        # An agent's connection tools choose from these (whoever may not list them types the name).
        with contextlib.suppress(ApiError, KeyError, TypeError):
            offered["tool_connection"] = [item["name"] for item in await api.connections(self.flow_workspace)]
        self.offered = offered

    @rx.event
    def set_panel_tab(self, tab: str) -> None:
        self.panel_tab = tab

    @rx.event
    def open_versions(self) -> Any:
        return rx.redirect(routes.versions(self.flow_id))
