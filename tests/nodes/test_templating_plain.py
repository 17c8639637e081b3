"""Plain templates (`text {{ name.field }} text`) and plain expressions (`name.field`) are
rendered without Jinja's machinery (`nodes.rendering.templating._render_plain`). They must give
exactly what Jinja gives — the same text, the same value, the same error."""

from __future__ import annotations

from typing import Any

import pytest

from nodes.errors import TemplateError
from nodes.rendering.templating import ENVIRONMENT, _plain_expression, _plain_template, evaluate, render


class Shouting:
    def __str__(self) -> str:
        return "LOUD"


SCOPE: dict[str, Any] = {
    "inputs": {
        "name": "Ada",
        "amount": 1200,
        "rate": 0.5,
        "flag": True,
        "nothing": None,
        "umlaut": "Müller ✓",
        "items": ["a"],
        "tags": ["x", 1, None],
        "meta": {"a": {"b": 2}},
        "pair": ("a", 1),
        "object": Shouting(),
        "keys": "not a method",
    },
    "greet": {"text": "Hello Ada"},
    "range": {"text": "a node called range"},
    "empty": {},
    "listy": ["a", "b"],
    "loud": Shouting(),
}

TEMPLATES = [
    "Hello {{ inputs.name }}",
    "{{ inputs.name }}",
    "{{inputs.name}}!",
    "{{- inputs.name -}} , {{ greet.text }}\n",
    "line one\r\nline two {{ inputs.name }}\r\n",
    "{{ inputs.amount }} / {{ inputs.rate }} / {{ inputs.flag }} / [{{ inputs.nothing }}]",
    "{{ inputs.umlaut }}",
    "{{ inputs.tags }} {{ inputs.meta }} {{ inputs.pair }} {{ inputs.meta.a.b }}",
    "{{ inputs.object }} {{ loud }}",
    "{{ inputs }}",
    "{{ inputs.items }}",  # a dict method, not the key: Jinja's business
    "{{ inputs.keys }}",
    "{{ range.text }}",  # a node may shadow a Jinja global
    "{{ range }}",
    "{{ empty }}",
    "{{ listy }}",
    "text with } and }} and { alone",
    "{{ none }} {{ true }}",
    "{{ inputs.name | upper }}",
    "{{ inputs['name'] }}",
    "{% if inputs.flag %}yes{% endif %} {{ inputs.name }}",
]

FAILING = [
    "{{ inputs.missing }}",
    "{{ missing }}",
    "{{ missing.field }}",
    "{{ inputs.name.missing }}",
    "{{ inputs.amount.value }}",
    "{{ inputs.__class__ }}",
    "{{ listy.0 }} {{ listy.upper }}",
    "{{ unclosed",
]


def _jinja_render(source: str, scope: dict[str, Any]) -> str:
    return ENVIRONMENT.from_string(source).render(scope)


@pytest.mark.parametrize("source", TEMPLATES)
def test_plain_templates_render_as_jinja_does(source: str) -> None:
    assert render(source, SCOPE) == _jinja_render(source, SCOPE)


def test_the_shapes_taken_without_jinja() -> None:
    assert _plain_template("Hello {{ inputs.name }}!") == ("Hello ", ("inputs", ("name",)), "!")
    assert _plain_template("a\r\nb {{ x }}") == ("a\nb ", ("x", ()))  # Jinja's newline rule
    for other in ("{{ inputs.name | upper }}", "{{ inputs['name'] }}", "{{ none }}", "{% if x %}{% endif %}"):
        assert _plain_template(other) is None
    assert _plain_expression("greet.text") == ("greet", ("text",))
    for other in ("greet.text }}x{{ other", "a.b + 1", "a['b']", "none"):
        assert _plain_expression(other) is None


@pytest.mark.parametrize("source", FAILING)
def test_what_jinja_refuses_is_still_refused(source: str) -> None:
    with pytest.raises(TemplateError):
        render(source, SCOPE)


@pytest.mark.parametrize(
    "expression",
    [
        "greet.text",
        "inputs.amount",
        "inputs.tags",
        "inputs.meta.a",
        "inputs.nothing",
        "listy",
        "range.text",
        "inputs.keys",
    ],
)
def test_plain_expressions_give_what_jinja_gives(expression: str) -> None:
    expected = ENVIRONMENT.compile_expression(expression, undefined_to_none=False)(**SCOPE)
    assert evaluate(expression, SCOPE) == expected


@pytest.mark.parametrize("expression", ["greet.missing", "missing", "inputs.name.missing"])
def test_undefined_plain_expressions_are_still_errors(expression: str) -> None:
    with pytest.raises(TemplateError):
        evaluate(expression, SCOPE)


def test_a_scope_that_is_not_a_dict_goes_to_jinja() -> None:
    from types import MappingProxyType

    proxy = MappingProxyType({"inputs": MappingProxyType({"name": "Ada"})})
    assert render("Hi {{ inputs.name }}", proxy) == "Hi Ada"
    assert evaluate("inputs.name", proxy) == "Ada"
