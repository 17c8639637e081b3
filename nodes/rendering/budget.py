"""The budget of one template render: the limits, and the meter that enforces them.

A champion's template must never be able to stop the server. Two layers see to that:

1. **Static budgets** (this module, applied by the sandbox in `nodes.rendering.sandbox`):
   every operation that can build something big or loop for long is checked *before* it
   runs — repetition with `*`, `%`/`format` widths, `lipsum`, `wordwrap`, `indent`,
   `center`, joins, loop iterations, calls — and the rendered text is collected in a
   bounded sink. A refusal is a `TemplateBudgetExceeded` naming the limit and its value.
2. **A hard stop** (`nodes.rendering.workers`): whatever the static budgets do not foresee
   runs in a worker process with a CPU-time, wall-clock and memory limit, and the
   worker is killed and replaced at the limit.

Per-operation limits bound one value; per-render limits (`output_chars`,
`loop_iterations`, `calls`, `work`) add up over one render and are kept by a `Meter`
in a context variable, set around each render.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2.utils import Namespace

from nodes.errors import TemplateBudgetExceeded


@dataclass(frozen=True)
class TemplateLimits:
    """What one render may do. The defaults are generous for prompts, mails and bodies."""

    output_chars: int = 1_000_000  # the rendered text
    string_chars: int = 1_000_000  # one text a template builds (`*`, `+`, `~`, format, filters)
    list_items: int = 100_000  # one list a template builds (`[x] * n`, `+`, batch, slice)
    format_width: int = 10_000  # a width or precision: `%`, `format`, center, indent, wordwrap
    range_items: int = 10_000  # one `range(...)`
    lipsum_words: int = 10_000  # one `lipsum(...)`
    number_bits: int = 10_000  # a number made by `*` or `**`
    loop_iterations: int = 100_000  # all `{% for %}` iterations of one render together
    calls: int = 20_000  # all calls (functions, macros, methods) of one render together
    work: int = 10_000_000  # characters and elements built, and values walked, in one render


DEFAULT_LIMITS = TemplateLimits()

# Every limit a refusal can name, with what it counts (the message a champion reads).
LIMIT_DESCRIPTIONS = {
    "output_chars": "the rendered text would be longer than {value} characters",
    "string_chars": "a text it builds would be longer than {value} characters",
    "list_items": "a list it builds would have more than {value} items",
    "format_width": "a width or precision is larger than {value}",
    "range_items": "a range would have more than {value} numbers",
    "lipsum_words": "lipsum() would make more than {value} words",
    "number_bits": "a number would be larger than {value} bits",
    "loop_iterations": "its loops would run more than {value} times",
    "calls": "it would make more than {value} calls",
    "work": "it would build more than {value} characters and elements in total",
    "recursion_depth": "macros would call each other deeper than {value} levels",
    "cpu_seconds": "rendering took more than {value} s of CPU time",
    "wall_seconds": "rendering took longer than {value} s",
    "memory_mb": "rendering needed more than {value} MB of memory",
}


def refuse(limit: str, value: float, detail: str = "") -> TemplateBudgetExceeded:
    """The error for an exceeded limit (raise it); `detail` says what the template did."""
    what = LIMIT_DESCRIPTIONS[limit].format(value=value)
    return TemplateBudgetExceeded(limit, value, f"{detail}: {what}" if detail else what)


class Meter:
    """The per-render counters, checked against `limits` as they grow."""

    __slots__ = ("calls", "iterations", "limits", "work")

    def __init__(self, limits: TemplateLimits) -> None:
        self.limits = limits
        self.iterations = 0
        self.calls = 0
        self.work = 0

    def charge(self, units: int, detail: str) -> None:
        self.work += units
        if self.work > self.limits.work:
            raise refuse("work", self.limits.work, detail)

    def iteration(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.loop_iterations:
            raise refuse("loop_iterations", self.limits.loop_iterations)

    def call(self) -> None:
        self.calls += 1
        if self.calls > self.limits.calls:
            raise refuse("calls", self.limits.calls)


_meter: ContextVar[Meter] = ContextVar("template_meter")


def meter() -> Meter:
    """The meter of the render in progress; outside one (e.g. while Jinja folds constants
    at compile time) a fresh meter with the default limits, so single values are bounded."""
    found = _meter.get(None)
    return found if found is not None else Meter(DEFAULT_LIMITS)


@contextmanager
def metered(limits: TemplateLimits) -> Iterator[Meter]:
    """Count everything inside against a fresh meter with `limits`."""
    current = Meter(limits)
    token = _meter.set(current)
    try:
        yield current
    finally:
        _meter.reset(token)


# -- sizes ---------------------------------------------------------------------------------
# What `str()` shows element by element (a dict view shows its keys, values or items).
_SEQUENCES: tuple[type[Collection[Any]], ...] = (
    list,
    tuple,
    set,
    frozenset,
    type({}.keys()),
    type({}.values()),
    type({}.items()),
)


def text_size(value: Any, ceiling: int) -> int:
    """About how many characters `value` becomes as text (JSON or `str()`), counted up to
    just past `ceiling`.

    Walks nested lists and dicts without recursion and stops as soon as `ceiling` is
    passed, so a list that holds the same huge list a thousand times (its text would be
    terabytes) costs at most `ceiling` steps to recognise. Each visited value counts at
    least one character, so the walk is never longer than the size it reports.
    """
    size = 0
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        inner: Iterable[Any] = ()
        if kind is str:
            size += len(item) + 2
        elif kind is int or kind is float or kind is bool or item is None:
            size += 3 if kind is not int else item.bit_length() // 3 + 3
        elif isinstance(item, str):
            size += len(item) + 2
        elif isinstance(item, dict):
            size += 2 + 2 * len(item)
            inner = (*item.keys(), *item.values()) if size <= ceiling else ()
        elif isinstance(item, _SEQUENCES):
            size += 2 + len(item)
            inner = item
        elif isinstance(item, Namespace):  # `{% set ns = namespace() %}`: its repr shows all it holds
            attributes = object.__getattribute__(item, "_Namespace__attrs")
            size += 12 + 2 * len(attributes)
            inner = (*attributes.keys(), *attributes.values()) if size <= ceiling else ()
        elif isinstance(item, int):
            size += item.bit_length() // 3 + 3
        else:
            size += 8
        if size > ceiling:
            return size
        stack.extend(inner)
    return size


def check_text(value: Any, detail: str) -> None:
    """Refuse a value that would become a text longer than the limit (before `str()`)."""
    if isinstance(value, str):
        return
    current = meter()
    limit = current.limits.string_chars
    size = text_size(value, limit)
    current.charge(size, detail)
    if size > limit:
        raise refuse("string_chars", limit, detail)


def check_string(size: int, detail: str) -> None:
    """Refuse building a text of `size` characters over the limit; charge it as work."""
    current = meter()
    if size > current.limits.string_chars:
        raise refuse("string_chars", current.limits.string_chars, detail)
    current.charge(size, detail)


def check_items(count: int, detail: str) -> None:
    current = meter()
    if count > current.limits.list_items:
        raise refuse("list_items", current.limits.list_items, detail)
    current.charge(count, detail)


def check_width(width: Any, detail: str) -> None:
    if isinstance(width, int) and not isinstance(width, bool):
        limit = meter().limits.format_width
        if abs(width) > limit:
            raise refuse("format_width", limit, detail)


# -- format specifications -----------------------------------------------------------------
# printf-style: `%[(name)][flags][width][.precision][length]type`; width/precision may be `*`.
_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


def check_printf(template: str, values: Any, detail: str) -> None:
    """Refuse `template % values` when a width or precision is over the limit."""
    limit = meter().limits.format_width
    starred = False
    for match in _PRINTF_SPEC.finditer(template):
        for number in match.groups():
            if number == "*":
                starred = True
            elif number is not None and (len(number) > len(str(limit)) or int(number) > limit):
                raise refuse("format_width", limit, detail)
    if starred:  # the width comes from the values: none of them may be over the limit
        for value in values if isinstance(values, tuple) else (values,):
            check_width(value, detail)
    check_text(values, detail)  # `'%s' % (huge_list,)` is as big as the list's text


def check_format_spec(spec: str, detail: str) -> None:
    """Refuse a `str.format` spec (`>999999999`, `.99999f`) with a width or precision over
    the limit. The only runs of digits in a spec are its width and its precision (a fill
    character is one character), so checking every run is exact."""
    limit = meter().limits.format_width
    for number in _DIGITS.findall(spec):
        if len(number) > len(str(limit)) or int(number) > limit:
            raise refuse("format_width", limit, detail)
