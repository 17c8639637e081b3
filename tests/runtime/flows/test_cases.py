"""Test cases in the flow document: the model, the checks against the flow, the content hash.

Every bad case is an error like any other flow error: no node, the case's path as field."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from runtime.engine.document import FlowDocument, content_hash
from runtime.engine.validation import validate_document
from tests.support.scenario import approval_flow, qa_flow

APPROVE = {"decision": "approve"}
ANSWER_IS = {"check": "equals", "output": "answer", "value": "Morgen."}


def qa(*cases: dict[str, Any]) -> dict[str, Any]:
    document = qa_flow()
    document["tests"] = list(cases)
    return document


def routed(*cases: dict[str, Any]) -> dict[str, Any]:
    """input → llm → router (high/low) → template (high) / connector (low) → output."""
    document = qa_flow()
    document["nodes"][2:2] = [
        {
            "id": "route",
            "type": "router",
            "config": {"condition": "'high' if answer.text else 'low'", "branches": ["high", "low"]},
        },
        {"id": "note", "type": "template", "config": {"template": "{{ answer.text }}"}},
        {"id": "send", "type": "connector", "config": {"connection": "crm", "action": "notify"}},
    ]
    document["edges"] = [
        {"from": "start", "to": "answer"},
        {"from": "answer", "to": "route"},
        {"from": "route", "to": "note", "when": "high"},
        {"from": "route", "to": "send", "when": "low"},
        {"from": "note", "to": "end"},
        {"from": "send", "to": "end"},
    ]
    document["tests"] = list(cases)
    return document


def case(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "c", "inputs": {"question": "?"}, "expect": [ANSWER_IS]}
    return {**base, **fields}


def errors_of(document: dict[str, Any]) -> list[tuple[str | None, str | None, str]]:
    report = validate_document(document)
    assert not report.valid and report.content_hash is None
    return [(error["node"], error["field"], error["message"]) for error in report.errors]


# -- valid cases and the hash -----------------------------------------------------------
def test_every_kind_of_check_validates() -> None:
    document = routed(
        case(
            name="alle Prüfungen",
            description="jede Art einmal",
            fixed={"answer": {"text": "Morgen.", "usage": {"total_tokens": 3}}, "send": {"status": 200}},
            expect=[
                ANSWER_IS,
                {"check": "equals", "node": "answer", "field": "json", "value": None},
                {"check": "contains", "output": "answer", "value": "Morg"},
                {"check": "regex", "output": "answer", "value": "^Mor+gen\\.$"},
                {
                    "check": "json_schema",
                    "node": "answer",
                    "field": "usage",
                    "value": {"type": "object", "required": ["total_tokens"]},
                },
                {"check": "branch", "node": "route", "value": "high"},
                {"check": "no_connector_call"},
                {"check": "no_connector_call", "node": "send"},
                {"check": "max_duration_ms", "value": 2000},
                {"check": "status", "value": "succeeded"},
            ],
        )
    )
    report = validate_document(document)
    assert report.valid, report.errors
    assert report.document is not None and report.document.tests[0].expect[4].check == "json_schema"
    approval = approval_flow()
    approval["tests"][0]["decisions"] = {
        "check": {"decision": "reject", "comment": "nein", "payload": {"a": 1}}
    }
    approval["tests"][0]["expect"].append({"check": "approval_raised", "node": "check"})
    assert validate_document(approval).valid


def test_documents_without_cases_keep_their_hash_and_shape() -> None:
    document = qa_flow()
    del document["tests"]
    parsed = FlowDocument.model_validate(document)
    # The canonical JSON as it was before documents had test cases.
    dumped = parsed.model_dump(mode="json", by_alias=True)
    fields = {key: value for key, value in dumped.items() if key not in ("layout", "tests")}
    for spec in fields["inputs"].values():  # nor titles and choices of inputs (added later, unset here)
        del spec["title"], spec["enum"]
    before = hashlib.sha256(
        json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert "tests" not in parsed.as_json()
    assert content_hash(parsed) == content_hash(parsed.as_json()) == before
    assert validate_document({**document, "tests": []}).content_hash == before


def test_cases_are_part_of_the_hash() -> None:
    first = validate_document(qa_flow()).content_hash
    changed = qa_flow()
    changed["tests"][0]["expect"][0]["value"] = "Übermorgen."
    assert validate_document(changed).content_hash not in (None, first)
    moved = qa_flow()
    moved["layout"] = {"answer": {"x": 5, "y": 5}}
    assert validate_document(moved).content_hash == first


# -- bad cases, one problem each -------------------------------------------------------
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("name missing", {"name": None}, "tests[0].name", "Field required"),
    ("name empty", {"name": ""}, "tests[0].name", "at least 1 character"),
    ("name too long", {"name": "x" * 121}, "tests[0].name", "at most 120 characters"),
    ("unknown field", {"mode": "fixed"}, "tests[0].mode", "Extra inputs are not permitted"),
    ("no assertions", {"expect": []}, "tests[0].expect", "at least 1 item"),
    ("missing input", {"inputs": {}}, "tests[0].inputs.question", "'question' is required (string)"),
    (
        "unknown input",
        {"inputs": {"question": "?", "frage": 1}},
        "tests[0].inputs.frage",
        "'frage' is not an input of this flow (inputs: question)",
    ),
    (
        "input of the wrong type",
        {"inputs": {"question": 3}},
        "tests[0].inputs.question",
        "'question' must be of type string, got int",
    ),
    (
        "fixed is not an object of objects",
        {"fixed": {"answer": "Morgen."}},
        "tests[0].fixed.answer",
        "valid dictionary",
    ),
    (
        "fixed unknown node",
        {"fixed": {"antwort": {"text": "?"}}},
        "tests[0].fixed.antwort",
        "'antwort' is not a node of this flow (nodes: start, answer, end)",
    ),
    (
        "fixed undeclared output",
        {"fixed": {"answer": {"txt": "?"}}},
        "tests[0].fixed.answer.txt",
        "'answer' (llm) has no output 'txt'; its outputs: text, json, usage",
    ),
    (
        "fixed input node",
        {"fixed": {"start": {"question": "?"}}},
        "tests[0].fixed.start",
        "give the case's inputs instead",
    ),
    (
        "decision on a non-approval node",
        {"decisions": {"answer": APPROVE}},
        "tests[0].decisions.answer",
        "'answer' is a llm node; decisions are for approval nodes",
    ),
    (
        "decision on an unknown node",
        {"decisions": {"check": APPROVE}},
        "tests[0].decisions.check",
        "'check' is not a node of this flow",
    ),
    (
        "decision that is neither",
        {"decisions": {"answer": {"decision": "maybe"}}},
        "tests[0].decisions.answer.decision",
        "'approve' or 'reject'",
    ),
    (
        "unknown check",
        {"expect": [{"check": "similar", "output": "answer"}]},
        "tests[0].expect[0]",
        "unknown check 'similar'; checks: equals, contains, regex",
    ),
    (
        "no check",
        {"expect": [{"output": "answer", "value": 1}]},
        "tests[0].expect[0]",
        "an assertion needs 'check'",
    ),
    (
        "value check without a target",
        {"expect": [{"check": "equals", "value": 1}]},
        "tests[0].expect[0]",
        "either 'output' (a flow output) or 'node' and 'field'",
    ),
    (
        "value check with both targets",
        {"expect": [{"check": "equals", "output": "answer", "node": "answer", "field": "text", "value": 1}]},
        "tests[0].expect[0]",
        "either 'output'",
    ),
    (
        "node without field",
        {"expect": [{"check": "contains", "node": "answer", "value": 1}]},
        "tests[0].expect[0]",
        "'node' and 'field'",
    ),
    (
        "equals without value",
        {"expect": [{"check": "equals", "output": "answer"}]},
        "tests[0].expect[0].value",
        "Field required",
    ),
    (
        "unknown flow output",
        {"expect": [{"check": "equals", "output": "antwort", "value": 1}]},
        "tests[0].expect[0].output",
        "'antwort' is not an output of this flow (outputs: answer)",
    ),
    (
        "unknown step output",
        {"expect": [{"check": "equals", "node": "answer", "field": "txt", "value": 1}]},
        "tests[0].expect[0].field",
        "'answer' (llm) has no output 'txt'",
    ),
    (
        "step output of an unknown node",
        {"expect": [{"check": "equals", "node": "x", "field": "t", "value": 1}]},
        "tests[0].expect[0].node",
        "'x' is not a node of this flow",
    ),
    (
        "invalid regex",
        {"expect": [{"check": "regex", "output": "answer", "value": "(Morgen"}]},
        "tests[0].expect[0].value",
        "'(Morgen' is not a valid regular expression: missing )",
    ),
    (
        "regex too long",
        {"expect": [{"check": "regex", "output": "answer", "value": "a" * 501}]},
        "tests[0].expect[0].value",
        "at most 500 characters",
    ),
    (
        "invalid JSON schema",
        {"expect": [{"check": "json_schema", "output": "answer", "value": {"type": 5}}]},
        "tests[0].expect[0].value",
        "not a valid JSON schema at type",
    ),
    (
        "JSON schema not an object",
        {"expect": [{"check": "json_schema", "output": "answer", "value": "x"}]},
        "tests[0].expect[0].value",
        "valid dictionary",
    ),
    (
        "branch of a node that does not branch",
        {"expect": [{"check": "branch", "node": "answer", "value": "a"}]},
        "tests[0].expect[0].node",
        "'answer' (llm) does not branch",
    ),
    (
        "approval_raised on a non-approval node",
        {"expect": [{"check": "approval_raised", "node": "answer"}]},
        "tests[0].expect[0].node",
        "'answer' is a llm node, not an approval node",
    ),
    (
        "no_connector_call on a non-connector",
        {"expect": [{"check": "no_connector_call", "node": "answer"}]},
        "tests[0].expect[0].node",
        "'answer' is a llm node, not a connector node",
    ),
    (
        "max_duration_ms not positive",
        {"expect": [{"check": "max_duration_ms", "value": 0}]},
        "tests[0].expect[0].value",
        "greater than 0",
    ),
    (
        "unknown status",
        {"expect": [{"check": "status", "value": "done"}]},
        "tests[0].expect[0].value",
        "'succeeded', 'waiting' or 'failed'",
    ),
    (
        "unknown field in a check",
        {"expect": [{**ANSWER_IS, "ignore_case": True}]},
        "tests[0].expect[0].ignore_case",
        "Extra inputs are not permitted",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "fragment"), [row[1:] for row in BAD], ids=[row[0] for row in BAD]
)
def test_each_bad_case_is_one_error_with_its_path(changes: dict[str, Any], field: str, fragment: str) -> None:
    bad = case(**changes)
    if bad.get("name") is None and "name" in changes:
        del bad["name"]
    found = errors_of(qa(bad))
    assert len(found) == 1, found
    node, where, message = found[0]
    assert (node, where) == (None, field), found
    assert fragment in message, message


def test_bad_cases_in_flows_with_branches_approvals_and_connectors() -> None:
    document = routed(
        case(
            fixed={"route": {"branch": "medium"}},
            expect=[{"check": "branch", "node": "route", "value": "medium"}],
        )
    )
    assert errors_of(document) == [
        (None, "tests[0].fixed.route.branch", "'medium' is not a branch of 'route'; its branches: high, low"),
        (None, "tests[0].expect[0].value", "'medium' is not a branch of 'route'; its branches: high, low"),
    ]
    approval = approval_flow(editable=False)
    approval["tests"][0]["decisions"] = {"check": {"decision": "approve", "payload": {"to": "x"}}}
    approval["tests"][0]["fixed"] = {"check": {"decision": "approved"}}
    assert errors_of(approval) == [
        (
            None,
            "tests[0].fixed.check",
            "approval nodes are decided, not fixed: script the decision under 'decisions'",
        ),
        (
            None,
            "tests[0].decisions.check.payload",
            "approval node 'check' is not editable, so a decision cannot change its payload",
        ),
    ]


def test_names_are_unique_and_every_case_is_checked() -> None:
    found = errors_of(qa(case(name="doppelt"), case(name="doppelt", inputs={}), case(name="ok")))
    assert found == [
        (None, "tests[1].name", "the name 'doppelt' is used by more than one test case"),
        (None, "tests[1].inputs.question", "'question' is required (string)"),
    ]


def test_a_node_with_its_own_error_is_not_reported_again_by_cases() -> None:
    document = qa(case(fixed={"answer": {"whatever": 1}}))
    document["nodes"][1]["type"] = "magic"
    assert [(node, field) for node, field, _ in errors_of(document)] == [("answer", "type")]
