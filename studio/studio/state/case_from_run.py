"""The dialog "Als Testfall übernehmen": the runtime proposes the case (`GET .../test-case`:
inputs from the run, the correction as the expected text, the working copy's ETag), the
person chooses the check and edits the text, and `POST .../test-case` adds it to the
working copy with that ETag. When the working copy changed meanwhile (412), the dialog
takes the new ETag, keeps what the person typed, and asks to confirm once more.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.api import ApiError
from studio.chat_view import value_markdown
from studio.state.runs import RunsState
from studio.testcases import rules


class CaseFromRunState(RunsState):
    case_open: bool = False
    case_loading: bool = False
    case_busy: bool = False
    # Bumped when the dialog is filled anew: its uncontrolled fields take the new defaults.
    case_key: int = 0
    case_name: str = ""
    case_outputs: list[str] = []
    case_output: str = ""
    case_check: str = "equals"
    case_expected: str = ""
    case_from_correction: bool = False
    case_inputs: str = ""  # the run's inputs, Markdown by type
    # What the case takes from the run, and the warning about nodes that ask the LLM (each a
    # sentence in the person's language, "" when there is nothing to say).
    case_fixed: str = ""
    case_decisions: str = ""
    case_llm: str = ""
    case_etag: str = ""
    case_error: str = ""
    case_created: str = ""  # the name of the case once it is in the working copy
    case_created_text: str = ""

    @rx.event
    async def open_case_dialog(self) -> Any:
        self.case_open, self.case_loading, self.case_error, self.case_created = True, True, "", ""
        yield
        try:
            proposal = await self.api().test_case_proposal(self.selected)
        except ApiError as exc:
            self.case_open = self.case_loading = False
            yield self.on_error(exc)
            return
        self.case_name = str(proposal.get("name") or "")
        self.case_outputs = [str(name) for name in proposal.get("outputs") or []]
        self.case_output = str(proposal.get("output") or "")
        self.case_check = str(proposal.get("check") or "equals")
        self.case_expected = str(proposal.get("expected") or "")
        self.case_from_correction = bool(proposal.get("from_correction"))
        self.case_inputs = value_markdown(proposal.get("inputs") or {})
        self.case_fixed = self._sentence("case_fixed_from_run", proposal.get("fixed"))
        self.case_decisions = self._sentence("case_decisions_from_run", proposal.get("decisions"))
        self.case_llm = self._sentence("case_llm_warning", proposal.get("llm_nodes"), quoted=True)
        self.case_etag = str(proposal.get("etag") or "")
        self.case_key += 1
        self.case_loading = False

    @rx.event
    def set_case_open(self, is_open: bool) -> None:
        self.case_open = is_open

    @rx.event
    def set_case_check(self, check: str) -> None:
        if check in rules().from_run_checks:
            self.case_check = check

    @rx.event
    async def create_case(self, form: dict[str, Any]) -> Any:
        # Kept in the state, so that a second attempt after a conflict shows what was typed.
        self.case_name = str(form.get("name") or "").strip() or self.case_name
        self.case_expected = str(form.get("expected") or "")
        self.case_output = str(form.get("output") or self.case_output)
        body = {
            "name": self.case_name,
            "check": self.case_check,
            "expected": self.case_expected,
            "output": self.case_output or None,
        }
        self.case_busy, self.case_error = True, ""
        yield
        try:
            created = await self.api().add_test_case(self.selected, body, self.case_etag)
        except ApiError as exc:
            self.case_busy = False
            if exc.code == "draft_changed":
                async for event in self._take_new_etag():
                    yield event
                return
            self.case_error = self.error_text(exc)
            return
        self.case_busy = False
        self.case_created = str(created.get("name") or self.case_name)
        self.case_created_text = self.tr("case_created", name=self.case_created)
        self.case_etag = str(created.get("etag") or "")
        yield rx.toast.success(self.case_created_text)

    def _sentence(self, key: str, nodes: Any, *, quoted: bool = False) -> str:
        names = [str(node) for node in nodes or []]
        if not names:
            return ""
        shown = ", ".join(
            (f"„{name}“" if self.lang != "en" else f"“{name}”") if quoted else name for name in names
        )
        return self.tr(key, nodes=shown)

    async def _take_new_etag(self) -> Any:
        try:
            proposal = await self.api().test_case_proposal(self.selected)
        except ApiError as exc:
            yield self.on_error(exc)
            return
        self.case_etag = str(proposal.get("etag") or "")
        self.case_outputs = [str(name) for name in proposal.get("outputs") or []]
        self.case_error = self.tr("case_conflict")
