import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from runtime.flows.diff import diff_documents, diff_summary_text

PROMPT = "You are a sales assistant.\nUse these offers:\n{{ find.documents }}\nAnswer briefly."

BASE: dict[str, Any] = {
    "schema": "dirigent.flow/v1",
    "name": "SalesGPT",
    "description": "Follow-up suggestions for open offers",
    "inputs": {"question": {"type": "string", "required": True}},
    "nodes": [
        {
            "id": "find",
            "type": "retrieval",
            "title": "",
            "config": {"index": "offers", "query": "{{ inputs.question }}", "k": 5},
        },
        {
            "id": "answer",
            "type": "llm",
            "title": "",
            "config": {
                "model": "default",
                "prompt": PROMPT,
                "json_schema": {"type": "object", "properties": {"x": {"type": "string"}}},
            },
        },
        {
            "id": "check",
            "type": "approval",
            "title": "",
            "config": {"assignees": ["role:sales-lead"], "timeout": "P3D"},
        },
    ],
    "edges": [{"from": "find", "to": "answer"}, {"from": "answer", "to": "check"}],
    "outputs": {"answer": "{{ answer.text }}"},
    "card": {
        "purpose": "Follow-ups",
        "data_sources": ["CRM"],
        "risk": "limited",
        "owner": "sales",
        "thresholds": {"min_confidence": 0.7},
    },
    "audience": [],
    "layout": {"find": {"x": 80, "y": 120}},
}


def node(doc: dict, node_id: str) -> dict:
    return next(n for n in doc["nodes"] if n["id"] == node_id)


def edit(change: Callable[[dict], None]) -> dict:
    doc = copy.deepcopy(BASE)
    change(doc)
    return doc


def set_prompt(d):
    node(d, "answer")["config"]["prompt"] = PROMPT.replace("briefly", "in detail")


def add_node(d):
    d["nodes"].append({"id": "task", "type": "connector", "config": {"action": "create"}})
    d["edges"].append({"from": "check", "to": "task", "when": "approved"})


def remove_node(d):
    d["nodes"] = [n for n in d["nodes"] if n["id"] != "check"]
    d["edges"] = [e for e in d["edges"] if e["to"] != "check"]


# (case, change, expected summary counts, expected rest of the diff: a sub-dict check)
CASES = [
    ("identical", lambda d: None, {}, {"summary": {"changed": False}}),
    (
        "layout only",
        lambda d: d.update(layout={"find": {"x": 0, "y": 0}, "check": {}}),
        {},
        {"summary": {"changed": False}},
    ),
    ("node order only", lambda d: d["nodes"].reverse(), {}, {"summary": {"changed": False}}),
    (
        "node added",
        add_node,
        {"nodes_added": 1, "edges_added": 1},
        {
            "nodes": {
                "added": [{"id": "task", "type": "connector", "title": "", "config": {"action": "create"}}]
            },
            "edges": {"added": [{"from": "check", "to": "task", "when": "approved"}]},
        },
    ),
    (
        "node removed",
        remove_node,
        {"nodes_removed": 1, "edges_removed": 1},
        {
            "nodes": {
                "removed": [
                    {
                        "id": "check",
                        "type": "approval",
                        "title": "",
                        "config": {"assignees": ["role:sales-lead"], "timeout": "P3D"},
                    }
                ]
            },
            "edges": {"removed": [{"from": "answer", "to": "check", "when": None}]},
        },
    ),
    (
        "type change",
        lambda d: node(d, "check").update(type="human_review"),
        {"nodes_changed": 1},
        {
            "nodes": {
                "changed": [
                    {
                        "id": "check",
                        "type": "human_review",
                        "title": "",
                        "fields": [
                            {"field": "type", "old": "approval", "new": "human_review", "text_diff": None}
                        ],
                    }
                ]
            }
        },
    ),
    (
        "nested config",
        lambda d: node(d, "answer")["config"]["json_schema"]["properties"].update(x={"type": "integer"}),
        {"nodes_changed": 1},
        {
            "nodes": {
                "changed": [
                    {
                        "id": "answer",
                        "type": "llm",
                        "title": "",
                        "fields": [
                            {
                                "field": "config.json_schema.properties.x.type",
                                "old": "string",
                                "new": "integer",
                                "text_diff": None,
                            }
                        ],
                    }
                ]
            }
        },
    ),
    (
        "config key added and list changed",
        lambda d: node(d, "check")["config"].update(assignees=["role:cfo"], reminder="P1D"),
        {"nodes_changed": 1},
        {
            "nodes": {
                "changed": [
                    {
                        "id": "check",
                        "type": "approval",
                        "title": "",
                        "fields": [
                            {
                                "field": "config.assignees",
                                "old": ["role:sales-lead"],
                                "new": ["role:cfo"],
                                "text_diff": None,
                            },
                            {"field": "config.reminder", "old": None, "new": "P1D", "text_diff": None},
                        ],
                    }
                ]
            }
        },
    ),
    (
        "edge when",
        lambda d: d["edges"][1].update(when="approved"),
        {"edges_changed": 1},
        {
            "edges": {
                "added": [],
                "removed": [],
                "changed": [{"from": "answer", "to": "check", "old_when": None, "new_when": "approved"}],
            }
        },
    ),
    (
        "inputs",
        lambda d: d.update(
            inputs={"question": {"type": "string", "required": False}, "lang": {"type": "string"}}
        ),
        {},
        {
            "inputs": {
                "added": ["lang"],
                "removed": [],
                "changed": [
                    {
                        "name": "question",
                        "old": {"type": "string", "required": True},
                        "new": {"type": "string", "required": False},
                    }
                ],
            }
        },
    ),
    (
        "outputs",
        lambda d: d.update(outputs={"text": "{{ answer.text }}"}),
        {},
        {"outputs": {"added": ["text"], "removed": ["answer"], "changed": []}},
    ),
    (
        "card",
        lambda d: d["card"].update(risk="high", thresholds={"min_confidence": 0.9}),
        {},
        {
            "card": [
                {"field": "risk", "old": "limited", "new": "high"},
                {"field": "thresholds.min_confidence", "old": 0.7, "new": 0.9},
            ]
        },
    ),
    (
        "tests",
        lambda d: d.update(tests=[{"name": "neu", "expect": [{"check": "status", "value": "failed"}]}]),
        {},
        {"tests": {"added": ["neu"], "removed": [], "changed": []}},
    ),
    (
        "meta",
        lambda d: d.update(name="SalesBot", audience=["emea"]),
        {},
        {
            "meta": [
                {"field": "name", "old": "SalesGPT", "new": "SalesBot"},
                {"field": "audience", "old": [], "new": ["emea"]},
            ]
        },
    ),
]

ZERO = dict.fromkeys(
    ("nodes_added", "nodes_removed", "nodes_changed", "edges_added", "edges_removed", "edges_changed"), 0
)


def assert_contains(actual: Any, expected: Any, path: str = "") -> None:
    if isinstance(expected, dict):
        for key, value in expected.items():
            assert_contains(actual[key], value, f"{path}.{key}")
    else:
        assert actual == expected, path


@pytest.mark.parametrize(("change", "counts", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_diff_cases(change, counts, expected):
    new = edit(change)
    diff = diff_documents(BASE, new)
    assert {k: v for k, v in diff["summary"].items() if k != "changed"} == {**ZERO, **counts}
    assert_contains(diff, expected)
    if expected != {"summary": {"changed": False}}:
        assert diff["summary"]["changed"] is True
    assert json.loads(json.dumps(diff)) == diff
    assert diff_documents(BASE, new) == diff


def test_prompt_edit_has_text_diff():
    diff = diff_documents(BASE, edit(set_prompt))
    [changed] = diff["nodes"]["changed"]
    [field] = changed["fields"]
    assert field["field"] == "config.prompt"
    assert field["text_diff"][0].startswith("@@")
    assert "-Answer briefly." in field["text_diff"]
    assert "+Answer in detail." in field["text_diff"]
    assert not any(line.startswith(("---", "+++")) for line in field["text_diff"])
    assert diff_summary_text(diff) == "1 node changed (answer: config.prompt)"


def test_text_diff_keeps_removed_lines_that_look_like_headers():
    old = edit(lambda d: node(d, "answer")["config"].update(prompt="a\n-- b\nc"))
    new = edit(lambda d: node(d, "answer")["config"].update(prompt="a\nc"))
    field = diff_documents(old, new)["nodes"]["changed"][0]["fields"][0]
    assert "--- b" in field["text_diff"]


def test_diff_against_empty_shows_everything_added():
    for old in (None, {}):
        diff = diff_documents(old, BASE)
        assert diff["summary"] == {**ZERO, "nodes_added": 3, "edges_added": 2, "changed": True}
        assert [n["id"] for n in diff["nodes"]["added"]] == ["find", "answer", "check"]
        assert diff["inputs"]["added"] == ["question"]
        assert diff["outputs"]["added"] == ["answer"]
        assert {"field": "risk", "old": None, "new": "limited"} in diff["card"]
        assert {"field": "name", "old": None, "new": "SalesGPT"} in diff["meta"]
        assert diff_summary_text(diff) == "first version: 3 nodes added, 2 edges added"


def test_summary_text():
    def change(d):
        add_node(d)
        d["nodes"].append({"id": "log", "type": "code", "config": {}})
        set_prompt(d)
        d["card"]["risk"] = "high"

    text = diff_summary_text(diff_documents(BASE, edit(change)))
    assert text == ("2 nodes added, 1 changed (answer: config.prompt), 1 edge added, risk limited → high")
    assert diff_summary_text(diff_documents(BASE, BASE)) == "no changes"


def test_nodes_carry_their_titles_and_the_unchanged_ones_are_listed():
    def change(d):
        node(d, "answer")["title"] = "Antwort"
        set_prompt(d)
        remove_node(d)
        d["nodes"].append({"id": "task", "type": "connector", "title": "CRM-Aufgabe", "config": {}})

    old = edit(lambda d: node(d, "check").update(title="Freigabe Vertrieb"))
    nodes = diff_documents(old, edit(change))["nodes"]
    assert [(n["id"], n["title"]) for n in nodes["added"]] == [("task", "CRM-Aufgabe")]
    assert [(n["id"], n["title"]) for n in nodes["removed"]] == [("check", "Freigabe Vertrieb")]
    [answer] = nodes["changed"]
    assert answer["title"] == "Antwort"
    assert [f["field"] for f in answer["fields"]] == ["title", "config.prompt"]
    assert nodes["unchanged"] == ["find"]
    assert diff_documents(None, BASE)["nodes"]["unchanged"] == []


def test_the_typed_answer_is_the_diff_with_the_version_numbers():
    from runtime.flows.diff import VersionDiff, version_diff

    new = edit(lambda d: (add_node(d), set_prompt(d), d["card"].update(risk="high")))
    typed = version_diff(BASE, new, 1, 2)
    assert isinstance(typed, VersionDiff)
    answer = typed.model_dump(mode="json")
    # Edges keep the document's own keys `from`/`to`, so does the answer (no `from_`).
    assert answer == {**json.loads(json.dumps(diff_documents(BASE, new))), "from": 1, "to": 2}
    assert answer["edges"]["added"] == [{"from": "check", "to": "task", "when": "approved"}]
    assert version_diff(None, BASE, None, 1).model_dump(mode="json")["from"] is None
    schema = VersionDiff.model_json_schema()
    assert {"from", "to", "nodes", "card"} <= set(schema["properties"])
