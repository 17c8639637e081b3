"""Sandboxed Jinja2 templates: rendering, and finding the references a template makes.

Every template in a flow (prompts, bodies, output mappings, router conditions) goes
through here, so the sandbox is the same everywhere: `BudgetedEnvironment`
(`nodes.rendering.sandbox`: an `ImmutableSandboxedEnvironment` — no attribute tricks such
as `''.__class__.__mro__`, no mutation of the data it is handed — with the budget of
`nodes.rendering.budget`) and `StrictUndefined` (a reference to something that does not
exist is an error, not an empty string).

`render` and `evaluate` here run in the calling thread, under the static budget only.
The engine renders through `nodes.rendering.workers.Templates`, which does the plain
lookups below in-process and sends everything else to a worker process with a CPU,
time and memory limit.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Set
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, nodes
from jinja2.exceptions import SecurityError

from nodes.errors import TemplateError, TemplateTooLarge
from nodes.rendering.budget import DEFAULT_LIMITS, TemplateLimits, check_text, metered, refuse
from nodes.rendering.filters import bounded_json
from nodes.rendering.sandbox import BudgetedEnvironment


def _finalize(value: Any) -> Any:
    """None renders as nothing; structured values render as JSON, not Python repr."""
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def _finalize_within_budget(value: Any) -> Any:
    """`_finalize` inside Jinja: a list whose text would be terabytes is refused first."""
    if value is None or isinstance(value, str):
        return "" if value is None else value
    if isinstance(value, (dict, list, tuple)):
        return bounded_json(value, ensure_ascii=False, default=str)
    check_text(value, "output")
    return value


ENVIRONMENT = BudgetedEnvironment(
    undefined=StrictUndefined,
    finalize=_finalize_within_budget,
    autoescape=False,
    keep_trailing_newline=True,
)


@lru_cache(maxsize=4096)
def _compile(source: str) -> Any:
    try:
        return ENVIRONMENT.from_string(source)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None


def _syntax_error(exc: TemplateSyntaxError) -> TemplateError:
    return TemplateError(
        f"template syntax error on line {exc.lineno}: {exc.message}",
        code="template_syntax",
        line=exc.lineno,
        detail=exc.message or "",
    )


@lru_cache(maxsize=1024)
def _compile_expression(source: str) -> Any:
    try:
        # undefined_to_none=False: a typo such as `inputs.amout` must be an error, not None.
        return ENVIRONMENT.compile_expression(source, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise TemplateError(
            f"expression syntax error: {exc.message}", code="expression_syntax", detail=exc.message or ""
        ) from None


def _render_error(exc: BaseException) -> TemplateError:
    if isinstance(exc, TemplateError):
        return exc
    if isinstance(exc, RecursionError):
        return refuse("recursion_depth", sys.getrecursionlimit())
    if isinstance(exc, SecurityError):
        return TemplateError(
            f"the template tried something the sandbox forbids: {exc}",
            code="template_forbidden",
            detail=str(exc),
        )
    if isinstance(exc, UndefinedError):
        text = str(exc)
        if "unsafe" in text:
            return TemplateError(
                f"the template tried something the sandbox forbids: {text}",
                code="template_forbidden",
                detail=text,
            )
        return TemplateError(
            f"the template refers to something that does not exist: {text}",
            code="template_undefined",
            detail=text,
        )
    detail = f"{type(exc).__name__}: {exc}"
    return TemplateError(f"the template failed to render: {detail}", code="template_failed", detail=detail)


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
    except (TemplateSyntaxError, RecursionError):  # Jinja (in a worker) says what is wrong
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
    except (TemplateSyntaxError, RecursionError):
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


def _render_plain(parts: tuple[str | _Lookup, ...], scope: Mapping[str, Any], limit: int) -> str | None:
    pieces = []
    size = 0
    for part in parts:
        if isinstance(part, str):
            piece = part
        else:
            value = _resolve(part, scope)
            if value is _MISSING:
                return None
            piece = str(_finalize(value))
        size += len(piece)
        if size > limit:  # `{{ doc.text }}` a thousand times: stop at the limit, not after
            raise refuse("output_chars", limit)
        pieces.append(piece)
    return "".join(pieces)


def render_plain(
    source: str, scope: Mapping[str, Any], limits: TemplateLimits = DEFAULT_LIMITS
) -> str | None:
    """`source` rendered by dictionary lookups, or None when it needs Jinja.

    Cheap and bounded, so it runs wherever it is called, the event loop included: only a
    text that looks like placeholders and text, and is not long, is parsed here (Jinja's
    parser costs ~10 µs a token: seconds for a template of a megabyte)."""
    if "{" not in source:  # plain text has nothing to render
        return source
    if not _looks_plain(source):
        return None
    plain = _plain_template(source)
    if plain is None:
        return None
    return _render_plain(plain, scope, limits.output_chars)


# What the runtime process parses to find a plain template: text with `{{ name.field }}`
# placeholders (whitespace control allowed), up to this size. Anything else is rendered by
# a worker, unparsed here.
MAX_PLAIN_CHARS = 20_000
_PLACEHOLDER = re.compile(r"\{\{-?\s*[^\W\d]\w*(?:\.[^\W\d]\w*)*\s*-?\}\}")
_LOOKUP = re.compile(r"\s*[^\W\d]\w*(?:\.[^\W\d]\w*)*\s*")


def _looks_plain(source: str) -> bool:
    if len(source) > MAX_PLAIN_CHARS or "{%" in source or "{#" in source:
        return False
    return "{{" not in _PLACEHOLDER.sub("", source)


def evaluate_plain(expression: str, scope: Mapping[str, Any]) -> Any:
    """The value of a bare `name.field` expression, or `MISSING` when it needs Jinja."""
    if len(expression) > MAX_PLAIN_CHARS or not _LOOKUP.fullmatch(expression):
        return _MISSING
    lookup = _plain_expression(expression)
    return _MISSING if lookup is None else _resolve(lookup, scope)


MISSING: Any = _MISSING


def _generate_within_budget(template: Any, scope: Mapping[str, Any], limit: int) -> str:
    """The rendered text, collected in a sink that stops at `limit` characters."""
    pieces = []
    size = 0
    for piece in template.generate(scope):
        size += len(piece)
        if size > limit:
            raise refuse("output_chars", limit)
        pieces.append(piece)
    return "".join(pieces)


def render(source: str, scope: Mapping[str, Any], limits: TemplateLimits = DEFAULT_LIMITS) -> str:
    """Render `source` with `scope` in this thread; every failure becomes a `TemplateError`.

    The static budget applies (`limits`); the time and memory limits do not — those are
    what `nodes.rendering.workers` adds."""
    text = render_plain(source, scope, limits)
    if text is not None:
        return text
    with metered(limits):
        try:
            return _generate_within_budget(_compile(source), scope, limits.output_chars)
        except MemoryError:  # a worker process answers with its memory limit
            raise
        except Exception as exc:
            raise _render_error(exc) from None


def evaluate(expression: str, scope: Mapping[str, Any], limits: TemplateLimits = DEFAULT_LIMITS) -> Any:
    """Evaluate a Jinja2 expression such as `inputs.amount > 50000` in the sandbox."""
    value = evaluate_plain(expression, scope)
    if value is not _MISSING:
        return value
    with metered(limits):
        try:
            result = _compile_expression(expression)(**scope)
            if isinstance(result, Undefined):  # StrictUndefined only raises when used, so use it
                raise UndefinedError(result._undefined_message)
            check_text(result, "the value of the expression")
        except MemoryError:
            raise
        except Exception as exc:
            raise _render_error(exc) from None
    return result


# `{{ name }}` / `{{ name.field.more }}`: the overwhelmingly common template shape, which
# needs no Jinja parse to find its references (parsing costs ~100 µs per template).
_SIMPLE_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)\s*\}\}")


# Longer templates are refused before they are parsed: validating a flow parses its
# templates in the runtime process, and Jinja's parser takes 2-3 s of CPU per megabyte.
# 100,000 characters is ~25,000 tokens, more than a prompt written by hand.
MAX_TEMPLATE_CHARS = 100_000
# Parses of templates up to this size are remembered (by their text); bigger ones would let
# a few thousand distinct documents fill the memory.
_CACHED_TEMPLATE_CHARS = 4_096


def references(source: str, *, expression: bool = False) -> Set[tuple[str, str | None]]:
    """The `(name, field)` pairs a template reads from its scope.

    `{{ find.documents }}` gives `("find", "documents")`; `{{ find }}` gives
    `("find", None)`. Loop variables, `set` targets and Jinja's own globals are not
    references. Raises `TemplateError` for a template that does not parse, and
    `TemplateTooLarge` for one over `MAX_TEMPLATE_CHARS`.
    """
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateTooLarge(len(source), MAX_TEMPLATE_CHARS)
    if not expression:
        simple = _simple_references(source)
        if simple is not None:
            return simple
    text = "{{ " + source + " }}" if expression else source
    if len(text) <= _CACHED_TEMPLATE_CHARS:
        return _cached_references(text)
    return _parsed_references(text)


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
def _cached_references(source: str) -> frozenset[tuple[str, str | None]]:
    return _parsed_references(source)


def _parsed_references(source: str) -> frozenset[tuple[str, str | None]]:
    try:
        return _references_in(ENVIRONMENT.parse(source))
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None
    except RecursionError:  # `{{ ((((…)))) }}` thousands deep: Jinja's parser recurses
        raise TemplateError(
            "the template is nested too deeply to be read", code="template_too_deep"
        ) from None


def _references_in(parsed: nodes.Template) -> frozenset[tuple[str, str | None]]:
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
