"""What JSON the runtime takes: how deeply it nests (checked without recursion), and no NUL.

Decoders (msgspec, the standard library, Pydantic) and everything that walks a value
afterwards (hashing, diffs, templates, response encoders) recurse once per level and fail
with `RecursionError` somewhere below 1000 levels. Flow documents and request bodies are
shallow (the deepest starter flow nests 13 levels), so the runtime refuses anything
deeper than `MAX_DEPTH` where JSON enters it: request bodies (`runtime.api.request`),
webhook deliveries, flow documents from any source, responses of HTTP connections.

    too_deep_text(raw)       for JSON text, before it is decoded
    too_deep_value(value)    for a decoded value (dicts, lists, tuples)
    refuse_unfit_json(raw)   400 `too_deeply_nested` for JSON text that is too deep, 400
                             `nul_character` for JSON text with a NUL character (`\u0000`)
                             in a string: PostgreSQL stores no NUL in text or jsonb, so it
                             would fail there as a 500, and SQLite would keep what
                             PostgreSQL cannot; the runtime refuses it on both
"""

from __future__ import annotations

import re
from typing import Any

from runtime.errors import BadRequest

MAX_DEPTH = 64

_OPENERS_TO_BRACKET = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_RUNS = re.compile(rb"\[+|\]+")
_OPEN = ord("[")


def too_deep_text(raw: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text opens more than `limit` arrays/objects inside each other.

    O(n), nearly all of it in C: escapes are dropped (in JSON a backslash occurs only in
    strings and escapes the one character after it), strings are cut out (between the
    quotes that are left, every other piece is inside a string), everything but brackets
    is deleted, the innermost `[]` pairs are removed while that shortens the text well
    (each time one level less), and the runs of brackets that are left are added up.
    Well-formed text is judged exactly; malformed text, which the decoder refuses anyway,
    may be judged too deep.
    """
    data = raw.encode() if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") <= limit:  # the common case: nothing to scan
        return False
    unescaped = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside_strings = b"".join(unescaped.split(b'"')[::2])
    brackets = outside_strings.translate(_OPENERS_TO_BRACKET, _NOT_BRACKETS)
    removed = 0
    # Each pass takes the leaves away (one level); passes go on while they shorten the
    # text by a tenth or more, so that few runs are left for the Python loop below.
    while brackets and removed < limit:
        inner = brackets.replace(b"[]", b"")
        removed += len(inner) < len(brackets)
        shortened_well = len(inner) * 10 <= len(brackets) * 9
        brackets = inner
        if not shortened_well:
            break
    depth = removed
    for run in _RUNS.findall(brackets):
        if run[0] == _OPEN:
            depth += len(run)
            if depth > limit:
                return True
        else:  # a closing bracket without an opening one counts as nothing (an upper bound)
            depth = max(depth - len(run), removed)
    return False


def too_deep_value(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a decoded value nests more than `limit` dicts/lists inside each other
    (walked level by level, never by recursion)."""
    depth, level = 0, [value]
    while True:
        containers = [item for item in level if isinstance(item, dict | list | tuple)]
        if not containers:
            return False
        depth += 1
        if depth > limit:
            return True
        level = []
        for item in containers:
            level.extend(item.values() if isinstance(item, dict) else item)


NUL_MESSAGE = "text may not contain the NUL character (U+0000)"


def refuse_unfit_json(raw: bytes) -> None:
    """400 if the JSON text `raw` nests more than `MAX_DEPTH` levels or holds a NUL character
    (see the module docstring)."""
    # `\u0000` is the only way JSON text carries a NUL (a raw one is invalid JSON). Checked
    # in bytes: after an escaped backslash (`\\u0000`, the text "\u0000") this refuses too much,
    # which is rare enough to leave.
    if b"\\u0000" in raw:
        raise BadRequest(NUL_MESSAGE, code="nul_character")
    if too_deep_text(raw):
        raise BadRequest(
            f"the JSON body nests arrays and objects more than {MAX_DEPTH} levels deep; "
            "flow documents and inputs need far fewer",
            code="too_deeply_nested",
            limit=MAX_DEPTH,
        )
