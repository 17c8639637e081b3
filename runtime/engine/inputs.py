"""Run inputs checked against the flow's declared inputs, and the run's outputs rendered."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nodes.rendering.workers import Templates
from runtime.codes import coded
from runtime.engine.document import FlowDocument, InputSpec, value_fits
from runtime.errors import BadRequest

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(.+?)\}\}\s*$", re.DOTALL)


def _type_ok(spec: InputSpec, value: Any) -> bool:
    if value is None:
        return not spec.required
    return value_fits(spec.type, value)


def prepare_inputs(document: FlowDocument, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Declared inputs with defaults applied; every problem at once in a `BadRequest`
    (`invalid_inputs`, its `errors` each `{"field", "code", "params", "message"}`)."""
    given = dict(given or {})
    problems: list[dict[str, Any]] = []
    prepared: dict[str, Any] = {}
    for name, spec in document.inputs.items():
        if given.get(name) is None:
            given.pop(name, None)  # an explicit null is a missing value, not an unknown input
            if spec.default is not None:
                prepared[name] = spec.default
            elif spec.required:
                problems.append(
                    {"field": f"inputs.{name}", **coded("input_required", name=name, type=spec.type)}
                )
            else:
                prepared[name] = None
            continue
        value = given.pop(name)
        if not _type_ok(spec, value):
            got = type(value).__name__
            problems.append(
                {"field": f"inputs.{name}", **coded("input_wrong_type", name=name, type=spec.type, got=got)}
            )
        elif spec.enum is not None and value not in spec.enum:
            choices = ", ".join(repr(choice) for choice in spec.enum)
            problems.append(
                {
                    "field": f"inputs.{name}",
                    **coded("input_not_a_choice", name=name, choices=choices, value=repr(value)),
                }
            )
        prepared[name] = value
    for name in given:
        declared = ", ".join(document.inputs) or "none"
        problems.append({"field": f"inputs.{name}", **coded("input_unknown", name=name, inputs=declared)})
    if problems:
        raise BadRequest(
            "the inputs do not fit the flow: " + "; ".join(p["message"] for p in problems),
            code="invalid_inputs",
            problems="; ".join(p["message"] for p in problems),
            errors=problems,
        )
    return prepared


async def render_outputs(
    document: FlowDocument, scope: Mapping[str, Any], templates: Templates
) -> dict[str, Any]:
    """`{{ node.field }}` alone keeps its value's type (a list stays a list); else text."""
    rendered: dict[str, Any] = {}
    for name, template in document.outputs.items():
        single = _SINGLE_EXPRESSION.match(template)
        if single and "{{" not in single.group(1) and "{%" not in template:
            rendered[name] = await templates.evaluate(single.group(1).strip(), scope)
        else:
            rendered[name] = await templates.render(template, scope)
    return rendered
