"""Flows of the composition tests: parents with an `assistant` or `map` node, and the
published assistants they call."""

from __future__ import annotations

import itertools
from typing import Any

from tests.support.scenario import Scenario, expect

_names = itertools.count(1)


def slug(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


def parent_flow(
    node: dict[str, Any],
    outputs: dict[str, str],
    inputs: dict[str, Any] | None = None,
    *,
    risk: str = "limited",
) -> dict[str, Any]:
    """input → <node> → output."""
    return {
        "schema": "dirigent.flow/v1",
        "name": "Elternlauf",
        "inputs": inputs or {"name": {"type": "string", "required": True}},
        "nodes": [{"id": "start", "type": "input"}, node, {"id": "end", "type": "output"}],
        "edges": [{"from": "start", "to": node["id"]}, {"from": node["id"], "to": "end"}],
        "outputs": outputs,
        "card": {"purpose": "Assistenten zusammensetzen", "risk": risk, "owner": "Vertrieb"},
    }


def assistant_node(assistant: str, inputs: dict[str, str], **config: Any) -> dict[str, Any]:
    return {"id": "sub", "type": "assistant", "config": {"assistant": assistant, "inputs": inputs, **config}}


def map_node(assistant: str, items: str, input_: dict[str, str], **config: Any) -> dict[str, Any]:
    return {
        "id": "each",
        "type": "map",
        "config": {"assistant": assistant, "items": items, "input": input_, **config},
    }


def retrieval_flow(index: str) -> dict[str, Any]:
    """input → retrieval → output: finds passages as the person the run acts for."""
    return {
        "schema": "dirigent.flow/v1",
        "name": "Personalfragen",
        "inputs": {"question": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "find", "type": "retrieval", "config": {"index": index, "query": "{{ inputs.question }}"}},
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "find"}, {"from": "find", "to": "end"}],
        "outputs": {"context": "{{ find.context }}"},
        "card": {"purpose": "Fragen zu Personalthemen", "risk": "limited", "owner": "HR"},
        "tests": [
            {
                "name": "findet",
                "inputs": {"question": "Bonus"},
                "fixed": {"find": {"context": "Bonus", "documents": []}},
                "expect": [{"check": "status", "value": "succeeded"}],
            }
        ],
    }


async def editor_run(
    sc: Scenario,
    document: dict[str, Any],
    inputs: dict[str, Any],
    *,
    by: str = "champion",
    wait_s: float = 60,
) -> dict[str, Any]:
    """Create the flow (its version 1) and run it from the editor; the answer."""
    flow = await sc.create(document, slug("eltern"))
    return expect(  # type: ignore[no-any-return]
        await sc.as_(by).post(
            f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": inputs, "wait_s": wait_s}
        ),
        200,
    )
