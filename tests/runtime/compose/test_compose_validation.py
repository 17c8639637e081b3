"""What the flow validator says about `assistant` and `map` nodes and assistant tools.

It sees only the document: whether an assistant exists is known at run time
(`assistant_not_found`); what it can see — the config's shape, references to outputs,
cycles — it refuses when the flow is saved."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.engine.validation import validate_document
from tests.runtime.compose.flows import assistant_node, map_node, parent_flow


def _assistant(**config: Any) -> dict[str, Any]:
    return parent_flow(assistant_node("gruss", {"name": "x"}, **config), {"run": "{{ sub.run_id }}"})


def _map(**config: Any) -> dict[str, Any]:
    return parent_flow(
        map_node("gruss", "inputs.name", {"name": "{{ item }}"}, **config), {"n": "{{ each.count }}"}
    )


def _cycle() -> dict[str, Any]:
    document = _assistant()
    document["nodes"].insert(
        2, {"id": "back", "type": "template", "config": {"template": "{{ sub.run_id }}"}}
    )
    document["edges"] += [{"from": "sub", "to": "back"}, {"from": "back", "to": "sub"}]
    return document


def _reference(expected: list[str]) -> dict[str, Any]:
    node = assistant_node("gruss", {"name": "x"}, outputs_expected=expected)
    return parent_flow(node, {"text": "{{ sub.text }}"})


CYCLE = "(a cycle)"
CASES = [
    ("assistant, linear", _assistant(), None),
    ("assistant, pinned version", _assistant(version=3), None),
    ("assistant, version 0", _assistant(version=0), "config.version"),
    (
        "assistant, not a slug",
        parent_flow(assistant_node("Gruß!", {}), {"r": "{{ sub.run_id }}"}),
        "config.assistant",
    ),
    ("assistant, output named in outputs_expected", _reference(["text"]), None),
    ("assistant, output not named", _reference([]), "outputs.text"),
    ("assistant, in a cycle", _cycle(), CYCLE),
    ("map, linear", _map(), None),
    ("map, max_parallel over the cap", _map(max_parallel=17), "config.max_parallel"),
    ("map, max_items over the cap", _map(max_items=1001), "config.max_items"),
    ("map, unknown field", _map(parallel=2), "config.parallel"),
]


@pytest.mark.parametrize(
    ("document", "field"), [(doc, field) for _, doc, field in CASES], ids=[c[0] for c in CASES]
)
def test_the_validator_on_composition(document: dict[str, Any], field: str | None) -> None:
    report = validate_document(document)
    if field == CYCLE:
        assert any(error["code"] == "cycle" for error in report.errors), report.errors
    elif field is None:
        assert report.valid, report.errors
    else:
        assert not report.valid
        assert any(field in str(error.get("field")) for error in report.errors), report.errors
