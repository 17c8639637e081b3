"""Test cases of a flow document (`tests: [TestCase, ...]`): the model, strict like the document.

A case is part of the version (the content hash covers it), so the board sees exactly
what was tested::

    {"name": "Mahnung an Müller",
     "inputs": {"customer": "Müller GmbH"},
     "fixed": {"draft": {"text": "Sehr geehrte Frau Müller, ..."}},     # the node is not executed
     "decisions": {"check": {"decision": "approve", "payload": {"text": "..."}}},
     "agents": {"helper": {"turns": [{"tool_calls": [{"tool": "read_task", "arguments": {"id": 7}}]},
                                     {"text": "Aufgabe 7 ist offen."}],
                           "tools": {"read_task": {"id": 7, "state": "open"}}}},
     "expect": [{"check": "contains", "output": "sent", "value": "Müller"},
                {"check": "branch", "node": "check", "value": "approved"},
                {"check": "tool_called", "node": "helper", "value": "read_task", "arguments": {"id": 7}}]}

What the model checks alone (types, unknown fields, a valid regex, a valid JSON schema)
is here; what needs the flow (known nodes, declared outputs, approval nodes, flow
inputs) is in `runtime.engine.case_validation`. Running cases: `runtime.testing`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from runtime.codes import coded
from runtime.codes.pydantic_errors import coded_problem

MAX_CASES = 200
MAX_ASSERTIONS = 100
# Python's `re` cannot be interrupted, so a pattern is kept short (and the text it searches
# is cut to MAX_REGEX_SUBJECT characters when it runs): a bound on catastrophic backtracking.
MAX_REGEX_LENGTH = 500
MAX_REGEX_SUBJECT = 100_000
CHECKS = (
    "equals",
    "contains",
    "regex",
    "json_schema",
    "branch",
    "approval_raised",
    "no_connector_call",
    "max_duration_ms",
    "status",
    "tool_called",
    "tool_not_called",
    "steps_at_most",
)
# The largest number of model turns an agent may take (nodes.agent.HARD_MAX_STEPS).
MAX_AGENT_TURNS = 50


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _ValueCheck(_Strict):
    """A check of one value: a flow output (`output`) or a step output (`node` + `field`)."""

    output: str | None = None
    node: str | None = None
    field: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> _ValueCheck:
        by_output = self.output is not None
        by_step = self.node is not None or self.field is not None
        if by_output == by_step or (by_step and (self.node is None or self.field is None)):
            raise PydanticCustomError(
                "check_target",
                "name what to check: either 'output' (a flow output) or 'node' and 'field' (a step output)",
            )
        return self

    def target(self) -> str:
        """`output 'answer'` or `extract.json`, for messages."""
        return f"output '{self.output}'" if self.output is not None else f"{self.node}.{self.field}"


class EqualsCheck(_ValueCheck):
    check: Literal["equals"]
    value: Any


class ContainsCheck(_ValueCheck):
    check: Literal["contains"]
    value: Any


class RegexCheck(_ValueCheck):
    check: Literal["regex"]
    value: str = Field(..., min_length=1, max_length=MAX_REGEX_LENGTH)

    @field_validator("value")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise PydanticCustomError(
                "invalid_regex",
                "'{pattern}' is not a valid regular expression: {detail}",
                {"pattern": value, "detail": str(exc)},
            ) from None
        return value


class JsonSchemaCheck(_ValueCheck):
    check: Literal["json_schema"]
    value: dict[str, Any]

    @field_validator("value")
    @classmethod
    def _is_a_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            validator_for(value).check_schema(value)
        except SchemaError as exc:
            where = "/".join(str(part) for part in exc.path)
            raise PydanticCustomError(
                "invalid_json_schema",
                "not a valid JSON schema{where}: {detail}",
                {"where": f" at {where}" if where else "", "detail": exc.message},
            ) from None
        return value


class BranchCheck(_Strict):
    check: Literal["branch"]
    node: str
    value: str


class ApprovalRaisedCheck(_Strict):
    check: Literal["approval_raised"]
    node: str


class NoConnectorCallCheck(_Strict):
    check: Literal["no_connector_call"]
    node: str | None = None


class MaxDurationCheck(_Strict):
    check: Literal["max_duration_ms"]
    value: float = Field(..., gt=0, le=3_600_000)


class StatusCheck(_Strict):
    check: Literal["status"]
    value: Literal["succeeded", "waiting", "failed"]


class ToolCalledCheck(_Strict):
    """The agent `node` called the tool `value`, at least once with `arguments` (a subset of
    the call's arguments; none: any call)."""

    check: Literal["tool_called"]
    node: str
    value: str = Field(..., min_length=1, max_length=64)
    arguments: dict[str, Any] | None = None


class ToolNotCalledCheck(_Strict):
    """The agent `node` never called the tool `value` (nor asked to: a refused call counts)."""

    check: Literal["tool_not_called"]
    node: str
    value: str = Field(..., min_length=1, max_length=64)


class StepsAtMostCheck(_Strict):
    """The agent `node` answered within `value` model turns."""

    check: Literal["steps_at_most"]
    node: str
    value: int = Field(..., ge=1, le=MAX_AGENT_TURNS)


AGENT_CHECKS = (ToolCalledCheck, ToolNotCalledCheck, StepsAtMostCheck)

Assertion = Annotated[
    EqualsCheck
    | ContainsCheck
    | RegexCheck
    | JsonSchemaCheck
    | BranchCheck
    | ApprovalRaisedCheck
    | NoConnectorCallCheck
    | MaxDurationCheck
    | StatusCheck
    | ToolCalledCheck
    | ToolNotCalledCheck
    | StepsAtMostCheck,
    Field(discriminator="check"),
]
VALUE_CHECKS = (EqualsCheck, ContainsCheck, RegexCheck, JsonSchemaCheck)


class Decision(_Strict):
    """A scripted human decision on an approval node.

    `payload` is the edited payload; None leaves it as the node rendered it (as in the
    approvals API, where no payload means "not edited")."""

    decision: Literal["approve", "reject"]
    comment: str = Field("", max_length=10_000)
    payload: Any = None


class ScriptedToolCall(_Strict):
    tool: str = Field(..., min_length=1, max_length=64)
    arguments: dict[str, Any] = Field(default_factory=dict)


class ScriptedTurn(_Strict):
    """One answer of the model in an agent's loop: text, and the tools it asks for (none:
    the turn is the final answer)."""

    text: str = ""
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list, max_length=32)
    prompt_tokens: int = Field(0, ge=0)
    completion_tokens: int = Field(0, ge=0)


class AgentScript(_Strict):
    """An agent's loop in a case: the model's turns in order (the model is never asked) and
    fixed results of its tools by tool name (a connection tool's response body; a knowledge
    tool's passages as texts or `{"text", "source"}`). A connection tool without a fixed
    result is never called: the case fails naming it, as for an unfixed connector node."""

    turns: list[ScriptedTurn] = Field(..., min_length=1, max_length=MAX_AGENT_TURNS)
    tools: dict[str, Any] = Field(default_factory=dict)


class TestCase(_Strict):
    __test__ = False  # not a pytest class, although its name starts with "Test"

    name: str = Field(..., min_length=1, max_length=120)
    description: str = ""
    inputs: dict[str, Any] = Field(default_factory=dict)
    fixed: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="node id -> {output: value}; the node is not executed"
    )
    decisions: dict[str, Decision] = Field(
        default_factory=dict,
        description="approval node id -> decision (an agent node's: for every call it holds for a person)",
    )
    agents: dict[str, AgentScript] = Field(
        default_factory=dict, description="agent node id -> its model turns and tool results"
    )
    expect: list[Assertion] = Field(..., min_length=1, max_length=MAX_ASSERTIONS)


def structural_error_field(loc: list[Any]) -> str:
    """A pydantic location under `tests` as a path: `tests[2].expect[0].value`.

    The discriminated union adds the check's name after the assertion's index
    (`expect, 0, regex, value`); it says nothing the document does not, so it is dropped."""
    path = ""
    previous: Any = None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(previous, int) and path.endswith(f"expect[{previous}]") and part in CHECKS:
            pass
        else:
            path += f".{part}" if path else str(part)
        previous = part
    return path


def structural_problem(error: Any) -> dict[str, Any]:
    """A pydantic error of a test case as a problem; the assertion union's own errors in
    clearer words."""
    checks = ", ".join(CHECKS)
    if error["type"] == "union_tag_not_found":
        return coded("check_missing", checks=checks)
    if error["type"] == "union_tag_invalid":
        given = error.get("input")
        tag = given.get("check") if isinstance(given, dict) else given
        return coded("unknown_check", check=str(tag), checks=checks)
    return coded_problem(error)
