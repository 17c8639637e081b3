"""Test cases of a flow document and test reports, shaped for people (no Reflex).

A case (`document["tests"][i]`) is `{name, description, inputs, fixed, decisions, expect}`;
`fixed` pins what a node returns (`{node_id: {field: value}}`), `decisions` decides an
approval node (`{node_id: {decision: approve | reject, comment}}`), `expect` lists checks
(`{"check", "output" | "node" + "field", "value"}`; the runtime's model is
`runtime.engine.cases`). Which checks exist, what each names and which node types a case
cannot fix are the runtime's rules (`GET /api/test-cases/rules`), asked once per process
(`rules()`), never copied here.

    describe_check / case_view      a case and its checks in words
    report_view / gate_view         a runtime test report and a version's gate, to display
    CaseForm / form_from_case /     the editor's form for one case, and back; mistakes raise
    case_from_form                  `CaseFormError` with a key of the catalogs
    CaseRules / rules / use_rules   the runtime's rules of test cases
    put_case / drop_case            edits of the document's list of cases
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.api import ApiError, fetch_case_rules
from studio.i18n import RUN_STATUSES, describe_problem, describe_step_error, has_text, translate

SHORT = 80


@dataclass(frozen=True)
class CaseRules:
    """The runtime's rules of test cases, in the sets the form and the sentences use."""

    checks: tuple[str, ...] = ()
    # On an output or a node's field: a value to compare with.
    on_value: frozenset[str] = frozenset()
    # On a node: the branch it took, whether it raised an approval, whether it called out.
    on_node: frozenset[str] = frozenset()
    # Without a value (the check is the statement itself).
    no_value: frozenset[str] = frozenset()
    # May leave out the node: then it is about the whole run.
    node_optional: frozenset[str] = frozenset()
    decisions: tuple[str, ...] = ()
    # Node types a case may not pin: they are the flow's edges, or decided by `decisions`.
    not_fixable: frozenset[str] = frozenset()
    # The checks of a case taken from a run ("Als Testfall übernehmen").
    from_run_checks: tuple[str, ...] = ()
    # Checks that take `arguments` (tool_called: a subset of a tool call's arguments).
    with_arguments: frozenset[str] = frozenset()

    @classmethod
    def of(cls, served: Mapping[str, Any]) -> CaseRules:
        """From the answer of `GET /api/test-cases/rules`."""
        checks = [rule for rule in served.get("checks") or [] if isinstance(rule, Mapping)]

        def named(keep: Any) -> frozenset[str]:
            return frozenset(str(rule["check"]) for rule in checks if keep(rule))

        return cls(
            checks=tuple(str(rule["check"]) for rule in checks),
            on_value=named(lambda rule: rule.get("on") == "value"),
            on_node=named(lambda rule: rule.get("on") == "node"),
            no_value=named(lambda rule: not rule.get("needs_value")),
            node_optional=named(lambda rule: rule.get("on") == "node" and rule.get("node") == "optional"),
            decisions=tuple(str(decision) for decision in served.get("decisions") or []),
            not_fixable=frozenset(str(item.get("type")) for item in served.get("not_fixable") or []),
            from_run_checks=tuple(str(check) for check in served.get("from_run_checks") or []),
            with_arguments=named(lambda rule: bool(rule.get("arguments"))),
        )


_rules: CaseRules | None = None


def use_rules(served: Mapping[str, Any]) -> CaseRules:
    """Keep `served` (an answer of `GET /api/test-cases/rules`) as the rules of this process."""
    global _rules
    _rules = CaseRules.of(served)
    return _rules


def rules() -> CaseRules:
    """The runtime's rules of test cases, asked on first use and kept: they are constants of
    the runtime's code, the same for every person. Without an answer nothing is kept (the
    next call asks again) and no check is known meanwhile."""
    if _rules is not None:
        return _rules
    try:
        return use_rules(fetch_case_rules())
    except ApiError:
        return CaseRules()


def plain(value: Any) -> Any:
    """Plain dicts and lists: state vars hand out proxies, which `json.dumps` cannot encode."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


def _quoted(value: Any, lang: str) -> str:
    text = _short(value)
    return f"„{text}“" if lang != "en" else f"“{text}”"


# -- a case in words ------------------------------------------------------------------------------
def describe_target(expect: dict[str, Any], lang: str) -> str:
    if expect.get("output"):
        return translate("target_output", lang, name=expect["output"])
    if expect.get("node") and expect.get("field"):
        return translate("target_node_field", lang, node=expect["node"], field=expect["field"])
    if expect.get("node"):
        return translate("target_node", lang, node=expect["node"])
    return ""


def describe_check(expect: dict[str, Any], lang: str) -> str:
    """One expectation as a sentence: `Ergebnis „answer“ enthält „Rechnung“`."""
    check = str(expect.get("check") or "")
    target = describe_target(expect, lang)
    value = expect.get("value")
    if check not in rules().checks:
        return translate("says_unknown", lang, check=check)
    if check in rules().no_value and not target:
        return translate(f"says_{check}_any", lang)
    if check == "max_duration_ms":
        try:
            shown = f"{float(value):g}"
        except (TypeError, ValueError):
            shown = _short(value)
        return translate("says_max_duration_ms", lang, value=shown)
    if check == "status":
        status = translate(f"run_status_{value}", lang) if isinstance(value, str) else _short(value)
        return translate("says_status", lang, value=_quoted(status, lang))
    if check in rules().with_arguments and expect.get("arguments"):
        return translate(
            f"says_{check}_with", lang, target=target, value=_quoted(value, lang),
            arguments=_short(expect["arguments"]),
        )  # fmt: skip
    return translate(f"says_{check}", lang, target=target, value=_quoted(value, lang))


@dataclass
class CaseView:
    """One case as the editor lists it; `result` is passed/failed in the shown report, or ""."""

    index: int = 0
    name: str = ""
    description: str = ""
    inputs: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    result: str = ""


def case_view(case: dict[str, Any], index: int, lang: str, result: str = "") -> CaseView:
    case = plain(case)
    decisions = []
    for node, decided in (case.get("decisions") or {}).items():
        decision = str((decided or {}).get("decision") or "")
        label = translate(f"decision_{decision}", lang) if decision in rules().decisions else decision
        decisions.append(f"{node}: {label}")
    return CaseView(
        index=index,
        name=str(case.get("name") or ""),
        description=str(case.get("description") or ""),
        inputs=[f"{name} = {_short(value)}" for name, value in (case.get("inputs") or {}).items()],
        fixed=[
            f"{node}.{name} = {_short(value)}"
            for node, outputs in (case.get("fixed") or {}).items()
            for name, value in (outputs or {}).items()
        ],
        decisions=decisions,
        checks=[describe_check(expect, lang) for expect in case.get("expect") or []],
        result=result,
    )


# -- reports and the gate -------------------------------------------------------------------------
@dataclass
class StepView:
    node: str = ""
    type: str = ""
    status: str = ""
    status_label: str = ""
    fixed: bool = False
    duration: str = ""
    outputs: str = ""


@dataclass
class CaseResult:
    name: str = ""
    passed: bool = False
    status: str = ""
    duration: str = ""
    failures: list[str] = field(default_factory=list)
    steps: list[StepView] = field(default_factory=list)


@dataclass
class ReportView:
    """A runtime test report; `id == ""` means there is none."""

    id: str = ""
    version: int = 0
    mode: str = ""
    passed: bool = False
    summary: str = ""
    meta: str = ""
    cases: list[CaseResult] = field(default_factory=list)


def _ms(value: Any) -> str:
    try:
        return f"{float(value):.0f} ms"
    except (TypeError, ValueError):
        return ""


def _failure(failure: dict[str, Any], lang: str) -> str:
    check = str(failure.get("check") or "")
    message = describe_problem(failure, lang)  # by its code, with its parameters
    label = translate(f"check_{check}", lang) if has_text(f"check_{check}") else check
    return f"{label}: {message}" if label else message


def _status(status: str, lang: str) -> str:
    return translate(f"run_status_{status}", lang) if status in RUN_STATUSES else status


def report_view(report: dict[str, Any] | None, lang: str) -> ReportView:
    if not report or not report.get("id"):
        return ReportView()
    report = plain(report)
    total = int(report.get("total") or 0)
    failed = int(report.get("failed") or 0)
    cases = []
    for case in report.get("cases") or []:
        failures = [_failure(item, lang) for item in case.get("failures") or []]
        error = case.get("error") or {}
        if error:
            failures.append(describe_step_error(error, lang))
        cases.append(
            CaseResult(
                name=str(case.get("name") or ""),
                passed=bool(case.get("passed")),
                status=str(case.get("status") or ""),
                duration=_ms(case.get("duration_ms")),
                failures=failures,
                steps=[
                    StepView(
                        node=str(step.get("node") or ""),
                        type=str(step.get("type") or ""),
                        status=str(step.get("status") or ""),
                        status_label=_status(str(step.get("status") or ""), lang),
                        fixed=bool(step.get("fixed")),
                        duration=_ms(step.get("duration_ms")),
                        outputs=_short(step.get("outputs")) if step.get("outputs") else "",
                    )
                    for step in case.get("steps") or []
                ],
            )
        )
    when = str(report.get("created_at") or "")[:16].replace("T", " ")
    meta = [
        translate("version_n", lang, n=report.get("version", "?")),
        translate(f"mode_{report.get('mode', 'fixed')}", lang),
        when,
        str(report.get("created_by") or ""),
    ]
    return ReportView(
        id=str(report["id"]),
        version=int(report.get("version") or 0),
        mode=str(report.get("mode") or "fixed"),
        passed=bool(report.get("passed")),
        summary=translate("report_summary", lang, passed=total - failed, total=total),
        meta=" · ".join(part for part in [*meta, _ms(report.get("duration_ms"))] if part),
        cases=cases,
    )


def gate_view(tests: dict[str, Any] | None, lang: str) -> tuple[str, str]:
    """A version's `tests` summary as (`passed` | `failed` | `missing`, words for the submit button)."""
    tests = tests or {}
    gate = str(tests.get("gate") or "missing")
    if gate == "failed":
        latest = tests.get("latest_fixed") or {}
        return gate, translate(
            "gate_failed", lang, failed=int(latest.get("failed") or 0), total=int(latest.get("total") or 0)
        )
    if gate == "passed":
        return gate, translate("gate_passed", lang)
    return "missing", translate("gate_missing", lang)


def refusal_key(tests: dict[str, Any] | None) -> tuple[str, dict[str, int]]:
    """Why the runtime refused a submission, from the version's `tests`: a key of the catalogs."""
    tests = tests or {}
    latest = tests.get("latest_fixed") or {}
    if not tests.get("cases"):
        return "refused_no_cases", {}
    if not latest:
        return "refused_not_run", {}
    return "refused_failed", {
        "failed": int(latest.get("failed") or 0),
        "total": int(latest.get("total") or 0),
    }


# -- the form for one case ------------------------------------------------------------------------
class CaseFormError(ValueError):
    """A form that does not make a case; `key` and `values` name the message in the catalogs."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass
class CaseForm:
    """The form's content, all text: what a person typed, before it is parsed."""

    name: str = ""
    description: str = ""
    inputs: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, str] = field(default_factory=dict)  # node -> JSON object text
    decisions: dict[str, str] = field(default_factory=dict)  # node -> approve | reject | ""
    comments: dict[str, str] = field(default_factory=dict)
    checks: list[dict[str, str]] = field(default_factory=list)  # check, target, field, value, json
    # agent node -> its script as JSON text: {"turns": [...], "tools": {...}} ("": not scripted)
    agents: dict[str, str] = field(default_factory=dict)


def _text(value: Any) -> tuple[str, str]:
    """A value as form text, and "json" when it must be read back as JSON."""
    if isinstance(value, str):
        return value, ""
    if value is None:
        return "", ""
    return json.dumps(value, ensure_ascii=False), "json"


def shaped(row: dict[str, str]) -> dict[str, str]:
    """A check row with what its form shows: `on` (value | node | run), `needs_field`,
    `needs_value`, `takes_arguments` (tool_called: a JSON subset of a call's arguments)."""
    check, known = row.get("check") or "", rules()
    on = "value" if check in known.on_value else "node" if check in known.on_node else "run"
    by_node = (row.get("target") or "").startswith("node:")
    return {
        **row,
        "on": on,
        "needs_field": "true" if on == "value" and by_node else "",
        "needs_value": "" if check in known.no_value else "true",
        "takes_arguments": "true" if check in known.with_arguments else "",
        "arguments": row.get("arguments") or "",
    }


def new_check_row(key: str, target: str = "") -> dict[str, str]:
    return shaped({"key": key, "check": "contains", "target": target, "field": "", "value": "", "json": ""})


def check_row(expect: dict[str, Any], key: str) -> dict[str, str]:
    if expect.get("output"):
        target = f"output:{expect['output']}"
    elif expect.get("node"):
        target = f"node:{expect['node']}"
    else:
        target = ""
    value, is_json = _text(expect.get("value"))
    arguments = expect.get("arguments")
    return shaped(
        {
            "key": key,
            "check": str(expect.get("check") or "contains"),
            "target": target,
            "field": str(expect.get("field") or ""),
            "value": value,
            "json": is_json,
            # tool_called's subset of a call's arguments, as JSON ("": any call)
            "arguments": "" if arguments is None else json.dumps(arguments, ensure_ascii=False),
        }
    )


def form_from_case(case: dict[str, Any] | None) -> CaseForm:
    case = plain(case or {})
    decided = {node: item or {} for node, item in (case.get("decisions") or {}).items()}
    return CaseForm(
        name=str(case.get("name") or ""),
        description=str(case.get("description") or ""),
        inputs={name: _text(value)[0] for name, value in (case.get("inputs") or {}).items()},
        fixed={
            node: json.dumps(outputs, ensure_ascii=False, indent=1)
            for node, outputs in (case.get("fixed") or {}).items()
        },
        decisions={node: str(item.get("decision") or "") for node, item in decided.items()},
        comments={node: str(item.get("comment") or "") for node, item in decided.items()},
        checks=[check_row(expect, f"c{number}") for number, expect in enumerate(case.get("expect") or [])],
        agents={
            node: json.dumps(script, ensure_ascii=False, indent=1)
            for node, script in (case.get("agents") or {}).items()
        },
    )


def _input_value(kind: str, raw: str) -> Any:
    if kind == "string":
        return raw
    if kind in ("number", "integer"):
        number = float(raw.replace(",", "."))
        return int(number) if kind == "integer" else number
    if kind == "boolean":
        return raw.strip().lower() in ("true", "ja", "yes", "1")
    return json.loads(raw)


def _expect(row: dict[str, str]) -> dict[str, Any]:
    check, known = row.get("check") or "", rules()
    kind, _, name = (row.get("target") or "").partition(":")
    expect: dict[str, Any] = {"check": check}
    if check in known.on_value:
        if not name:
            raise CaseFormError("case_needs_target")
        if kind == "output":
            expect["output"] = name
        elif not (row.get("field") or "").strip():
            raise CaseFormError("case_needs_field", node=name)
        else:
            expect.update(node=name, field=(row.get("field") or "").strip())
    elif check in known.on_node and name and kind == "node":
        expect["node"] = name
    elif check in known.on_node and check not in known.node_optional:
        raise CaseFormError("case_needs_node")
    if check in known.no_value:
        return expect
    raw = row.get("value") or ""
    try:
        if (row.get("arguments") or "").strip() and check in known.with_arguments:
            expect["arguments"] = json.loads(row["arguments"])
        if check == "max_duration_ms":
            expect["value"] = float(raw.replace(",", "."))
        elif check == "steps_at_most":
            expect["value"] = int(raw.strip())
        elif check == "json_schema" or row.get("json") or raw.lstrip()[:1] in ("{", "["):
            expect["value"] = json.loads(raw)
        else:
            expect["value"] = raw
    except ValueError as exc:
        raise CaseFormError("case_bad_value", check=check, detail=str(exc)) from exc
    return expect


def case_from_form(form: CaseForm, document: dict[str, Any], index: int) -> dict[str, Any]:
    """The case the form describes, for position `index` (-1: a new one); raises `CaseFormError`."""
    document = plain(document)
    name = form.name.strip()
    if not name:
        raise CaseFormError("case_name_required")
    others = [case.get("name") for number, case in enumerate(document.get("tests") or []) if number != index]
    if name in others:
        raise CaseFormError("case_name_taken")
    specs = document.get("inputs") or {}
    inputs: dict[str, Any] = {}
    for input_name, raw in form.inputs.items():
        if raw == "" or input_name not in specs:
            continue
        try:
            inputs[input_name] = _input_value(str(specs[input_name].get("type") or "string"), raw)
        except ValueError as exc:
            raise CaseFormError("case_bad_value", check=input_name, detail=str(exc)) from exc
    fixed: dict[str, Any] = {}
    for node, raw in form.fixed.items():
        if not raw.strip():
            continue
        try:
            outputs = json.loads(raw)
        except ValueError as exc:
            raise CaseFormError("case_bad_json", node=node, detail=str(exc)) from exc
        if not isinstance(outputs, dict):
            raise CaseFormError("case_bad_json", node=node, detail=type(outputs).__name__)
        fixed[node] = outputs
    # The form does not show an edited payload of a decision; an edited case keeps it.
    cases = document.get("tests") or []
    before = (cases[index].get("decisions") or {}) if 0 <= index < len(cases) else {}
    decisions = {
        node: {
            "decision": decision,
            "comment": form.comments.get(node, ""),
            **(
                {"payload": before[node]["payload"]}
                if (before.get(node) or {}).get("payload") is not None
                else {}
            ),
        }
        for node, decision in form.decisions.items()
        if decision in rules().decisions
    }
    expect = [_expect(row) for row in form.checks]
    if not expect:
        raise CaseFormError("case_needs_check")
    case: dict[str, Any] = {"name": name, "description": form.description.strip(), "inputs": inputs}
    case.update({"fixed": fixed, "decisions": decisions, "expect": expect})
    scripts: dict[str, Any] = {}
    for node, raw in form.agents.items():
        if not raw.strip():
            continue
        try:
            script = json.loads(raw)
        except ValueError as exc:
            raise CaseFormError("case_bad_json", node=node, detail=str(exc)) from exc
        if not isinstance(script, dict):
            raise CaseFormError("case_bad_json", node=node, detail=type(script).__name__)
        scripts[node] = script
    if scripts:
        case["agents"] = scripts
    return case


AGENT_SCRIPT_EXAMPLE = json.dumps(
    {
        "turns": [{"tool_calls": [{"tool": "aufgabe_lesen", "arguments": {"id": 7}}]}, {"text": "…"}],
        "tools": {"aufgabe_lesen": {"status": "offen"}},
    },
    ensure_ascii=False,
)


def agent_nodes(document: dict[str, Any]) -> list[str]:
    """Agent nodes a case may script: the model's turns and the tools' results."""
    return [str(node.get("id")) for node in document.get("nodes") or [] if node.get("type") == "agent"]


def fixable_nodes(document: dict[str, Any], outputs_by_type: dict[str, list[str]]) -> list[dict[str, str]]:
    """Nodes a case may pin, with a JSON example of what they return."""
    found = []
    for node in document.get("nodes") or []:
        node_type = str(node.get("type") or "")
        if node_type in rules().not_fixable:
            continue
        example = {name: "" for name in outputs_by_type.get(node_type, [])[:2]}
        found.append(
            {"id": str(node.get("id")), "type": node_type, "example": json.dumps(example, ensure_ascii=False)}
        )
    return found


def approval_nodes(document: dict[str, Any]) -> list[str]:
    """Nodes a case may script a decision for: approval nodes, and agents (whose calls that
    change something wait for a person)."""
    return [
        str(node.get("id"))
        for node in document.get("nodes") or []
        if node.get("type") in ("approval", "agent")
    ]


def targets(document: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """What an expectation can be about: the flow's outputs, then its nodes."""
    found = [
        {"value": f"output:{name}", "label": translate("target_output", lang, name=name)}
        for name in document.get("outputs") or {}
    ]
    found += [
        {"value": f"node:{node.get('id')}", "label": translate("target_node", lang, node=node.get("id"))}
        for node in document.get("nodes") or []
        if node.get("type") not in ("input", "output")
    ]
    return found


# -- edits of the document ------------------------------------------------------------------------
def put_case(document: dict[str, Any], index: int, case: dict[str, Any]) -> dict[str, Any]:
    """The document with `case` at `index`, or appended when `index` is -1."""
    changed = plain(document)
    cases = list(changed.get("tests") or [])
    if 0 <= index < len(cases):
        cases[index] = case
    else:
        cases.append(case)
    changed["tests"] = cases
    return changed


def drop_case(document: dict[str, Any], index: int) -> dict[str, Any]:
    changed = plain(document)
    changed["tests"] = [case for number, case in enumerate(changed.get("tests") or []) if number != index]
    return changed
