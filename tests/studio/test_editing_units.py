"""The editor's pure helpers (`studio.editing`, `studio.testrun`): no browser, no runtime."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio import editing, testrun


def flow() -> dict[str, Any]:
    return {
        "schema": "dirigent.flow/v1",
        "name": "Kette",
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "draft", "type": "llm", "config": {"prompt": "{{ inputs.q }}"}},
            {"id": "polish", "type": "template", "config": {"template": "{{ draft.text }} / {{ start.q }}"}},
            {"id": "end", "type": "output"},
        ],
        "edges": [
            {"from": "start", "to": "draft"},
            {"from": "draft", "to": "polish"},
            {"from": "polish", "to": "end"},
        ],
        "layout": {"draft": {"x": 300, "y": 100}, "polish": {"x": 600, "y": 100}},
    }


def test_the_history_keeps_the_newest_documents_only() -> None:
    stack: list[dict[str, Any]] = []
    for number in range(60):
        stack = editing.pushed(stack, {"n": number})
    assert len(stack) == editing.HISTORY_LIMIT
    assert stack[0] == {"n": 10} and stack[-1] == {"n": 59}


def test_paste_gives_new_ids_keeps_inner_edges_and_renames_inner_references() -> None:
    document = flow()
    clipboard = editing.copy_nodes(document, ["draft", "polish", "gone"])
    assert [node["id"] for node in clipboard["nodes"]] == ["draft", "polish"]
    assert clipboard["edges"] == [{"from": "draft", "to": "polish"}]

    pasted, new_ids = editing.paste_nodes(document, clipboard)
    assert new_ids == ["llm_1", "template_1"]
    assert [node["id"] for node in pasted["nodes"]][-2:] == new_ids
    assert {"from": "llm_1", "to": "template_1"} in pasted["edges"]
    assert len(pasted["edges"]) == 4  # edges to nodes outside the copy stay behind
    polish_copy = pasted["nodes"][-1]
    # A reference to a copied node follows the copy; one to a node left behind stays.
    assert polish_copy["config"]["template"] == "{{ llm_1.text }} / {{ start.q }}"
    assert pasted["layout"]["llm_1"] == {"x": 340, "y": 140}
    assert document == flow()  # the original is untouched

    again, more_ids = editing.paste_nodes(pasted, clipboard, times=2)
    assert more_ids == ["llm_2", "template_2"]
    assert again["layout"]["template_2"] == {"x": 680, "y": 180}


def test_a_selection_of_something_gone_is_dropped() -> None:
    document = flow()
    assert editing.still_there(document, "draft", "") == ("draft", "")
    assert editing.still_there(document, "deleted", "") == ("", "")
    assert editing.still_there(document, "", "draft->polish") == ("", "draft->polish")
    assert editing.still_there(document, "", "start->end") == ("", "")


def test_the_palette_search_finds_german_and_english_words() -> None:
    entry = {
        "search": "llm KI-Antwort LLM answer Schreibt mit einem Sprachmodell Writes with a language model"
    }
    assert editing.palette_matches(entry, "")
    assert editing.palette_matches(entry, "sprachmodell")
    assert editing.palette_matches(entry, "LANGUAGE model")
    assert not editing.palette_matches(entry, "Freigabe")
    assert editing.palette_matches({"search": "Straße"}, "strasse")


def test_streamed_events_become_steps() -> None:
    steps = testrun.with_tokens({}, {"draft": "Guten "})
    steps = testrun.with_tokens(steps, {"draft": "Tag"})
    assert steps == {"draft": {"status": "running", "text": "Guten Tag"}}
    steps = testrun.with_step(
        steps,
        {
            "node": "draft",
            "status": "succeeded",
            "duration_ms": 12,
            "usage": {"prompt_tokens": 3, "completion_tokens": 2},
        },
    )
    assert steps["draft"] == {"status": "succeeded", "text": "Guten Tag", "duration_ms": 12, "tokens": 5}
    assert testrun.outputs_text({"a": 1, "b": "x"}) == "a: 1\nb: x"
    details = testrun.step_details(
        {
            "steps": [
                {
                    "node_id": "draft",
                    "node_type": "llm",
                    "status": "succeeded",
                    "duration_ms": 1.25,
                    "outputs": {"text": "Hi"},
                }
            ]
        }
    )
    assert details[0]["duration"] == "1.2 ms" and '"text": "Hi"' in details[0]["outputs"]
