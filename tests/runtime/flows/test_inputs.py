"""Flow inputs as end users see them: `title`, `description`, `enum`, `default`.

The new fields are checked (choices of the input's type, a default that fits), applied by
the engine (defaults; a value outside the choices is refused), and change the content hash
only when they are set: documents written before them keep their hashes.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from runtime.engine.document import FlowDocument, content_hash
from runtime.engine.inputs import prepare_inputs
from runtime.engine.validation import validate_document
from runtime.errors import BadRequest


def _document(**inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": "dirigent.flow/v1",
        "name": "Anfrage",
        "inputs": inputs
        or {
            "question": {"type": "string", "required": True, "description": "Ihre Frage"},
            "amount": {"type": "number", "default": 100},
            "urgent": {"type": "boolean"},
        },
        "nodes": [
            {"id": "start", "type": "input"},
            {
                "id": "greet",
                "type": "template",
                "config": {"template": "{{ inputs.question }} {{ inputs.amount }}"},
            },
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "greet"}, {"from": "greet", "to": "end"}],
        "outputs": {"text": "{{ greet.text }}"},
    }


# The hash of `_document()` before inputs had titles and choices (computed with that code).
HASH_BEFORE_TITLES_AND_CHOICES = "5e28fabe6450324ee1fd2f187d4e3be9e29547a9ee204f32d3960973fa5a13e1"


def _hash(document: dict[str, Any]) -> str:
    report = validate_document(document)
    assert report.valid, report.errors
    assert report.content_hash is not None
    return report.content_hash


def test_documents_without_the_new_fields_keep_their_hash() -> None:
    assert _hash(_document()) == HASH_BEFORE_TITLES_AND_CHOICES
    spelled_out = _document()
    for spec in spelled_out["inputs"].values():
        spec.update({"title": "", "enum": None})
    assert _hash(spelled_out) == HASH_BEFORE_TITLES_AND_CHOICES
    parsed = FlowDocument.model_validate(_document())
    assert "title" not in parsed.as_json()["inputs"]["question"]
    assert "enum" not in parsed.as_json()["inputs"]["question"]
    assert content_hash(parsed.as_json()) == content_hash(parsed) == HASH_BEFORE_TITLES_AND_CHOICES


CHANGES = {
    "title": ("question", "title", "Ihre Frage an uns"),
    "description": ("question", "description", "Was möchten Sie wissen?"),
    "choices": ("question", "enum", ["Lieferung", "Rechnung"]),
    "default": ("amount", "default", 250),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_setting_a_field_changes_the_hash(change: tuple[str, str, Any]) -> None:
    name, field, value = change
    changed = copy.deepcopy(_document())
    changed["inputs"][name][field] = value
    assert _hash(changed) != HASH_BEFORE_TITLES_AND_CHOICES
    stored = validate_document(changed).document
    assert stored is not None and stored.as_json()["inputs"][name][field] == value


PROBLEMS = {
    "a choice of another type": (
        {"type": "integer", "enum": [1, "zwei"]},
        "inputs.x.enum",
        "is not of the input's type integer",
    ),
    "choices for an object": ({"type": "object", "enum": [{}]}, "inputs.x.enum", "choices (enum) are for"),
    "choices for yes/no": ({"type": "boolean", "enum": [True]}, "inputs.x.enum", "choices (enum) are for"),
    "no choices at all": ({"type": "string", "enum": []}, "inputs.x.enum", "at least 1"),
    "a repeated choice": ({"type": "string", "enum": ["a", "a"]}, "inputs.x.enum", "repeat"),
    "a default of another type": ({"type": "number", "default": "viel"}, "inputs.x.default", "type number"),
    "a bool default for a number": ({"type": "integer", "default": True}, "inputs.x.default", "type integer"),
    "a default outside the choices": (
        {"type": "string", "enum": ["rot", "grün"], "default": "blau"},
        "inputs.x.default",
        "not one of the choices",
    ),
}


@pytest.mark.parametrize("case", PROBLEMS.values(), ids=PROBLEMS.keys())
def test_choices_and_defaults_must_fit(case: tuple[dict[str, Any], str, str]) -> None:
    spec, field, words = case
    report = validate_document(_document(x=spec))
    assert not report.valid
    assert any(error["field"] == field and words in error["message"] for error in report.errors), (
        report.errors
    )


def test_the_engine_applies_defaults_and_refuses_what_is_not_a_choice() -> None:
    document = FlowDocument.model_validate(
        _document(
            question={"type": "string", "required": True, "title": "Frage"},
            topic={"type": "string", "enum": ["Lieferung", "Rechnung"], "default": "Lieferung"},
            amount={"type": "number", "default": 100},
            size={"type": "integer", "enum": [1, 2, 3]},
        )
    )
    assert prepare_inputs(document, {"question": "Wann?"}) == {
        "question": "Wann?",
        "topic": "Lieferung",
        "amount": 100,
        "size": None,
    }
    assert (
        prepare_inputs(document, {"question": "Wann?", "topic": "Rechnung", "size": 2})["topic"] == "Rechnung"
    )
    with pytest.raises(BadRequest) as refused:
        prepare_inputs(document, {"question": "Wann?", "topic": "Urlaub", "size": 4})
    assert refused.value.code == "invalid_inputs"
    fields = {problem["field"]: problem["message"] for problem in refused.value.extra["errors"]}
    assert fields == {
        "inputs.topic": "'topic' must be one of 'Lieferung', 'Rechnung', not 'Urlaub'",
        "inputs.size": "'size' must be one of 1, 2, 3, not 4",
    }
