"""The budgeted filters and globals of the template sandbox (`nodes.rendering.sandbox`).

Jinja's own filters, each wrapped so that its input counts as work; those that can build
far more than they are given check their arguments first (`center`, `indent`,
`wordwrap`, `format`, `replace`, `batch`, `slice`), and `join`, `tojson`, `json`,
`range` and `lipsum` are rewritten to know their size before they build it. The loop
counter that every `{% for %}` iterates through is here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from functools import update_wrapper
from typing import Any

import markupsafe
from jinja2.filters import FILTERS, make_attrgetter
from jinja2.utils import _PassArg, generate_lorem_ipsum, pass_context, pass_eval_context

from nodes.rendering.budget import (
    check_items,
    check_printf,
    check_string,
    check_text,
    check_width,
    meter,
    refuse,
    text_size,
)

LOOP_COUNTER = "dirigent_loop_counter"


def count_iterations(iterable: Iterable[Any]) -> Iterator[Any]:
    current = meter()
    for item in iterable:
        current.iteration()
        yield item


@pass_context  # never folded at compile time: it must count while rendering
def loop_counter(context: Any, iterable: Iterable[Any]) -> Iterator[Any]:
    return count_iterations(iterable)


def replaced_size(text: str, old: str, new: str, count: Any) -> int:
    found = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


# -- globals ---------------------------------------------------------------------------------
def bounded_range(*args: int) -> range:
    values = range(*args)
    limits = meter().limits
    if len(values) > limits.range_items:
        raise refuse("range_items", limits.range_items, f"range of {len(values)} numbers")
    meter().charge(len(values), "range")
    return values


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    limit = meter().limits.lipsum_words
    if not all(isinstance(number, int) for number in (n, min, max)) or n * max > limit or n < 0:
        raise refuse("lipsum_words", limit, f"lipsum({n}, min={min}, max={max})")
    return generate_lorem_ipsum(n, html, min, max)


# -- filters ---------------------------------------------------------------------------------
# Filters that work on a list as a list; every other filter turns its input into text.
_STRUCTURAL = frozenset(
    {
        "attr",
        "batch",
        "count",
        "d",
        "default",
        "dictsort",
        "first",
        "groupby",
        "items",
        "last",
        "length",
        "list",
        "map",
        "max",
        "min",
        "random",
        "reject",
        "rejectattr",
        "reverse",
        "select",
        "selectattr",
        "slice",
        "sort",
        "sum",
        "unique",
    }
)


def _metered(
    name: str, original: Callable[..., Any], check: Callable[..., None] | None = None
) -> Callable[..., Any]:
    """`original` with its input counted (and checked by `check`, when given) first."""
    skip = 0 if _PassArg.from_obj(original) is None else 1  # context/environment first

    def filter_(*args: Any, **kwargs: Any) -> Any:
        value = args[skip] if len(args) > skip else None
        if check is not None:
            check(*args[skip:], **kwargs)
        elif name not in _STRUCTURAL and not isinstance(value, str):
            check_text(value, f"|{name}")
        elif isinstance(value, (str, list, tuple, dict)):
            meter().charge(len(value), f"|{name}")
        result = original(*args, **kwargs)
        if isinstance(result, str) and len(result) > meter().limits.string_chars:
            raise refuse("string_chars", meter().limits.string_chars, f"|{name}")
        return result

    return update_wrapper(filter_, original)  # keeps `jinja_pass_arg`


def _check_center(value: Any, width: Any = 80) -> None:
    check_text(value, "|center")
    check_width(width, "|center")
    if isinstance(width, int):
        check_string(max(len(str(value)), width), "|center")


def _check_indent(value: Any, width: Any = 4, first: bool = False, blank: bool = False) -> None:
    check_text(value, "|indent")
    if isinstance(width, str):
        check_width(len(width), "|indent")
    else:
        check_width(width, "|indent")
    prefix = len(width) if isinstance(width, str) else max(width, 0) if isinstance(width, int) else 0
    text = str(value)
    check_string(len(text) + (text.count("\n") + text.count("\r") + 1) * prefix, "|indent")


_WORD = re.compile(r"\S+")


def _check_wordwrap(
    value: Any,
    width: Any = 79,
    break_long_words: bool = True,
    wrapstring: Any = None,
    break_on_hyphens: bool = True,
) -> None:
    check_text(value, "|wordwrap")
    check_width(width, "|wordwrap")
    if not isinstance(width, int) or width < 1:
        return  # textwrap refuses it
    text = str(value)
    # textwrap cuts a word longer than `width` into pieces one slice at a time: a word of
    # n characters costs about n²/width character copies (`wordwrap(1)` on a long text).
    longest = max((len(word) for word in _WORD.findall(text)), default=0) if break_long_words else 0
    meter().charge(len(text) + longest * longest // width, "|wordwrap")
    separator = len(wrapstring) if isinstance(wrapstring, str) else 1
    check_string(len(text) + (len(text) // width + 1) * separator, "|wordwrap")


def _check_format(value: Any, *args: Any, **kwargs: Any) -> None:
    check_text(value, "|format")
    check_printf(str(value), kwargs or args, "|format")


def _check_replace(value: Any, old: Any, new: Any, count: Any = None) -> None:
    check_text(value, "|replace")
    text = str(value)
    check_string(replaced_size(text, str(old), str(new), -1 if count is None else count), "|replace")


def _check_batch(value: Any, linecount: Any, fill_with: Any = None) -> None:
    if isinstance(linecount, int):
        check_items(linecount, "|batch")


def _check_slice(value: Any, slices: Any, fill_with: Any = None) -> None:
    if isinstance(slices, int):
        check_items(slices, "|slice")


@pass_eval_context
def _join(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    if attribute is not None:
        value = map(make_attrgetter(eval_ctx.environment, attribute), value)
    items = list(count_iterations(value))
    ceiling = meter().limits.string_chars
    size = len(str(d)) * max(len(items) - 1, 0)
    for item in items:
        size += len(item) if isinstance(item, str) else text_size(item, ceiling)
        if size > ceiling:
            break
    check_string(size, "|join")
    return FILTERS["join"](eval_ctx, items, d)  # type: ignore[no-any-return]


def bounded_json(value: Any, **options: Any) -> str:
    """`json.dumps(value, **options)`, refused when the text would be over the limit."""
    check_text(value, "JSON")
    if options.get("indent") is None:
        return json.dumps(value, **options)
    # With an indent each nesting level adds to every line: collect and count as it goes.
    ceiling = meter().limits.string_chars
    chunks, size = [], 0
    for chunk in json.JSONEncoder(**options).iterencode(value):
        size += len(chunk)
        if size > ceiling:
            raise refuse("string_chars", ceiling, "JSON")
        chunks.append(chunk)
    return "".join(chunks)


@pass_eval_context
def _tojson(eval_ctx: Any, value: Any, indent: Any = None) -> markupsafe.Markup:
    if isinstance(indent, str):
        check_width(len(indent), "|tojson")
    else:
        check_width(indent, "|tojson")
    options = {**eval_ctx.environment.policies["json.dumps_kwargs"], "indent": indent}
    text = bounded_json(value, **options)
    # As Jinja's own `tojson`: safe to put into HTML and <script>.
    return markupsafe.Markup(
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
    )


def budgeted_filters() -> dict[str, Callable[..., Any]]:
    checks: dict[str, Callable[..., None]] = {
        "center": _check_center,
        "indent": _check_indent,
        "wordwrap": _check_wordwrap,
        "format": _check_format,
        "replace": _check_replace,
        "batch": _check_batch,
        "slice": _check_slice,
    }
    filters = {name: _metered(name, original, checks.get(name)) for name, original in FILTERS.items()}
    filters["join"] = _join
    filters["tojson"] = _tojson
    filters["json"] = _metered(
        "json", lambda value: bounded_json(value, ensure_ascii=False, default=str), lambda value: None
    )
    return filters
