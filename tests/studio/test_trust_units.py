"""What end users read, without a browser: outputs by type (never JSON), sources grouped by
document, the inputs form (titles, hints, widgets, defaults) and its values back, and the
editor's edits of an input's spec."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.chat_view import (
    InputProblem,
    input_fields,
    main_input,
    outputs_markdown,
    parse_inputs,
    source_groups,
)
from studio.input_specs import edit_input_spec, spec_form

from studio import i18n


# -- outputs ------------------------------------------------------------------------------------
def test_a_text_output_is_shown_as_it_is() -> None:
    text = "Kurz gesagt: ja.\n\nHinweis: Diese Auskunft ist unverbindlich."
    assert outputs_markdown({"answer": text}) == text


def test_objects_become_lists_and_records_tables_never_json() -> None:
    plan = {"woche_1": ["Laptop abholen", "Zugänge"], "mentor": "Frau Kunz", "remote": True, "tage": 3}
    shown = outputs_markdown({"plan": plan})
    assert shown.splitlines() == [
        "- **Woche 1:**",
        "  - Laptop abholen",
        "  - Zugänge",
        "- **Mentor:** Frau Kunz",
        "- **Remote:** \u2713",
        "- **Tage:** 3",
    ]
    table = outputs_markdown(
        {"rows": [{"name": "Kunz", "betrag": 120.0}, {"name": "We|ber", "betrag": None}]}
    )
    assert table.splitlines() == [
        "| name | betrag |",
        "| --- | --- |",
        "| Kunz | 120 |",
        "| We\\|ber | \u2013 |",
    ]
    for shown in (outputs_markdown({"plan": plan}), table, outputs_markdown([{"a": {"b": [1, 2]}}])):
        assert "{" not in shown and '"' not in shown


def test_several_outputs_put_the_answer_first_and_label_the_rest() -> None:
    shown = outputs_markdown({"decision": "approved", "result": "Freigegeben und versendet.", "n": 2})
    assert shown == "Freigegeben und versendet.\n\n- **Decision:** approved\n- **N:** 2"
    assert outputs_markdown(None) == "" and outputs_markdown({}) == ""


# -- sources ------------------------------------------------------------------------------------
def test_sources_are_grouped_by_document_with_their_passages() -> None:
    def passage(doc: str, chunk: str, score: float, page: int | None = None, section: str = "") -> dict:
        return {
            "document_id": doc,
            "chunk_id": chunk,
            "source": f"{doc}.pdf",
            "text": f"Text  von\n{chunk}",
            "score": score,
            "page": page,
            "section": section,
        }

    run = {
        "steps": [
            {"node_type": "llm", "outputs": {"documents": [passage("x", "x1", 1.0)]}},
            {
                "node_type": "retrieval",
                "outputs": {
                    "documents": [
                        passage("reise", "r1", 0.91, 3, "Hotel"),
                        passage("urlaub", "u1", 0.5),
                        passage("reise", "r2", 0.4, 4),
                    ]
                },
            },
            {"node_type": "retrieval", "outputs": {"documents": [passage("reise", "r1", 0.95, 3, "Hotel")]}},
        ]
    }
    groups = source_groups(run, "Seite")
    assert [(group.source, [p.chunk_id for p in group.passages]) for group in groups] == [
        ("reise.pdf", ["r1", "r2"]),
        ("urlaub.pdf", ["u1"]),
    ]
    first = groups[0].passages[0]
    assert (first.where, first.text, first.score) == ("Seite 3 · Hotel", "Text von r1", "0.95")
    assert groups[0].document_id == "reise" and groups[1].passages[0].where == ""
    assert [group.count for group in groups] == ["2 Textstellen", "1 Textstelle"]


def test_the_passages_an_agent_found_are_sources_too() -> None:
    found = {
        "document_id": "urlaub",
        "chunk_id": "u1",
        "source": "urlaub.txt",
        "text": "30 Tage",
        "score": 0.8,
    }
    run = {"steps": [{"node_type": "agent", "outputs": {"sources": [found]}}]}
    [group] = source_groups(run, "Seite")
    assert (group.source, [p.chunk_id for p in group.passages]) == ("urlaub.txt", ["u1"])


# -- the inputs form ------------------------------------------------------------------------------
INPUTS = {
    "topic": {"type": "string", "enum": ["Lieferung", "Rechnung"], "default": "Lieferung", "title": "Thema"},
    "question": {"type": "string", "required": True, "description": "Ihre Frage"},
    "amount": {"type": "number", "title": "Betrag in €", "default": 100},
    "count": {"type": "integer"},
    "urgent": {"type": "boolean", "default": False},
    "details": {"type": "string", "description": "Was noch wichtig ist"},
    "extra": {"type": "object"},
}


def test_fields_carry_titles_hints_required_widgets_and_defaults() -> None:
    assert main_input(INPUTS) == "question"  # the first required text input without choices
    fields = {field.name: field for field in input_fields(INPUTS, skip="question")}
    assert list(fields) == ["topic", "amount", "count", "urgent", "details", "extra"]
    assert (fields["topic"].label, fields["topic"].widget, fields["topic"].choices) == (
        "Thema",
        "select",
        ["Lieferung", "Rechnung"],
    )
    assert fields["topic"].default == "Lieferung"
    assert (fields["amount"].widget, fields["amount"].default, fields["amount"].label) == (
        "number",
        "100",
        "Betrag in €",
    )
    assert fields["urgent"].widget == "switch" and fields["urgent"].default == "false"
    assert (fields["details"].widget, fields["details"].hint, fields["details"].label) == (
        "text",
        "Was noch wichtig ist",
        "details",
    )
    assert fields["extra"].widget == "json"
    required = input_fields(INPUTS)
    assert [field.name for field in required if field.required] == ["question"]
    assert main_input({"choice": {"type": "string", "enum": ["a"]}}) == ""


def test_values_are_sent_in_their_types_and_empty_ones_left_out() -> None:
    values = {
        "topic": "Rechnung",
        "amount": "12,5",
        "count": "3",
        "urgent": "true",
        "details": "",
        "extra": '{"a": 1}',
    }
    assert parse_inputs(INPUTS, values) == {
        "topic": "Rechnung",
        "amount": 12.5,
        "count": 3,
        "urgent": True,
        "extra": {"a": 1},
    }
    numbers = {"size": {"type": "integer", "enum": [1, 2]}}
    assert parse_inputs(numbers, {"size": "2"}) == {"size": 2}


@pytest.mark.parametrize(
    ("values", "name", "key"),
    [
        ({"topic": "Urlaub"}, "topic", "input_not_a_choice"),
        ({"amount": "viel"}, "amount", "input_not_a_number"),
        ({"count": "2.5"}, "count", "input_not_an_integer"),
        ({"extra": "[1]"}, "extra", "input_not_json"),
    ],
)
def test_a_value_that_does_not_fit_names_its_field(values: dict[str, str], name: str, key: str) -> None:
    with pytest.raises(InputProblem) as problem:
        parse_inputs(INPUTS, values)
    assert (problem.value.name, problem.value.key) == (name, key)
    assert all("{label}" in text for text in i18n.text_pair(key))


# -- the editor's inputs panel ---------------------------------------------------------------------
def test_the_panel_edits_title_choices_and_default_and_removes_what_is_emptied() -> None:
    spec = {"type": "string", "required": True, "description": ""}
    assert spec_form(spec) == {"type": "string", "title": "", "description": "", "enum": "", "default": ""}
    titled = edit_input_spec(spec, "title", "  Ihre Frage ")
    assert titled == {**spec, "title": "Ihre Frage"}
    chosen = edit_input_spec(titled, "enum", "Lieferung\n\n Rechnung \n")
    assert chosen["enum"] == ["Lieferung", "Rechnung"]
    assert edit_input_spec(chosen, "default", "Rechnung")["default"] == "Rechnung"
    assert edit_input_spec(chosen, "enum", "") == titled
    assert edit_input_spec(titled, "title", "") == spec  # back to the spec without a title

    number = edit_input_spec({"type": "string", "enum": ["1", "2"], "default": "2"}, "type", "integer")
    assert number == {"type": "integer", "enum": [1, 2], "default": 2}
    flag = edit_input_spec(number, "type", "boolean")
    assert flag == {"type": "boolean", "default": "2"}  # left as typed: the runtime names the field
    assert edit_input_spec({"type": "number"}, "default", "0,5") == {"type": "number", "default": 0.5}
    assert edit_input_spec({"type": "boolean"}, "default", "ja") == {"type": "boolean", "default": True}
    assert spec_form({"type": "integer", "enum": [1, 2], "default": 2})["enum"] == "1\n2"
