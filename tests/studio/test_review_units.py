"""What the board reads in a version diff, without a browser: prompts as lines (never `\\n`
escapes), fields titled from the node types' schemas in the UI language, values as text or
definition lists (never JSON), the card with its labels, what a version uses.

The diffs here are the runtime's own (`runtime.flows.diff.version_diff`), so the studio is
tested against the answer it really gets."""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.diffview import diff_rows, sides, value_text
from studio.linediff import MAX_LINES, line_diff
from studio.uses_view import uses_view
from studio.version_diff import build_diff_view, card_rows, field_title

from nodes.registry import DEFAULT_REGISTRY
from runtime.flows.diff import version_diff

TYPES = {name: node.describe() for name, node in DEFAULT_REGISTRY.items()}
PROMPT = "Du bist die Personalabteilung.\nAntworte kurz.\nFrage: {{ inputs.question }}"

LIVE: dict[str, Any] = {
    "schema": "dirigent.flow/v1",
    "name": "Urlaub",
    "inputs": {"question": {"type": "string", "required": True}},
    "nodes": [
        {"id": "start", "type": "input"},
        {"id": "answer", "type": "llm", "title": "Antwort", "config": {"prompt": PROMPT, "temperature": 0.2}},
        {"id": "old_note", "type": "template", "config": {"template": "Notiz"}},
        {"id": "end", "type": "output"},
    ],
    "edges": [
        {"from": "start", "to": "answer"},
        {"from": "answer", "to": "old_note"},
        {"from": "old_note", "to": "end"},
    ],
    "outputs": {"answer": "{{ answer.text }}"},
    "card": {
        "purpose": "Beantwortet Urlaubsfragen.",
        "risk": "limited",
        "owner": "HR",
        "data_sources": ["Urlaubsrichtlinie"],
        "thresholds": {"min_confidence": 0.7},
    },
}


def submitted() -> dict[str, Any]:
    doc = copy.deepcopy(LIVE)
    answer = doc["nodes"][1]["config"]
    answer["prompt"] = PROMPT + "\nNenne immer die Frist."
    answer["temperature"] = 0.0
    answer["json_schema"] = {"type": "object", "properties": {"frist": {"type": "string"}}}
    doc["nodes"][2] = {
        "id": "crm",
        "type": "connector",
        "title": "CRM-Notiz",
        "config": {
            "connection": "crm",
            "action": "create_note",
            "method": "POST",
            "query": {"kunde": "{{ inputs.question }}"},
        },
    }
    doc["edges"] = [
        {"from": "start", "to": "answer"},
        {"from": "answer", "to": "crm"},
        {"from": "crm", "to": "end"},
    ]
    doc["card"]["purpose"] = "Beantwortet Urlaubsfragen und nennt Fristen."
    doc["card"]["risk"] = "high"
    doc["inputs"]["question"]["title"] = "Ihre Frage"
    return doc


def diff_of(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    return version_diff(old, new, 1 if old else None, 2).model_dump(mode="json")


def texts_of(value: Any) -> list[str]:
    """Every string a view holds (what the page can show)."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in texts_of(item)]
    if isinstance(value, list):
        return [text for item in value for text in texts_of(item)]
    return [value] if isinstance(value, str) else []


# -- line diff ------------------------------------------------------------------------------------
def test_a_prompt_change_is_lines_added_and_removed_never_escapes() -> None:
    lines = line_diff(PROMPT, PROMPT.replace("Antworte kurz.", "Antworte ausführlich.") + "\nDanke.")
    assert [(line.kind, line.text) for line in lines] == [
        ("same", "Du bist die Personalabteilung."),
        ("removed", "Antworte kurz."),
        ("added", "Antworte ausführlich."),
        ("same", "Frage: {{ inputs.question }}"),
        ("added", "Danke."),
    ]
    assert [(line.old_no, line.new_no) for line in lines] == [
        ("1", "1"),
        ("2", ""),
        ("", "2"),
        ("3", "3"),
        ("", "4"),
    ]
    assert all("\n" not in line.text for line in lines)
    assert len({line.key for line in lines}) == len(lines)


def test_long_unchanged_stretches_become_gaps_and_nothing_changed_is_nothing() -> None:
    text = "\n".join(f"Regel {number}" for number in range(1, 31))
    lines = line_diff(text, text.replace("Regel 15", "Regel fünfzehn"))
    kinds = [line.kind for line in lines]
    assert kinds == ["gap", "same", "same", "same", "removed", "added", "same", "same", "same", "gap"]
    assert len({line.key for line in lines}) == len(lines)
    assert line_diff(text, text) == []
    assert line_diff(None, None) == []


def test_a_new_text_is_all_added_and_a_dropped_one_all_removed() -> None:
    assert [(line.kind, line.text) for line in line_diff(None, "a\n\nb")] == [
        ("added", "a"),
        ("added", ""),
        ("added", "b"),
    ]
    assert [line.kind for line in line_diff("a\nb", "")] == ["removed", "removed"]


def test_very_long_texts_are_compared_on_their_first_lines_only() -> None:
    old = "\n".join(str(number) for number in range(MAX_LINES + 500))
    lines = line_diff(old, "neu\n" + old)
    assert lines[0].kind == "added" and lines[0].text == "neu"
    assert lines[-1].kind == "gap"
    assert len(lines) < 10


# -- titles and values ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("node_type", "field", "german", "english"),
    [
        ("llm", "prompt", "Prompt", "Prompt"),
        ("llm", "system", "System-Prompt", "System"),
        ("llm", "temperature", "Kreativität", "Temperature"),
        ("llm", "max_tokens", "Höchstlänge (Tokens)", "Max Tokens"),
        ("retrieval", "query", "Suchanfrage", "Query"),
        ("connector", "query", "Abfrageparameter", "Query"),
        ("connector", "body", "Inhalt der Anfrage", "Body"),
        ("approval", "instructions", "Hinweise für die Entscheider", "Instructions"),
        ("llm", "timeout_s", "Zeitlimit (Sekunden)", "Timeout S"),
    ],
)
def test_field_titles_come_from_the_schema_in_the_ui_language(
    node_type: str, field: str, german: str, english: str
) -> None:
    schema = TYPES[node_type]["config_schema"]
    assert field_title(node_type, field, schema, "de") == german
    assert field_title(node_type, field, schema, "en") == english


def test_values_are_text_or_definition_lists_never_json() -> None:
    assert value_text(True, "de") == "Ja" and value_text(False, "en") == "No"
    assert value_text(2.0, "de") == "2" and value_text(0.25, "de") == "0.25"
    assert value_text(["role:hr", "user:kunz"], "de") == "role:hr, user:kunz"
    assert value_text(None, "de") == ""
    shown = sides({"type": "object", "properties": {"frist": {"type": "string"}}}, None, "de")
    assert shown["old"] == "" and shown["new"] == "" and shown["new_md"] == ""
    assert shown["old_md"].splitlines() == [
        "- **Type:** object",
        "- **Properties:**",
        "  - **Frist:**",
        "    - **Type:** string",
    ]


# -- the whole diff -------------------------------------------------------------------------------
def test_the_board_sees_each_block_by_its_change_with_titled_fields() -> None:
    view = build_diff_view(diff_of(LIVE, submitted()), submitted(), LIVE, TYPES, "de")
    statuses = {node["id"]: node["data"]["diff"] for node in view.canvas_nodes}
    assert statuses == {
        "start": "unchanged",
        "answer": "changed",
        "crm": "added",
        "end": "unchanged",
        "old_note": "removed",
    }
    assert {node["data"]["diffLabel"] for node in view.canvas_nodes if node["id"] == "old_note"} == {
        "entfernt"
    }
    assert [(item.status, item.count) for item in view.legend] == [
        ("added", 1),
        ("changed", 1),
        ("removed", 1),
        ("unchanged", 2),
    ]
    edges = {edge["id"]: edge["data"]["diff"] for edge in view.canvas_edges}
    assert edges == {
        "start->answer": "unchanged",
        "answer->crm": "added",
        "crm->end": "added",
        "answer->old_note": "removed",
        "old_note->end": "removed",
    }

    assert [(node.id, node.status, node.title, node.type_title) for node in view.nodes] == [
        ("answer", "changed", "Antwort", "Sprachmodell"),
        ("crm", "added", "CRM-Notiz", "Verbindung"),
        ("old_note", "removed", "old_note", "Textvorlage"),
    ]
    answer = {field.title: field for field in view.nodes[0].fields}
    assert list(answer) == ["Prompt", "Kreativität", "JSON-Schema"]
    prompt = answer["Prompt"]
    assert [(line.kind, line.text) for line in prompt.lines if line.kind != "same"] == [
        ("added", "Nenne immer die Frist.")
    ]
    assert (answer["Kreativität"].old, answer["Kreativität"].new) == ("0.2", "0")
    assert answer["JSON-Schema"].status == "added" and "**Type:** object" in answer["JSON-Schema"].new_md
    crm = {field.title: field for field in view.nodes[1].fields}
    assert crm["Verbindung"].new == "crm" and crm["HTTP-Methode"].new == "POST"
    assert crm["Abfrageparameter"].new_md == "- **Kunde:** {{ inputs.question }}"
    assert view.nodes[2].fields[0].lines[0].kind == "removed"

    english = build_diff_view(diff_of(LIVE, submitted()), submitted(), LIVE, TYPES, "en")
    assert [field.title for field in english.nodes[0].fields] == ["Prompt", "Temperature", "Json Schema"]
    assert english.nodes[0].type_title == "LLM" and english.legend[0].label == "added"


def test_the_card_has_labels_in_the_ui_language_and_its_changes_marked() -> None:
    rows = {row.key: row for row in card_rows(submitted()["card"], LIVE["card"], "de")}
    assert [row.label for row in rows.values()] == [
        "Zweck",
        "Datenquellen",
        "Risiko",
        "Verantwortlich",
        "Schwellenwerte",
    ]
    assert rows["purpose"].status == "changed"
    assert (rows["purpose"].old, rows["purpose"].new) == (
        "Beantwortet Urlaubsfragen.",
        "Beantwortet Urlaubsfragen und nennt Fristen.",
    )
    assert (rows["risk"].old, rows["risk"].new) == ("begrenzt", "hoch (zwei Freigaben nötig)")
    assert rows["owner"].status == "same" and rows["owner"].new == "HR" and rows["owner"].old == ""
    assert rows["thresholds"].new_md == "- **Min confidence:** 0.7"
    english = card_rows(submitted()["card"], LIVE["card"], "en")
    assert [row.label for row in english][:3] == ["Purpose", "Data sources", "Risk"]
    # The first version has nothing to compare with: its card is shown, nothing marked.
    assert {row.status for row in card_rows(LIVE["card"], None, "de")} == {"same"}


def test_the_first_version_shows_everything_as_new() -> None:
    view = build_diff_view(diff_of(None, LIVE), LIVE, None, TYPES, "de")
    assert view.first and view.changed
    assert {node["data"]["diff"] for node in view.canvas_nodes} == {"added"}
    assert [node.id for node in view.nodes] == ["start", "answer", "old_note", "end"]
    prompt = view.nodes[1].fields[0]
    assert prompt.title == "Prompt" and [line.text for line in prompt.lines] == PROMPT.splitlines()


def test_nothing_in_the_view_is_json_or_an_escaped_newline() -> None:
    view = build_diff_view(diff_of(LIVE, submitted()), submitted(), LIVE, TYPES, "de")
    shown = [text for text in texts_of(asdict(view)) if text]
    assert not [text for text in shown if '{"' in text or "\\n" in text]
    # Real line breaks only inside Markdown (lists), never in a line of a text diff.
    assert all("\n" not in line.text for node in view.nodes for field in node.fields for line in field.lines)


def test_the_smaller_sections_are_rows_keyed_and_in_words() -> None:
    rows = diff_rows(diff_of(LIVE, submitted()), "de")
    assert len({row["key"] for row in rows}) == len(rows)
    labels = [(row["kind"], row["label"]) for row in rows]
    assert ("section", "Verknüpfungen der Bausteine") in labels
    assert ("added", "answer → crm") in labels and ("removed", "old_note → end") in labels
    question = next(row for row in rows if row["label"] == "Eingabe: question")
    assert question["kind"] == "changed"
    assert "- **Title:** Ihre Frage" in question["new_md"] and "{" not in question["new_md"]


# -- what a version uses --------------------------------------------------------------------------
def test_connections_say_what_they_do_in_production() -> None:
    uses = {
        "connections": [
            {
                "name": "crm",
                "exists": True,
                "kind": "http",
                "host": "crm.intern",
                "actions": ["create_note"],
                "nodes": ["crm"],
                "side_effects": True,
                "has_test_target": False,
                "touches_production": True,
            },
            {
                "name": "alt",
                "exists": False,
                "kind": None,
                "host": None,
                "actions": ["read"],
                "nodes": ["x"],
                "side_effects": False,
                "has_test_target": False,
                "touches_production": False,
            },
        ],
        "indexes": [
            {"name": "richtlinien", "exists": True, "backend": "embedded", "documents": 3, "nodes": ["find"]}
        ],
        "models": [
            {
                "name": "default",
                "exists": True,
                "host": "llm.intern",
                "served_model": "tgi",
                "nodes": ["answer", "sort"],
            }
        ],
    }
    view = uses_view(uses, "de")
    crm, alt = view.connections
    assert (crm.kind, crm.effect, crm.touches_production, crm.actions) == (
        "HTTP/REST",
        "ändert Daten",
        True,
        "create_note",
    )
    assert crm.test_target.startswith("keins")
    assert (alt.exists, alt.effect, alt.touches_production) == (False, "liest nur", False)
    assert view.indexes[0].documents == "3" and view.models[0].nodes == "answer, sort"
    assert uses_view(uses, "en").connections[0].effect == "changes data"
    assert uses_view(None, "de").failed
    assert not [text for text in texts_of(asdict(view)) if "{" in text or "[" in text]


def test_the_view_is_plain_data_the_page_can_hold() -> None:
    view = build_diff_view(diff_of(LIVE, submitted()), submitted(), LIVE, TYPES, "de")
    assert json.loads(json.dumps(asdict(view))) == asdict(view)
