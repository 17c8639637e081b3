"""The editor's test panel: inputs, a test run of a version streamed step by step.

A mixin of `EditorState` on top of the working copy: a changed working copy is cut as a
version first (runs are always of a version). Tokens streamed by LLM nodes are handed to
the browser a few times a second, not per token; `testrun` shapes the events.
"""

from __future__ import annotations

import time
from typing import Any

import reflex as rx

from studio import flowdoc, testrun
from studio.api import ApiError, RuntimeClient
from studio.i18n import describe_step_error
from studio.state.working_copy import WorkingCopy

STREAM_FLUSH_S = 0.15  # how often streamed LLM text is pushed to the browser


def _parse_input(kind: str, raw: str) -> Any:
    mapping = {
        "number": "number",
        "integer": "integer",
        "boolean": "boolean",
        "object": "json",
        "array": "json",
    }
    return flowdoc.parse_value(mapping.get(kind, "text"), raw)


class TestPanel(WorkingCopy, mixin=True):
    panel_tab: str = "node"  # the side panel's tab; a test run shows "test"
    test_inputs: dict[str, str] = {}
    # Test runs may read production data through connections without a test target.
    allow_live_reads: bool = False
    running: bool = False
    steps: dict[str, dict[str, Any]] = {}
    run_id: str = ""
    run_status: str = ""
    run_output: str = ""
    run_error: str = ""
    step_details: list[dict[str, str]] = []

    @rx.var
    def stream_text(self) -> str:
        """Text streamed by LLM nodes in the current test run."""
        return "\n\n".join(str(step.get("text")) for step in self.steps.values() if step.get("text"))

    # -- test panel ---------------------------------------------------------------------------
    def _clear_run(self) -> None:
        self.steps = {}
        self.run_id = self.run_status = self.run_output = self.run_error = ""
        self.step_details = []

    @rx.event
    def set_test_input(self, name: str, value: str) -> None:
        self.test_inputs = {**self.test_inputs, name: value}

    @rx.event
    def set_allow_live_reads(self, value: bool) -> None:
        self.allow_live_reads = value

    def _error_words(self, error: dict[str, Any]) -> str:
        """A step's error: a known code in the person's language, else the runtime's words."""
        return describe_step_error(error, self.lang)

    @rx.event
    def clear_run(self) -> None:
        self._clear_run()

    @rx.event(background=True)
    async def run_test(self) -> Any:
        async with self:
            if self.running or not self.flow_id:
                return
            if not self.read_only and (self.dirty or self.unsaved):
                answer = await self._cut_version()
                if self.dirty or self.unsaved:
                    yield answer
                    return
            try:
                inputs = {
                    name: _parse_input(str(spec.get("type", "string")), self.test_inputs.get(name, ""))
                    for name, spec in (self.doc.get("inputs") or {}).items()
                    if self.test_inputs.get(name, "") != "" or spec.get("required")
                }
            except ValueError as exc:
                yield rx.toast.error(str(exc))
                return
            self._clear_run()
            self.running = True
            self.run_status = "running"
            self.panel_tab = "test"
            client = RuntimeClient(self.token)
            flow_id, number = self.flow_id, self.saved_number
            live_reads = self.allow_live_reads
        pending: dict[str, str] = {}
        last_flush = time.monotonic()
        failure: list[Any] = []
        try:
            async for event in client.test_run(flow_id, number, inputs, live_reads):
                kind = event.get("type")
                if kind == "token":
                    node = str(event.get("node") or "")
                    pending[node] = pending.get(node, "") + str(event.get("text") or "")
                    if time.monotonic() - last_flush < STREAM_FLUSH_S:
                        continue
                async with self:
                    self._flush_tokens(pending)
                    self._apply_event(event)
                pending = {}
                last_flush = time.monotonic()
        except ApiError as exc:
            async with self:
                failure = self.on_error(exc)
                self.run_status = "failed"
        async with self:
            self._flush_tokens(pending)
            self.running = False
            run_id = self.run_id
        if failure:
            yield failure
            return
        if run_id:
            try:
                details = await client.run(run_id)
            except ApiError:
                return
            async with self:
                self._apply_details(details)

    def _flush_tokens(self, pending: dict[str, str]) -> None:
        if pending:
            self.steps = testrun.with_tokens(self.steps, pending)

    def _apply_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "started":
            self.run_id = str(event.get("run_id") or "")
        elif kind == "step":
            steps = testrun.with_step(self.steps, event)
            error = event.get("error") or {}
            if error and error.get("code"):
                node = str(event.get("node") or "")
                steps[node] = {**steps[node], "error": self._error_words(error)}
            self.steps = steps
        elif kind == "run":
            self.run_status = str(event.get("status") or "")
            self.run_output = testrun.outputs_text(event.get("outputs") or {})
            error = event.get("error") or {}
            if error:
                node = error.get("node")
                self.run_error = (
                    self.tr("step_failed_at", node=node, message=self._error_words(error))
                    if node
                    else self._error_words(error)
                )

    def _apply_details(self, run: dict[str, Any]) -> None:
        errors = {
            str(step.get("node_id") or ""): step["error"]
            for step in run.get("steps") or []
            if step.get("error")
        }
        self.step_details = [
            {**row, "error": self._error_words(errors[row["node"]])} if row.get("node") in errors else row
            for row in testrun.step_details(run)
        ]
        if run.get("status"):
            self.run_status = str(run["status"])
