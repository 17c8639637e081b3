"""`runtime.runs.bounded`: the trace's copies of step payloads stay small and say where they were cut."""

from __future__ import annotations

import json

from runtime.runs.bounded import MAX_DEPTH, MAX_ITEMS, MAX_TEXT, bounded


def test_small_values_are_copied_as_they_are() -> None:
    value = {"text": "Hallo", "documents": [{"source": "a.pdf", "score": 0.8}], "ok": True, "n": None}
    copy, cut = bounded(value)
    assert copy == value and cut is False
    copy["documents"].append("changed")
    assert value["documents"] == [{"source": "a.pdf", "score": 0.8}]  # a copy, not the stored value


def test_long_texts_many_items_and_many_fields_are_cut_with_a_marker() -> None:
    copy, cut = bounded({"prompt": "y" * (MAX_TEXT + 10)})
    assert cut is True and copy["prompt"] == "y" * MAX_TEXT + " … [+10]"
    copy, cut = bounded(list(range(MAX_ITEMS + 7)))
    assert cut is True and copy == [*range(MAX_ITEMS), "… [+7]"]
    copy, cut = bounded({f"k{i}": i for i in range(MAX_ITEMS + 3)})
    assert cut is True and len(copy) == MAX_ITEMS + 1 and copy["…"] == "+3"


def test_deep_nesting_and_the_whole_budget_are_bounded() -> None:
    deep: object = "end"
    for _ in range(MAX_DEPTH + 2):
        deep = {"inner": deep}
    copy, cut = bounded(deep)
    assert cut is True and "… [+" in json.dumps(copy, ensure_ascii=False)
    many = [{"text": "z" * 3000} for _ in range(40)]  # 120,000 characters in all
    copy, cut = bounded(many, total=10_000)
    assert cut is True and len(copy) == 40
    assert len(json.dumps(copy, ensure_ascii=False)) < 12_000
    assert copy[-1]["text"] == "… [+3000]"
