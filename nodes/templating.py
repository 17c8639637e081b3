"""Sandboxed Jinja2 templates: rendering, and finding the references a template makes.

Every template in a flow (prompts, bodies, output mappings) goes through here, so the
sandbox is the same everywhere: `ImmutableSandboxedEnvironment` (no attribute tricks such
as `''.__class__.__mro__`, no mutation of the data it is handed) with `StrictUndefined`
(a reference to something that does not exist is an error, not an empty string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Set
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, nodes
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


# Work one render may do: elements made by `range` and by repeating lists/strings. The
# sandbox stops attribute tricks but not loops; without a budget `{% for i in range(99999)
# %}{% for j in range(99999) %}…` would block the event loop for hours.
MAX_RANGE = 10_000
RENDER_BUDGET = 100_000
_budget: ContextVar[list[int]] = ContextVar("template_budget")


def _charge(units: int, what: str) -> None:
    spent = _budget.get(None)
    if spent is None:  # outside render()/evaluate(): e.g. compile-time constant folding
        spent = [0]
    spent[0] += units
    if spent[0] > RENDER_BUDGET:
        raise SecurityError(
            f"the template does too much work ({what}); the limit is {RENDER_BUDGET} elements"
        )


def _bounded_range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range too large in template ({len(values)} > {MAX_RANGE})")
    _charge(len(values), "range")
    return values


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["**", "*"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        # `**` is left-associative in Jinja, so bound the size of the result, not the exponent.
        if (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, (int, float))
            and (abs(right) > 1000 or max(left.bit_length(), 1) * abs(right) > 10_000)
        ):
            raise SecurityError("exponent too large in template")
        if operator == "*":
            # Squaring in a loop (`{% set ns.x = ns.x * ns.x %}`) doubles the digits each time.
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() + right.bit_length() > 10_000
            ):
                raise SecurityError("number too large in template")
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
                    size = times * len(sequence)
                    if size > MAX_RENDERED_CHARS:
                        raise SecurityError("repetition too large in template")
                    if not isinstance(sequence, str):
                        _charge(size, "repetition")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # 'x'.ljust(10**9), '{:>999999999}'.format(1) and friends: no call needs a huge number.
        for value in () if __obj is _bounded_range else (*args, *kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_RENDERED_CHARS:
                raise SecurityError("number too large for a call in a template")
        return super().call(__context, __obj, *args, **kwargs)


ENVIRONMENT = _Environment(
    undefined=StrictUndefined,
    finalize=_finalize,
    autoescape=False,
    keep_trailing_newline=True,
)
ENVIRONMENT.globals["range"] = _bounded_range
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
        # undefined_to_none=False: a typo such as `inputs.amout` must be an error, not None.
        return ENVIRONMENT.compile_expression(source, undefined_to_none=False)
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


# -- the common shapes without Jinja's machinery ------------------------------------------
# Most templates are text with `{{ name.field }}` placeholders, and most expressions a bare
# `name.field`. Jinja spends ~10 µs a render setting up a context (it copies the scope and
# walks its globals) for what is a dictionary lookup. For these shapes — recognised on
# Jinja's own parse tree, so the text parts are exactly what Jinja would output — the
# lookups are done here, as Jinja's sandbox does them on plain dicts: a key that is not
# also an attribute of dict. Anything else (a missing name, another type, a key such as
# `items`) goes to Jinja, which renders it or raises exactly as before.
_DICT_ATTRIBUTES = frozenset(dir(dict))
_Lookup = tuple[str, tuple[str, ...]]  # name, then fields


def _lookup_of(node: nodes.Node) -> _Lookup | None:
    fields: list[str] = []
    while isinstance(node, nodes.Getattr):
        fields.append(node.attr)
        node = node.node
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return node.name, tuple(reversed(fields))
    return None


@lru_cache(maxsize=4096)
def _plain_template(source: str) -> tuple[str | _Lookup, ...] | None:
    """`source` as literal text and lookups, or None when it is anything more."""
    try:
        body = ENVIRONMENT.parse(source).body
    except TemplateSyntaxError:
        return None
    if len(body) != 1 or not isinstance(body[0], nodes.Output):
        return None
    parts: list[str | _Lookup] = []
    for node in body[0].nodes:
        if isinstance(node, nodes.TemplateData):
            parts.append(node.data)
        elif (lookup := _lookup_of(node)) is not None:
            parts.append(lookup)
        else:
            return None
    return tuple(parts)


@lru_cache(maxsize=1024)
def _plain_expression(source: str) -> _Lookup | None:
    """`source` as a lookup when it is one (and only one) expression of that shape."""
    try:
        body = ENVIRONMENT.parse("{{ " + source + " }}").body
    except TemplateSyntaxError:
        return None
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    return _lookup_of(body[0].nodes[0])


_MISSING = object()


def _resolve(lookup: _Lookup, scope: Mapping[str, Any]) -> Any:
    """The value Jinja's sandbox would find, or `_MISSING` when only Jinja can tell."""
    name, fields = lookup
    if type(scope) is not dict or name not in scope:
        return _MISSING
    value = scope[name]
    for field in fields:
        if type(value) is not dict or field in _DICT_ATTRIBUTES or field not in value:
            return _MISSING
        value = value[field]
    return value


def _render_plain(parts: tuple[str | _Lookup, ...], scope: Mapping[str, Any]) -> str | None:
    pieces = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        else:
            value = _resolve(part, scope)
            if value is _MISSING:
                return None
            pieces.append(str(_finalize(value)))
    return "".join(pieces)


def render(source: str, scope: Mapping[str, Any]) -> str:
    """Render `source` with `scope`; every failure becomes a `TemplateError`."""
    if "{" not in source:  # fast path: plain text has nothing to render
        return source
    plain = _plain_template(source)
    if plain is not None and (text := _render_plain(plain, scope)) is not None:
        if len(text) > MAX_RENDERED_CHARS:
            raise TemplateError(f"the rendered template is larger than {MAX_RENDERED_CHARS} characters")
        return text
    template = _compile(source)
    token = _budget.set([0])
    try:
        text = template.render(scope)
    except TemplateError:
        raise
    except Exception as exc:
        raise _render_error(exc) from None
    finally:
        _budget.reset(token)
    if len(text) > MAX_RENDERED_CHARS:
        raise TemplateError(f"the rendered template is larger than {MAX_RENDERED_CHARS} characters")
    return text


def evaluate(expression: str, scope: Mapping[str, Any]) -> Any:
    """Evaluate a Jinja2 expression such as `inputs.amount > 50000` in the sandbox."""
    lookup = _plain_expression(expression)
    if lookup is not None and (value := _resolve(lookup, scope)) is not _MISSING:
        return value
    compiled = _compile_expression(expression)
    token = _budget.set([0])
    try:
        result = compiled(**scope)
    except Exception as exc:
        raise _render_error(exc) from None
    finally:
        _budget.reset(token)
    if isinstance(result, Undefined):  # StrictUndefined only raises when used, so use it
        raise _render_error(UndefinedError(result._undefined_message))
    return result


# `{{ name }}` / `{{ name.field.more }}`: the overwhelmingly common template shape, which
# needs no Jinja parse to find its references (parsing costs ~100 µs per template).
_SIMPLE_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)\s*\}\}")


def references(source: str, *, expression: bool = False) -> Set[tuple[str, str | None]]:
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

    def collect(match: re.Match[str]) -> str:
        found.add((match.group(1), match.group(2).split(".")[1] if match.group(2) else None))
        return ""

    remainder = _SIMPLE_PLACEHOLDER.sub(collect, source)
    if "{{" in remainder or "}}" in remainder:
        return None  # filters, calls, operators: needs the parser
    return {item for item in found if item[0] not in ENVIRONMENT.globals}


# Names Jinja defines inside loops, macros and blocks: never references to the scope.
_IMPLICIT_NAMES = frozenset({"loop", "caller", "varargs", "kwargs", "self", "super"})


@lru_cache(maxsize=4096)
def _parsed_references(source: str) -> frozenset[tuple[str, str | None]]:
    try:
        parsed = ENVIRONMENT.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    stored = {name.name for name in parsed.find_all(nodes.Name) if name.ctx in ("store", "param")}
    stored |= _IMPLICIT_NAMES
    # A macro defined in the template (`{% macro eur(x) %}`) is called by name, not read from the scope.
    stored |= {macro.name for macro in parsed.find_all(nodes.Macro)}
    free = {
        name.name
        for name in parsed.find_all(nodes.Name)
        if name.ctx == "load" and name.name not in stored and name.name not in ENVIRONMENT.globals
    }
    found: set[tuple[str, str | None]] = set()
    with_field: set[str] = set()
    access: nodes.Getattr | nodes.Getitem
    for access in parsed.find_all((nodes.Getattr, nodes.Getitem)):  # type: ignore[assignment]
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
