"""Bounded copies of run payloads, for the runs viewer's trace.

A step may carry a whole retrieved document, a long prompt, or a list of thousands of
records; the trace of a run must stay small enough to send and to render. `bounded`
copies a JSON value and cuts it where it grows past its limits, leaving a marker at each
cut that a person can read (and the studio renders as text, like any value):

    a long string     its first `MAX_TEXT` characters, then " … [+N]" (N characters cut)
    a long list       its first `MAX_ITEMS` items, then the string "… [+N]" (N items cut)
    a large object    its first `MAX_ITEMS` fields, then the field "…": "+N" (N fields cut)
    deep nesting      below `MAX_DEPTH` levels, the value as "… [+N]" (N characters as JSON)
    the whole value   once `MAX_TOTAL` characters are spent, every further string is "… [+N]"

The answer says whether anything was cut; the full value of a step is one request away
(`GET /api/runs/{id}/steps/{node_id}`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 4000
MAX_ITEMS = 50
MAX_DEPTH = 8
MAX_TOTAL = 40_000
MARK = "…"


def _mark(cut: int) -> str:
    return f"{MARK} [+{cut}]"


@dataclass
class _Budget:
    left: int
    cut: bool = False


def _json_length(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str))


def _copy(value: Any, budget: _Budget, depth: int) -> Any:
    if isinstance(value, str):
        allowed = min(MAX_TEXT, max(budget.left, 0))
        if len(value) <= allowed:
            budget.left -= len(value)
            return value
        budget.cut = True
        budget.left -= allowed
        return value[:allowed] + (" " if allowed else "") + _mark(len(value) - allowed)
    if not isinstance(value, dict | list):
        budget.left -= 8  # a number, a boolean, null: small, but not free
        return value
    if depth >= MAX_DEPTH:
        budget.cut = True
        return _mark(_json_length(value))
    if isinstance(value, list):
        items = [_copy(item, budget, depth + 1) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            budget.cut = True
            items.append(_mark(len(value) - MAX_ITEMS))
        return items
    fields = {str(key): _copy(item, budget, depth + 1) for key, item in list(value.items())[:MAX_ITEMS]}
    if len(value) > MAX_ITEMS:
        budget.cut = True
        fields[MARK] = f"+{len(value) - MAX_ITEMS}"
    return fields


def bounded(value: Any, total: int = MAX_TOTAL) -> tuple[Any, bool]:
    """A copy of `value` within the limits above, and whether anything was cut."""
    budget = _Budget(total)
    copy = _copy(value, budget, 0)
    return copy, budget.cut
