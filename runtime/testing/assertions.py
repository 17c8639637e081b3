"""What each check of a test case means, evaluated on what a case's run did.

    equals             the value equals `value` (as JSON: 1 == 1.0, but true != 1)
    contains           text: `value` is a substring; list: an item equals `value`;
                       object: `value` is a key, or (an object itself) a subset of it
    regex              `value` is found (re.search) in the text (a non-text is written as JSON)
    json_schema        the value is valid against the schema; a text holding a JSON object or
                       list is parsed first (an LLM's answer is text)
    branch             the node ran and took the branch `value`
    approval_raised    the node raised an approval task (whether the case then decided it or not)
    no_connector_call  no connector node ran (or not `node`): a fixed connector counts as a call,
                       since the flow would have made it
    max_duration_ms    the case took at most `value` milliseconds
    status             the run ended `succeeded`, `waiting` or `failed`

A value check names a flow output (`output`) or a step's output (`node` + `field`); a
step that did not run has no outputs, and the check fails saying so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema.validators import validator_for

from runtime.engine.records import StepRecord
from runtime.flows.cases import (
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
)

SHOWN_CHARS = 300


@dataclass
class Observed:
    """What one case's run did: the facts the checks look at (built by the runner)."""

    status: str  # succeeded | waiting | failed
    outputs: dict[str, Any]
    steps: Mapping[str, StepRecord]
    branches: dict[str, str] = field(default_factory=dict)
    approvals: list[str] = field(default_factory=list)  # approval nodes that raised a task
    connector_calls: list[str] = field(default_factory=list)  # connector nodes that ran (fixed or not)
    duration_ms: float = 0.0
    error: dict[str, Any] | None = None


class _Missing(Exception):
    """The checked value does not exist (the step did not run, the run has no outputs)."""


def shown(value: Any) -> str:
    """A value as a person reads it in a report: JSON, cut to SHOWN_CHARS characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON sees it: bool is not a number; numbers compare by value."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(_json_equal(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


def _value(check: Any, trace: Observed) -> Any:
    if check.output is not None:
        if trace.status != "succeeded":
            raise _Missing(f"the run has no outputs (it ended {trace.status})")
        return trace.outputs.get(check.output)
    step = trace.steps.get(check.node)
    if step is None:
        raise _Missing(f"'{check.node}' did not run: the run ended {trace.status} before it")
    if step.status != "succeeded":
        raise _Missing(f"'{check.node}' did not run ({step.status})")
    return (step.outputs or {}).get(check.field)


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        return (expected if isinstance(expected, str) else shown(expected)) in actual
    if isinstance(actual, list):
        return any(_json_equal(item, expected) for item in actual)
    if isinstance(actual, dict):
        if isinstance(expected, dict):
            return all(key in actual and _json_equal(actual[key], value) for key, value in expected.items())
        return isinstance(expected, str) and expected in actual
    return False


def _as_json(actual: Any) -> Any:
    if isinstance(actual, str) and actual.strip()[:1] in ("{", "["):
        try:
            return json.loads(actual)
        except ValueError:
            return actual
    return actual


def _schema_problem(actual: Any, schema: dict[str, Any]) -> str | None:
    validator = validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(_as_json(actual)), key=lambda error: list(error.path))
    if not errors:
        return None
    first = errors[0]
    where = "/".join(str(part) for part in first.path)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"not valid against the schema{f' at {where}' if where else ''}: {first.message}{more}"


def _value_check(check: Any, trace: Observed) -> tuple[bool, str, Any]:
    """(passed, message, the value looked at) for equals, contains, regex and json_schema."""
    target = check.target()
    try:
        actual = _value(check, trace)
    except _Missing as missing:
        return False, f"{target}: {missing}", None
    if isinstance(check, EqualsCheck):
        ok = _json_equal(actual, check.value)
        return ok, f"{target} {'is' if ok else 'is not'} {shown(check.value)}", actual
    if isinstance(check, ContainsCheck):
        ok = _contains(actual, check.value)
        return ok, f"{target} {'contains' if ok else 'does not contain'} {shown(check.value)}", actual
    if isinstance(check, RegexCheck):
        subject = actual if isinstance(actual, str) else shown(actual)
        ok = actual is not None and re.search(check.value, subject[:MAX_REGEX_SUBJECT]) is not None
        return ok, f"{target} {'matches' if ok else 'does not match'} /{check.value}/", actual
    assert isinstance(check, JsonSchemaCheck)
    problem = _schema_problem(actual, check.value)
    return problem is None, f"{target} is {problem or 'valid against the schema'}", actual


def evaluate(check: Any, trace: Observed) -> dict[str, Any]:
    """One check's result as a report shows it: passed, a sentence, and what was seen."""
    actual: Any = None
    if isinstance(check, EqualsCheck | ContainsCheck | RegexCheck | JsonSchemaCheck):
        ok, message, actual = _value_check(check, trace)
    elif isinstance(check, BranchCheck):
        step = trace.steps.get(check.node)
        actual = trace.branches.get(check.node)
        ok = actual == check.value
        if step is None or step.status != "succeeded":
            message = f"'{check.node}' did not run ({step.status if step else 'not reached'})"
        else:
            message = f"'{check.node}' took the branch '{actual}'" + ("" if ok else f", not '{check.value}'")
    elif isinstance(check, ApprovalRaisedCheck):
        ok = check.node in trace.approvals
        message = f"'{check.node}' {'raised' if ok else 'did not raise'} an approval task"
    elif isinstance(check, NoConnectorCallCheck):
        calls = [node for node in trace.connector_calls if check.node in (None, node)]
        ok, actual = not calls, calls
        message = "no connector was called" if ok else f"connector called: {', '.join(calls)}"
    elif isinstance(check, MaxDurationCheck):
        ok, actual = trace.duration_ms <= check.value, round(trace.duration_ms, 1)
        message = f"the case took {trace.duration_ms:.0f} ms (at most {check.value:g} ms allowed)"
    else:
        assert isinstance(check, StatusCheck)
        ok, actual = trace.status == check.value, trace.status
        message = f"the run ended {trace.status}" + ("" if ok else f", not {check.value}")
    result: dict[str, Any] = {"check": check.check, "passed": ok, "message": message}
    if actual is not None:
        result["actual"] = shown(actual)
    return result


def failure(check: Any, trace: Observed) -> str | None:
    """Why `check` fails on what the run did, or None when it holds."""
    result = evaluate(check, trace)
    if result["passed"]:
        return None
    seen = f" (seen: {result['actual']})" if "actual" in result and check.check in _SHOW_SEEN else ""
    return str(result["message"]) + seen


# Checks whose message does not already say what was seen.
_SHOW_SEEN = ("equals", "contains", "regex", "json_schema")
