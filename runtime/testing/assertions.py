"""What each check of a test case means, evaluated on what a case's run did.

    equals             the value equals `value` (as JSON: 1 == 1.0, but true != 1)
    contains           text: `value` is a substring (a non-text `value` as JSON); list: an
                       item equals `value`; object: `value` is a key, or (an object itself)
                       a subset of it
    regex              `value` is found (re.search) in the text (a non-text is written as JSON);
                       the text is cut to MAX_REGEX_SUBJECT characters, the pattern is short
    json_schema        the value is valid against the schema; a text holding a JSON object or
                       list is parsed first (an LLM's answer is text)
    branch             the node ran and took the branch `value`
    approval_raised    the run reached the approval node (whether the case then decided it or not)
    no_connector_call  no connector node ran (or not `node`): a fixed connector counts as a call,
                       since the flow would have made it
    max_duration_ms    the case took at most `value` milliseconds
    status             the run ended `succeeded`, `waiting` or `failed`
    tool_called        the agent `node` asked for the tool `value` (a call refused or failed
                       counts: the model asked), one call's arguments holding `arguments`
                       (a subset, compared as `contains` compares objects)
    tool_not_called    the agent `node` never asked for the tool `value`
    steps_at_most      the agent `node` took at most `value` model turns

The agent checks read the node's `steps` output, or, while it waits for a person, the
steps of the loop so far (in its stored state).

A value check names a flow output (`output`) or a step's output (`node` + `field`); a
step that did not run has no outputs, and the check fails saying so.

`failure(check, observed)` is None when the check holds, else what was expected and what
was seen as a coded item (runtime/codes/checks.py): `{"code": "not_equal", "params":
{"output": "answer", "node": "", "field": "", "expected": '"Ja"', "got": '"Nein"'},
"message": 'output \'answer\': expected "Ja", got "Nein"'}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

from runtime.codes import coded
from runtime.engine.cases import (
    MAX_REGEX_SUBJECT,
    ApprovalRaisedCheck,
    BranchCheck,
    ContainsCheck,
    EqualsCheck,
    JsonSchemaCheck,
    MaxDurationCheck,
    NoConnectorCallCheck,
    RegexCheck,
    StatusCheck,
    StepsAtMostCheck,
    ToolCalledCheck,
    ToolNotCalledCheck,
)
from runtime.engine.records import StepRecord

SHOWN_CHARS = 300
ValueCheck = EqualsCheck | ContainsCheck | RegexCheck | JsonSchemaCheck


@dataclass
class Observed:
    """What one case's run did: the facts the checks look at (built by the runner)."""

    status: str  # succeeded | waiting | failed
    outputs: dict[str, Any]
    steps: Mapping[str, StepRecord]
    branches: dict[str, str] = field(default_factory=dict)
    approvals: list[str] = field(default_factory=list)  # approval nodes the run reached
    connector_calls: list[str] = field(default_factory=list)  # connector nodes that ran (fixed or not)
    duration_ms: float = 0.0
    error: dict[str, Any] | None = None


class _Missing(Exception):
    """The checked value does not exist (the step did not run, the run has no outputs):
    `code` and `params` say why."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def shown(value: Any) -> str:
    """A value as JSON (so "" and null are visible), cut to SHOWN_CHARS characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON sees it: bool is not a number; numbers compare by value."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _value(check: ValueCheck, observed: Observed) -> Any:
    if check.output is not None:
        if observed.status != "succeeded":
            raise _Missing("run_has_no_outputs", status=observed.status)
        return observed.outputs.get(check.output)
    step = observed.steps.get(check.node or "")
    if step is None:
        raise _Missing("step_not_reached", status=observed.status)
    if step.status != "succeeded":
        raise _Missing("step_did_not_run", status=step.status)
    return (step.outputs or {}).get(check.field or "")


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        return _text(expected) in actual
    if isinstance(actual, list):
        return any(json_equal(item, expected) for item in actual)
    if isinstance(actual, dict):
        if isinstance(expected, dict):
            return all(key in actual and json_equal(actual[key], value) for key, value in expected.items())
        return isinstance(expected, str) and expected in actual
    return False


def _as_json(actual: Any) -> Any:
    if isinstance(actual, str) and actual.strip()[:1] in ("{", "["):
        try:
            return json.loads(actual)
        except ValueError:
            return actual
    return actual


def _schema_problem(actual: Any, schema: dict[str, Any]) -> dict[str, str] | None:
    error = best_match(validator_for(schema)(schema).iter_errors(_as_json(actual)))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return {"where": f" at {where}" if where else "", "detail": error.message}


def _value_failure(check: ValueCheck, observed: Observed) -> dict[str, Any] | None:
    # What was checked, for every failure of a value check: clients say it in their words.
    checked = {"output": check.output or "", "node": check.node or "", "field": check.field or ""}
    said = {"checked": check.target()}
    try:
        actual = _value(check, observed)
    except _Missing as missing:
        return coded(missing.code, said=said, **checked, **missing.params)
    if isinstance(check, EqualsCheck):
        if json_equal(actual, check.value):
            return None
        return coded("not_equal", said=said, **checked, expected=shown(check.value), got=shown(actual))
    if isinstance(check, ContainsCheck):
        if _contains(actual, check.value):
            return None
        return coded("does_not_contain", said=said, **checked, expected=shown(check.value), got=shown(actual))
    if isinstance(check, RegexCheck):
        if actual is not None and re.search(check.value, _text(actual)[:MAX_REGEX_SUBJECT]):
            return None
        return coded("does_not_match", said=said, **checked, pattern=check.value, got=shown(actual))
    problem = _schema_problem(actual, check.value)
    return (
        None
        if problem is None
        else coded("does_not_fit_schema", said=said, **checked, **problem, got=shown(actual))
    )


def _branch_failure(check: BranchCheck, observed: Observed) -> dict[str, Any] | None:
    taken = observed.branches.get(check.node)
    if taken == check.value:
        return None
    if taken is not None:
        return coded("other_branch", node=check.node, taken=taken, expected=check.value)
    step = observed.steps.get(check.node)
    return coded("no_branch", node=check.node, status=step.status if step else "not reached")


def _status_failure(check: StatusCheck, observed: Observed) -> dict[str, Any] | None:
    if observed.status == check.value:
        return None
    found = coded("other_status", status=observed.status, expected=check.value, error=observed.error)
    if observed.error:
        where = f" at '{observed.error['node']}'" if observed.error.get("node") else ""
        found["message"] += f"{where}: {observed.error.get('message')}"
    return found


class _NoSteps(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def agent_steps(step: StepRecord | None) -> list[dict[str, Any]]:
    """An agent step's turns and tool calls: its `steps` output, or while it waits for a
    person those of its stored loop state."""
    if step is None:
        raise _NoSteps("not reached")
    if step.status == "succeeded":
        found = (step.outputs or {}).get("steps")
    elif step.status == "waiting" and step.suspension is not None:
        state = step.suspension.request.get("agent_state") or {}
        # A call that waits for a person is a call the model asked for, with its arguments.
        waiting = {call.get("id"): call for call in state.get("pending") or [] if "result" not in call}
        found = [
            {**item, "kind": "tool", "arguments": waiting[item.get("call_id")].get("arguments")}
            if item.get("kind") == "approval" and item.get("call_id") in waiting
            else item
            for item in state.get("steps") or []
        ]
    else:
        raise _NoSteps(step.status)
    return [item for item in found or [] if isinstance(item, dict)]


def _arguments(text: Any) -> Any:
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _agent_failure(
    check: ToolCalledCheck | ToolNotCalledCheck | StepsAtMostCheck, observed: Observed
) -> dict[str, Any] | None:
    try:
        steps = agent_steps(observed.steps.get(check.node))
    except _NoSteps as missing:
        return coded("agent_did_not_run", node=check.node, status=missing.status)
    if isinstance(check, StepsAtMostCheck):
        turns = sum(1 for item in steps if item.get("kind") == "model")
        if turns <= check.value:
            return None
        return coded("too_many_steps", node=check.node, turns=turns, max_turns=check.value)
    calls = [item for item in steps if item.get("kind") == "tool"]
    mine = [_arguments(item.get("arguments")) for item in calls if item.get("tool") == check.value]
    if isinstance(check, ToolNotCalledCheck):
        return coded("tool_called", node=check.node, tool=check.value, times=len(mine)) if mine else None
    wanted = check.arguments
    if any(wanted is None or (isinstance(got, dict) and _contains(got, wanted)) for got in mine):
        return None
    called = [f"{item.get('tool')}({shown(_arguments(item.get('arguments')))})" for item in calls]
    return coded(
        "tool_not_called",
        node=check.node,
        tool=check.value,
        with_arguments="" if wanted is None else f" with {shown(wanted)}",
        called=", ".join(called) or "nothing",
    )


def failure(check: Any, observed: Observed) -> dict[str, Any] | None:
    """Why `check` fails on what the run did (`{"code", "params", "message"}`), or None
    when it holds."""
    if isinstance(check, ValueCheck):
        return _value_failure(check, observed)
    if isinstance(check, BranchCheck):
        return _branch_failure(check, observed)
    if isinstance(check, ApprovalRaisedCheck):
        return None if check.node in observed.approvals else coded("approval_not_reached", node=check.node)
    if isinstance(check, NoConnectorCallCheck):
        calls = [node for node in observed.connector_calls if check.node in (None, node)]
        return coded("connector_called", nodes=", ".join(calls)) if calls else None
    if isinstance(check, MaxDurationCheck):
        if observed.duration_ms <= check.value:
            return None
        return coded("too_slow", took_ms=f"{observed.duration_ms:.0f}", max_ms=f"{check.value:g}")
    if isinstance(check, StatusCheck):
        return _status_failure(check, observed)
    if isinstance(check, ToolCalledCheck | ToolNotCalledCheck | StepsAtMostCheck):
        return _agent_failure(check, observed)
    raise TypeError(f"not a check of a test case: {type(check).__name__}")
