"""`runtime.json_limits`: how deeply JSON nests, judged exactly for well-formed text, without
recursion, and cheaply (the check runs on every JSON request body)."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest

from runtime.errors import BadRequest
from runtime.json_limits import MAX_DEPTH, refuse_unfit_json, too_deep_text, too_deep_value


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(item) for item in value), default=0)
    return 0


def spine(depth: int, rng: random.Random) -> Any:
    """A value exactly `depth` deep: a spine of lists and objects with shallow side branches
    and strings full of brackets, quotes and backslashes."""
    tricky = ["[", "]]", '{"', '\\"[', "\\\\", '\\\\"', "x]}"]
    value: Any = rng.choice(tricky)
    for _ in range(depth):
        side = [rng.choice([[], {}, "[[", ["]"], {"{": "}"}]) for _ in range(rng.randint(0, 2))]
        value = rng.choice([[*side, value], {"a[": side, rng.choice(tricky): value}])
    return value


@pytest.mark.parametrize("seed", range(20))
def test_the_depth_of_well_formed_json_is_judged_exactly(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(20):
        value = spine(rng.randint(1, 90), rng)
        depth = depth_of(value)
        text = json.dumps(value)
        for limit in {depth - 1, depth, MAX_DEPTH, 3}:
            assert too_deep_text(text, limit) is (depth > limit), (depth, limit, text[:200])
            assert too_deep_value(value, limit) is (depth > limit), (depth, limit)


def test_far_too_deep_text_and_values_are_judged_without_recursion() -> None:
    text = "[" * 100_000 + "]" * 100_000
    assert too_deep_text(text) and too_deep_text(text.encode())
    value: Any = 0
    for _ in range(100_000):
        value = [value]
    assert too_deep_value(value)


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ('{"a": "' + "[" * 1000 + '"}', False),  # brackets in a string do not count
        ('["\\"' + "[" * 1000 + '"]', False),  # nor after an escaped quote
        ('["\\\\"' + ", []" * 10 + "]", False),  # an escaped backslash ends no string early
        ("[" * (MAX_DEPTH + 1), True),  # opened and never closed: a decoder would descend
        ("[" * MAX_DEPTH, False),
        ("]" * 1000, False),  # malformed, but shallow: the decoder refuses it
        ("", False),
        ("42", False),
    ],
)
def test_strings_escapes_and_malformed_text(text: str, deep: bool) -> None:
    assert too_deep_text(text) is deep


def test_a_nul_character_in_a_string_is_refused() -> None:
    with pytest.raises(BadRequest) as refused:
        refuse_unfit_json(b'{"name": "Ada\\u0000"}')
    assert refused.value.code == "nul_character"
    refuse_unfit_json(b'{"name": "Ada\\u0001"}')


def test_a_refusal_names_the_limit() -> None:
    refuse_unfit_json(b'{"a": [1, 2, {"b": null}]}')
    with pytest.raises(BadRequest) as refused:
        refuse_unfit_json(b"[" * 100 + b"]" * 100)
    assert refused.value.code == "too_deeply_nested" and refused.value.extra == {"limit": MAX_DEPTH}


def test_two_mebibytes_are_checked_in_well_under_a_second() -> None:
    """The bodies the API takes (at most 2 MiB), shaped to make the check work hardest: many
    strings, and many groups just shallow enough to need every removal pass."""
    shapes = [
        json.dumps([{"a": [1, {"b": "[c"}], "d": "]" * 10} for _ in range(40_000)]).encode(),
        b"[" + b",".join([b"[" * 63 + b"]" * 63] * 16_000) + b"]",
        b"[" + b",".join([b"[" * 5 + b"]" * 5] * 190_000) + b"]",
    ]
    for body in shapes:
        assert len(body) <= 2 * 1024 * 1024 + 1024
        started = time.perf_counter()
        assert not too_deep_text(body)
        assert time.perf_counter() - started < 1.0
