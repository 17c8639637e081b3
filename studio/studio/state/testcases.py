"""The editor's test cases: the list, the form for one case, running them, and submitting.

A substate of `EditorState`, so it edits the same document: a saved case is an edit like
any other of the working copy. Running the cases cuts a version from a changed working
copy first (reports belong to versions), then asks the runtime for a report
(`POST .../test`). Submitting is gated by the runtime: a version whose
latest fixed report did not pass is refused (409 `tests_not_passed`); the refusal is
shown in a dialog, with a reason field for admins, who may override.
"""

from __future__ import annotations

import contextlib
from typing import Any

import reflex as rx

from studio import testcases
from studio.api import ApiError
from studio.i18n import describe_problem, translate
from studio.state.editor import EditorState
from studio.testcases import CaseForm, CaseFormError, CaseView, ReportView


class CasesState(EditorState):
    # The runtime's latest report; `report` says it in the person's language.
    _report_raw: dict[str, Any] = {}

    @rx.var
    def report(self) -> ReportView:
        return testcases.report_view(self._report_raw or None, self.lang)

    running_cases: bool = False
    live: bool = False
    has_llm: bool = False
    # The gate of version `gate_number` as the runtime last reported it (`tests` of the version).
    gate_number: int = 0
    gate_tests: dict[str, Any] = {}

    # -- the form for one case (text inputs are uncontrolled and read on submit) --
    form_open: bool = False
    form_index: int = -1
    form_key: int = 0
    form_name: str = ""
    form_description: str = ""
    form_inputs: dict[str, str] = {}
    form_fixed: dict[str, str] = {}
    form_agents: dict[str, str] = {}
    form_decisions: dict[str, str] = {}
    form_comments: dict[str, str] = {}
    form_checks: list[dict[str, str]] = []
    form_error: str = ""
    next_check: int = 0

    # -- submitting --
    refusal_open: bool = False
    refusal_text: str = ""
    refusal_detail: str = ""
    override_reason: str = ""
    submitting: bool = False

    # -- derived ------------------------------------------------------------------------------
    @rx.var
    def cases(self) -> list[CaseView]:
        shown = self.report.version == self.saved_number and not self.dirty
        results = {case.name: "passed" if case.passed else "failed" for case in self.report.cases}
        return [
            testcases.case_view(
                case, index, self.lang, results.get(case.get("name", ""), "") if shown else ""
            )
            for index, case in enumerate(self.doc.get("tests") or [])
        ]

    @rx.var
    def gate(self) -> str:
        if self.dirty or self.gate_number != self.saved_number:
            return "missing"
        return testcases.gate_view(self.gate_tests, self.lang)[0]

    @rx.var
    def gate_text(self) -> str:
        tests = {} if self.dirty or self.gate_number != self.saved_number else self.gate_tests
        return testcases.gate_view(tests, self.lang)[1]

    @rx.var
    def form_fixable(self) -> list[dict[str, str]]:
        outputs = {name: list(spec.get("outputs") or []) for name, spec in self.node_types.items()}
        return testcases.fixable_nodes(self.doc, outputs)

    @rx.var
    def form_agent_nodes(self) -> list[str]:
        return testcases.agent_nodes(self.doc)

    @rx.var
    def form_approvals(self) -> list[str]:
        return testcases.approval_nodes(self.doc)

    @rx.var
    def form_targets(self) -> list[dict[str, str]]:
        return testcases.targets(self.doc, self.lang)

    @rx.var
    def check_options(self) -> list[dict[str, str]]:
        return [
            {"value": check, "label": translate(f"check_{check}", self.lang)}
            for check in testcases.rules().checks
        ]

    # -- loading --------------------------------------------------------------------------------
    @rx.event
    async def load_cases(self) -> None:
        """After `EditorState.load`: the version's gate and latest report, and whether live runs can."""
        self._report_raw = {}
        self.form_open = self.refusal_open = False
        if not self.token or not self.flow_id or not self.saved_number:
            return
        api = self.api()
        with contextlib.suppress(ApiError):
            self.has_llm = bool(await api.model_endpoints())
        await self._refresh_gate()
        with contextlib.suppress(ApiError, IndexError, KeyError):
            latest = (await api.test_reports(self.flow_id, self.saved_number))[0]
            if "cases" not in latest:
                latest = await api.test_report(str(latest["id"]))
            self._report_raw = latest or {}

    async def _refresh_gate(self) -> None:
        with contextlib.suppress(ApiError):
            version = await self.api().version(self.flow_id, self.saved_number)
            self.gate_tests = dict(version.get("tests") or {})
            self.gate_number = self.saved_number

    # -- the form ---------------------------------------------------------------------------------
    def _fill_form(self, form: CaseForm, index: int) -> None:
        self.form_index = index
        self.form_name, self.form_description = form.name, form.description
        self.form_inputs = {name: form.inputs.get(name, "") for name in self.doc.get("inputs") or {}}
        self.form_fixed = form.fixed
        self.form_agents = {node: form.agents.get(node, "") for node in testcases.agent_nodes(self.doc)}
        self.form_decisions, self.form_comments = form.decisions, form.comments
        self.form_checks = form.checks
        self.next_check = len(form.checks)
        self.form_error = ""
        self.form_key += 1
        self.form_open = True

    @rx.event
    def new_case(self) -> None:
        form = testcases.form_from_case(None)
        first = self.form_targets[0]["value"] if self.form_targets else ""
        form.checks = [testcases.new_check_row("c0", first)]
        self._fill_form(form, -1)

    @rx.event
    def edit_case(self, index: int) -> None:
        cases = self.doc.get("tests") or []
        if 0 <= index < len(cases):
            self._fill_form(testcases.form_from_case(cases[index]), index)

    @rx.event
    def set_form_open(self, value: bool) -> None:
        self.form_open = value

    @rx.event
    def add_check(self) -> None:
        self.next_check += 1
        self.form_checks = [*self.form_checks, testcases.new_check_row(f"c{self.next_check}")]

    @rx.event
    def remove_check(self, key: str) -> None:
        self.form_checks = [row for row in self.form_checks if row["key"] != key]

    @rx.event
    def set_check(self, key: str, name: str, value: str) -> None:
        """The controlled parts of a check row: which check, and on what."""
        self.form_checks = [
            testcases.shaped({**row, name: value}) if row["key"] == key else row for row in self.form_checks
        ]

    @rx.event
    def set_decision(self, node: str, value: str) -> None:
        self.form_decisions = {**self.form_decisions, node: "" if value == "-" else value}

    @rx.event
    async def save_case(self, data: dict[str, Any]) -> Any:
        """The form was submitted: the case into the document, then a new version."""
        if self.read_only:
            return
        form = CaseForm(
            name=str(data.get("name") or ""),
            description=str(data.get("description") or ""),
            inputs={name: str(data.get(f"input__{name}") or "") for name in self.doc.get("inputs") or {}},
            fixed={item["id"]: str(data.get(f"fixed__{item['id']}") or "") for item in self.form_fixable},
            agents={node: str(data.get(f"agent__{node}") or "") for node in self.form_agent_nodes},
            decisions=dict(self.form_decisions),
            comments={node: str(data.get(f"comment__{node}") or "") for node in self.form_approvals},
            checks=[
                {
                    **row,
                    "field": str(data.get(f"field__{row['key']}", row["field"])),
                    "value": str(data.get(f"value__{row['key']}", row["value"])),
                    "arguments": str(data.get(f"arguments__{row['key']}", row.get("arguments") or "")),
                }
                for row in self.form_checks
            ],
        )
        try:
            case = testcases.case_from_form(form, self.doc, self.form_index)
        except CaseFormError as refused:
            self.form_error = self.tr(refused.key, **refused.values)
            return
        document = testcases.put_case(self.doc, self.form_index, case)
        # What only the flow can tell (unknown nodes, undeclared outputs) stays in the form.
        path = f"tests[{self.form_index if self.form_index >= 0 else len(document['tests']) - 1}]"
        try:
            report = await self.api().validate(document)
        except ApiError as exc:
            yield self.on_error(exc)
            return
        problems = [
            f"{str(error.get('field') or '').removeprefix(path + '.')}: {describe_problem(error, self.lang)}"
            for error in report.get("errors") or []
            if str(error.get("field") or "").startswith(path)
        ]
        if problems:
            self.form_error = "; ".join(problems[:3])
            return
        self.form_open = False
        await self._changed(document)
        yield rx.toast.success(self.tr("case_saved_draft", name=case["name"]))

    @rx.event
    async def delete_case(self, index: int) -> Any:
        cases = self.doc.get("tests") or []
        if self.read_only or not 0 <= index < len(cases):
            return None
        name = str(cases[index].get("name") or "")
        await self._changed(testcases.drop_case(self.doc, index))
        return rx.toast.success(self.tr("case_deleted_draft", name=name))

    async def _version_first(self) -> tuple[bool, list[Any]]:
        """Cut a version from a changed working copy: whether there is one now to go on
        with, and the events that say what happened."""
        if self.read_only or not (self.dirty or self.unsaved):
            return True, []
        answer = await self._cut_version()
        return not (self.dirty or self.unsaved), answer

    # -- running --------------------------------------------------------------------------------
    @rx.event
    def set_live(self, value: bool) -> None:
        self.live = bool(value)

    @rx.event
    async def run_cases(self) -> Any:
        if self.running_cases or not self.flow_id:
            return
        ready, said = await self._version_first()
        if said:
            yield said
        if not ready:
            return
        self.running_cases = True
        self.panel_tab = "cases"
        yield
        try:
            report = await self.api().run_tests(
                self.flow_id, self.saved_number, live=self.live and self.has_llm
            )
        except ApiError as exc:
            self.running_cases = False
            yield self.on_error(exc)
            return
        self._report_raw = report
        await self._refresh_gate()
        self.running_cases = False
        total, failed = int(report.get("total") or 0), int(report.get("failed") or 0)
        if report.get("passed"):
            yield rx.toast.success(self.tr("tests_ran_ok", total=total))
        else:
            yield rx.toast.error(self.tr("tests_ran_failed", failed=failed, total=total))

    # -- submitting -----------------------------------------------------------------------------
    @rx.event
    def set_refusal_open(self, value: bool) -> None:
        self.refusal_open = value

    @rx.event
    def set_override_reason(self, value: str) -> None:
        self.override_reason = value

    @rx.event
    def show_cases(self) -> None:
        self.refusal_open = False
        self.panel_tab = "cases"

    @rx.event
    async def submit(self, override: bool = False) -> Any:
        if self.read_only or self.submitting:
            return
        reason = self.override_reason.strip() if override else ""
        if override and not reason:
            yield rx.toast.warning(self.tr("override_reason_required"))
            return
        ready, said = await self._version_first()
        if said:
            yield said
        if not ready:
            return
        self.submitting = True
        yield
        try:
            version = await self.api().lifecycle(
                self.flow_id, self.saved_number, "submit", override_reason=reason or None
            )
        except ApiError as exc:
            self.submitting = False
            if exc.code != "tests_not_passed":
                yield self.on_error(exc)
                return
            await self._refresh_gate()
            key, values = testcases.refusal_key(self.gate_tests)
            self.refusal_text = (
                self.tr(key, **values) if self.gate_number == self.saved_number else self.error_text(exc)
            )
            self.refusal_detail = exc.message
            self.refusal_open = True
            return
        self.submitting = False
        self.refusal_open = False
        self.override_reason = ""
        self.saved_state = str(version.get("state") or "")
        yield rx.toast.success(self.tr("submitted_ok", n=self.saved_number))
