"""The rules of test cases that clients need to build them, read from the engine's models
(`runtime.engine.cases`, `runtime.engine.case_validation`) rather than written twice.

Served by `GET /api/test-cases/rules`; the studio's case editor builds its form from it:
which checks exist and what each names (a value, a node, or the whole run; whether it takes
a value, and which values when they are a closed set), which node types a case cannot fix,
the decisions a case can script, and the checks a case taken from a run may use.
"""

from __future__ import annotations

import typing
from typing import Any, Literal

from pydantic import BaseModel, Field

from nodes.base import Node
from nodes.registry import NodeRegistry
from runtime.engine.case_validation import NOT_FIXABLE
from runtime.engine.cases import CHECKS, VALUE_CHECKS, Assertion, Decision
from runtime.runs.viewer_schemas import CaseCheck


class CheckRuleOut(BaseModel):
    check: str
    on: Literal["value", "node", "run"] = Field(
        description="value: a flow output (`output`) or a node's field (`node` + `field`); "
        "node: a node (`node`); run: the whole run"
    )
    node: Literal["required", "optional", "none"] = Field(
        description="Whether the check names a node (optional: without one it is about the whole run)"
    )
    needs_value: bool = Field(description="Whether the check takes a `value`")
    values: list[str] | None = Field(description="The values `value` may take, when they are a closed set")
    arguments: bool = Field(
        False, description="Whether the check takes `arguments` (a subset of a tool call's arguments)"
    )


class NotFixableOut(BaseModel):
    type: str = Field(description="A node type")
    code: str | None = Field(
        description="The problem a document gets that fixes such a node; null: the type returns "
        "nothing a case could fix"
    )


class TestCaseRulesOut(BaseModel):
    __test__ = False  # not a pytest class, although its name starts with "Test"

    checks: list[CheckRuleOut] = Field(description="Every check, in the order clients offer them")
    not_fixable: list[NotFixableOut]
    decisions: list[str] = Field(description="What a case may decide for an approval node")
    from_run_checks: list[str] = Field(description="The checks a case taken from a run may use")


def _literal_values(annotation: Any) -> list[str] | None:
    return (
        [str(value) for value in typing.get_args(annotation)]
        if typing.get_origin(annotation) is Literal
        else None
    )


def check_rule(model: type[BaseModel]) -> CheckRuleOut:
    """What one check model of the engine (`EqualsCheck`, ...) asks of a case."""
    fields = model.model_fields
    [check] = _literal_values(fields["check"].annotation) or []
    node = fields.get("node")
    value = fields.get("value")
    return CheckRuleOut(
        check=check,
        on="value" if issubclass(model, VALUE_CHECKS) else "node" if node is not None else "run",
        node="none" if node is None else "required" if node.is_required() else "optional",
        needs_value=value is not None,
        values=_literal_values(value.annotation) if value is not None else None,
        arguments="arguments" in fields,
    )


def _returns_nothing(node_type: type[Node]) -> bool:
    """A type with no outputs whatever its config (the `output` node): nothing to fix."""
    return node_type.outputs == () and node_type.declared_outputs is Node.declared_outputs


def case_rules(registry: NodeRegistry) -> TestCaseRulesOut:
    models = {check_rule(model).check: model for model in typing.get_args(typing.get_args(Assertion)[0])}
    not_fixable = [NotFixableOut(type=name, code=code) for name, code in NOT_FIXABLE.items()]
    not_fixable += [
        NotFixableOut(type=name, code=None)
        for name, node_type in registry.items()
        if name not in NOT_FIXABLE and _returns_nothing(node_type)
    ]
    return TestCaseRulesOut(
        checks=[check_rule(models[check]) for check in CHECKS],
        not_fixable=not_fixable,
        decisions=_literal_values(Decision.model_fields["decision"].annotation) or [],
        from_run_checks=_literal_values(CaseCheck) or [],
    )
