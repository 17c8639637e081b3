"""Sandboxed Jinja2 templates: rendering, and finding the references a template makes.

Every template in a flow (prompts, bodies, output mappings) goes through here, so the
sandbox is the same everywhere: `ImmutableSandboxedEnvironment` (no attribute tricks such
as `''.__class__.__mro__`, no mutation of the data it is handed) with `StrictUndefined`
(a reference to something that does not exist is an error, not an empty string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from nodes.errors import TemplateError

# A rendered template larger than this is almost certainly a runaway loop.
MAX_RENDERED_CHARS = 1_000_000


def _finalize(value: Any) -> Any:
    """None renders as nothing; structured values render as JSON, not Python repr."""
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["**", "*"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        # `'x' * 10**9` or `9**9**9` would exhaust memory/CPU inside the sandbox.
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 100:
            raise SecurityError("exponent too large in template")
        if operator == "*" and (
            (isinstance(left, (str, list)) and isinstance(right, int) and right * len(left) > MAX_RENDERED_CHARS)
            or (isinstance(right, (str, list)) and isinstance(left, int) and left * len(right) > MAX_RENDERED_CHARS)
        ):
            raise SecurityError("repetition too large in template")
        return super().call_binop(context, operator, left, right)


ENVIRONMENT = _Environment(
    undefined=StrictUndefined,
    finalize=_finalize,
    autoescape=False,
    keep_trailing_newline=True,
)
ENVIRONMENT.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False, default=str)


@lru_cache(maxsize=4096)
def _compile(source: str) -> Any:
    try:
        return ENVIRONMENT.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from None


@lru_cache(maxsize=1024)
def _compile_expression(source: str) -> Any:
    try:
        return ENVIRONMENT.compile_expression(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"expression syntax error: {exc.message}") from None


def _render_error(exc: Exception) -> TemplateError:
    if isinstance(exc, SecurityError):
        return TemplateError(f"the template tried something the sandbox forbids: {exc}")
    if isinstance(exc, UndefinedError):
        text = str(exc)
        if "unsafe" in text:
            return TemplateError(f"the template tried something the sandbox forbids: {text}")
        return TemplateError(f"the template refers to something that does not exist: {text}")
    return TemplateError(f"the template failed to render: {type(exc).__name__}: {exc}")


def render(source: str, scope: Mapping[str, Any]) -> str:
    """Render `source` with `scope`; every failure becomes a `TemplateError`."""
    if "{" not in source:  # fast path: plain text has nothing to render
        return source
    template = _compile(source)
    try:
        text = template.render(scope)
    except TemplateError:
        raise
    except Exception as exc:
        raise _render_error(exc) from None
    if len(text) > MAX_RENDERED_CHARS:
        raise TemplateError(f"the rendered template is larger than {MAX_RENDERED_CHARS} characters")
    return text


def evaluate(expression: str, scope: Mapping[str, Any]) -> Any:
    """Evaluate a Jinja2 expression such as `inputs.amount > 50000` in the sandbox."""
    compiled = _compile_expression(expression)
    try:
        return compiled(**scope)
    except Exception as exc:
        raise _render_error(exc) from None


# `{{ name }}` / `{{ name.field.more }}`: the overwhelmingly common template shape, which
# needs no Jinja parse to find its references (parsing costs ~100 µs per template).
_SIMPLE_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)\s*\}\}")


def references(source: str, *, expression: bool = False) -> set[tuple[str, str | None]]:
    """The `(name, field)` pairs a template reads from its scope.

    `{{ find.documents }}` gives `("find", "documents")`; `{{ find }}` gives
    `("find", None)`. Loop variables, `set` targets and Jinja's own globals are not
    references. Raises `TemplateError` for a template that does not parse.
    """
    if not expression:
        simple = _simple_references(source)
        if simple is not None:
            return simple
    return _parsed_references("{{ " + source + " }}" if expression else source)


def _simple_references(source: str) -> set[tuple[str, str | None]] | None:
    if "{%" in source or "{#" in source:
        return None
    found: set[tuple[str, str | None]] = set()
    remainder = _SIMPLE_PLACEHOLDER.sub(
        lambda match: found.add(
            (match.group(1), match.group(2).split(".")[1] if match.group(2) else None)
        ) or "",
        source,
    )
    if "{{" in remainder or "}}" in remainder:
        return None  # filters, calls, operators: needs the parser
    return {item for item in found if item[0] not in ENVIRONMENT.globals}


@lru_cache(maxsize=4096)
def _parsed_references(source: str) -> frozenset[tuple[str, str | None]]:
    try:
        parsed = ENVIRONMENT.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    stored = {name.name for name in parsed.find_all(nodes.Name) if name.ctx in ("store", "param")}
    free = {
        name.name
        for name in parsed.find_all(nodes.Name)
        if name.ctx == "load" and name.name not in stored and name.name not in ENVIRONMENT.globals
    }
    found: set[tuple[str, str | None]] = set()
    with_field: set[str] = set()
    for access in parsed.find_all((nodes.Getattr, nodes.Getitem)):
        target = access.node
        if not (isinstance(target, nodes.Name) and target.name in free):
            continue
        if isinstance(access, nodes.Getattr):
            found.add((target.name, access.attr))
            with_field.add(target.name)
        elif isinstance(access.arg, nodes.Const) and isinstance(access.arg.value, str):
            found.add((target.name, access.arg.value))
            with_field.add(target.name)
    found.update((name, None) for name in free - with_field)
    return frozenset(found)
