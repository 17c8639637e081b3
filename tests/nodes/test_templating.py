"""The template sandbox (`nodes.rendering.templating`): what it renders, refuses, and references."""

from __future__ import annotations

from typing import Any

import pytest

from nodes.errors import TemplateError
from nodes.rendering.templating import evaluate, references, render

SCOPE: dict[str, Any] = {
    "inputs": {"name": "Ada", "amount": 60_000, "tags": ["a", "b"]},
    "find": {"documents": [{"text": "one"}, {"text": "two"}], "context": "ctx"},
}


# -- rendering -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("plain text, no placeholders", "plain text, no placeholders"),
        ("Hello {{ inputs.name }}!", "Hello Ada!"),
        ("{{ inputs.tags }}", '["a", "b"]'),  # structured values render as JSON
        ("{{ find.documents | map(attribute='text') | join(', ') }}", "one, two"),
        ("{% for d in find.documents %}[{{ d.text }}]{% endfor %}", "[one][two]"),
        ("{{ inputs | json }}", '{"name": "Ada", "amount": 60000, "tags": ["a", "b"]}'),
        ("{{ none_output }}", ""),
        ("{{ 'ab' * 3 }} {{ 2 ** 10 }}", "ababab 1024"),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render(template, {**SCOPE, "none_output": None}) == expected


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{{ missing }}", "refers to something that does not exist: 'missing' is undefined"),
        ("{{ inputs.nope }}", "refers to something that does not exist"),
        ("{{ find.documents[0].score }}", "refers to something that does not exist"),
        ("{% for d in nothing %}{% endfor %}", "'nothing' is undefined"),
    ],
)
def test_strict_undefined_is_an_error_not_an_empty_string(template: str, says: str) -> None:
    with pytest.raises(TemplateError, match=says):
        render(template, SCOPE)


def test_a_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateError, match="template syntax error on line 2"):
        render("fine\n{{ inputs.name ", SCOPE)


# -- the sandbox -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ (1).__class__.__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner.__init__.__globals__.os.popen('id').read() }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ self.__init__.__globals__ }}",
        "{{ ''.format.__globals__ }}",
        "{{ 'a' | attr('__class__') }}",
        "{{ inputs.__class__ }}",
        "{{ inputs.tags.append('c') }}",  # immutable: no mutation of the scope
        "{{ inputs.update({'name': 'Eve'}) }}",
        "{{ inputs.tags.pop() }}",
    ],
)
def test_sandbox_escapes_are_refused_with_a_clear_message(payload: str) -> None:
    with pytest.raises(TemplateError, match="the template tried something the sandbox forbids"):
        render(payload, SCOPE)
    assert SCOPE["inputs"]["tags"] == ["a", "b"]
    assert SCOPE["inputs"]["name"] == "Ada"


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ("{{ 'x' * 10**9 }}", "repetition too large"),
        ("{{ 10**9 * 'x' }}", "repetition too large"),
        ("{{ [0] * 10**9 }}", "repetition too large"),
        ("{{ 2 ** (10**6) }}", "exponent too large"),  # Jinja's ** is left-associative
        ("{{ ('x' * 900000) ~ ('x' * 900000) }}", "longer than 1000000 characters"),
        ("{% for i in range(10**9) %}x{% endfor %}", "range"),
    ],
)
def test_resource_exhaustion_is_refused(payload: str, says: str) -> None:
    with pytest.raises(TemplateError, match=says):
        render(payload, SCOPE)


@pytest.mark.parametrize(
    "payload",
    [
        "{{ [[1] * 999999] * 999999 }}",  # 10**12 items when rendered as JSON
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
        "{{ (2 ** 100 ** 100 ** 100 ** 100 ** 100) > 1 }}",  # left-assoc: 2**10**10
    ],
)
def test_compound_resource_exhaustion_is_refused(payload: str) -> None:
    with pytest.raises(TemplateError):
        render(payload, SCOPE)


def test_expressions_are_sandboxed_too() -> None:
    assert evaluate("inputs.amount > 50000", SCOPE) is True
    with pytest.raises(TemplateError, match="does not exist"):
        evaluate("inputs.missing > 1", SCOPE)
    with pytest.raises(TemplateError, match="sandbox forbids"):
        evaluate("inputs.__class__.__mro__", SCOPE)


@pytest.mark.parametrize("expression", ["inputs.amout", "inputs.__class__"])
def test_an_expression_that_is_undefined_as_a_whole_is_an_error(expression: str) -> None:
    with pytest.raises(TemplateError):
        evaluate(expression, SCOPE)


# -- references ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("no placeholders", set()),
        ("{{ inputs.question }}", {("inputs", "question")}),
        ("{{ find }}", {("find", None)}),
        ("{{inputs.a}} and {{ find.documents.0 }}", {("inputs", "a"), ("find", "documents")}),
        ("{{ find['documents'] }}", {("find", "documents")}),
        ("{{ answer.text | upper }}", {("answer", "text")}),
        ("{% for d in find.documents %}{{ d.text }}{% endfor %}", {("find", "documents")}),
        ("{% set x = inputs.a %}{{ x.b }}", {("inputs", "a")}),
        (
            "{{ inputs.a if check.decision == 'approved' else 'n' }}",
            {("inputs", "a"), ("check", "decision")},
        ),
        ("{{ range(3) | join }} {{ lipsum() }}", set()),  # Jinja's globals are not references
        ("{{ find.documents | map(attribute='text') | join }}", {("find", "documents")}),
    ],
)
def test_references(template: str, expected: set[tuple[str, str | None]]) -> None:
    assert set(references(template)) == expected


def test_the_loop_variable_is_not_a_reference() -> None:
    template = "{% for d in find.documents %}{{ loop.index }}. {{ d.text }}{% endfor %}"
    assert set(references(template)) == {("find", "documents")}


def test_a_macro_of_the_template_is_not_a_reference() -> None:
    template = "{% macro eur(x) %}{{ x }} €{% endmacro %}{{ eur(inputs.amount) }}"
    assert set(references(template)) == {("inputs", "amount")}
    assert render(template, {"inputs": {"amount": 5}}) == "5 €"


def test_references_of_an_expression() -> None:
    assert set(references("inputs.amount > 50000 and risk.level == 'high'", expression=True)) == {
        ("inputs", "amount"),
        ("risk", "level"),
    }


def test_references_of_a_broken_template_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="syntax error"):
        references("{% for x in %}")
