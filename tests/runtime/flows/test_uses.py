"""What a version uses outside itself (`GET /api/flows/{id}/versions/{n}/uses`): the board
reads which connections it touches in production, which knowledge indexes it searches and
which model endpoints it calls, each with whether it exists now."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import Workspace
from runtime.flows.uses import indexes_used, models_used
from runtime.knowledge.models import KnowledgeDocument, KnowledgeIndex
from tests.runtime.connections.conftest import create_connection
from tests.support.scenario import (  # noqa: F401 (fixtures sc, shared_app)
    Scenario,
    expect,
    sc_fixture,
    shared_app_fixture,
    unique_slug,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def http_settings(methods: list[str]) -> dict[str, Any]:
    return {"base_url": "http://127.0.0.1:9/api", "auth": {"type": "none"}, "allowed_methods": methods}


def document(crm: str, erp: str, index: str) -> dict[str, Any]:
    """input → search → classify (router with a model) → answer (llm) → crm write, erp read."""
    return {
        "schema": "dirigent.flow/v1",
        "name": "Nutzt vieles",
        "inputs": {"question": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "find", "type": "retrieval", "config": {"index": index, "query": "{{ inputs.question }}"}},
            {"id": "missing", "type": "retrieval", "config": {"index": "gibt-es-nicht", "query": "x"}},
            {
                "id": "sort",
                "type": "router",
                "config": {"classes": ["a", "b"], "text": "{{ inputs.question }}", "model": "klein"},
            },
            {"id": "answer", "type": "llm", "config": {"prompt": "{{ find.context }}"}},
            {
                "id": "task",
                "type": "connector",
                "config": {"connection": crm, "action": "create_task", "method": "POST", "path": "/tasks"},
            },
            {
                "id": "look",
                "type": "connector",
                "config": {"connection": erp, "action": "list_orders", "method": "GET", "path": "/orders"},
            },
            {"id": "gate", "type": "router", "config": {"condition": "true"}},
            {"id": "end", "type": "output"},
        ],
        "edges": [
            {"from": "start", "to": "find"},
            {"from": "start", "to": "missing"},
            {"from": "find", "to": "sort"},
            {"from": "missing", "to": "sort"},
            {"from": "sort", "to": "answer", "when": "a"},
            {"from": "sort", "to": "gate", "when": "b"},
            {"from": "answer", "to": "task"},
            {"from": "gate", "to": "look", "when": "true"},
            {"from": "task", "to": "end"},
            {"from": "look", "to": "end"},
        ],
        "outputs": {"answer": "{{ answer.text }}"},
        "card": {"purpose": "Zeigt, was eine Version nutzt", "risk": "limited", "owner": "QA"},
    }


async def test_the_nodes_name_what_they_use() -> None:
    doc = document("crm", "erp", "angebote")
    assert indexes_used(doc) == {"angebote": ["find"], "gibt-es-nicht": ["missing"]}
    # A router with a condition calls no model; an llm without `model` calls "default".
    assert models_used(doc) == {"klein": ["sort"], "default": ["answer"]}


async def add_index(sc: Scenario, name: str, documents: int) -> None:
    async def add(session: AsyncSession) -> None:
        workspace = (await session.execute(select(Workspace).where(Workspace.slug == "sales"))).scalar_one()
        index = KnowledgeIndex(workspace_id=workspace.id, name=name, embedding_model="test")
        session.add(index)
        await session.flush()
        for number in range(documents):
            session.add(
                KnowledgeDocument(
                    index_id=index.id,
                    filename=f"{number}.txt",
                    content_hash="0" * 64,
                    size_bytes=1,
                    media_type="text/plain",
                )
            )

    sc.in_app(add, write=True)


async def test_the_board_reads_what_a_version_uses(sc: Scenario) -> None:
    crm = await create_connection(sc, unique_slug("crm"), "http", http_settings(["POST"]), test_target=True)
    erp = await create_connection(sc, unique_slug("erp"), "http", http_settings(["GET"]))
    index = unique_slug("angebote")
    await add_index(sc, index, documents=2)
    flow = await sc.create(document(crm["name"], erp["name"], index))
    path = f"/api/flows/{flow['id']}/versions/1/uses"

    uses = expect(await sc.as_("board1").get(path), 200)
    connections = {item["name"]: item for item in uses["connections"]}
    assert connections[crm["name"]] == {
        "name": crm["name"],
        "exists": True,
        "kind": "http",
        "host": "127.0.0.1",
        "actions": ["create_task"],
        "nodes": ["task"],
        "side_effects": True,
        "has_test_target": True,
        "touches_production": True,
    }
    assert connections[erp["name"]]["side_effects"] is False
    assert connections[erp["name"]]["has_test_target"] is False
    assert uses["indexes"] == [
        {"name": index, "exists": True, "backend": "embedded", "documents": 2, "nodes": ["find"]},
        {"name": "gibt-es-nicht", "exists": False, "backend": None, "documents": None, "nodes": ["missing"]},
    ]
    models = {item["name"]: item for item in uses["models"]}
    # "default" is the environment's endpoint (the test's LLM double on this machine).
    assert models["default"]["exists"] is True and models["default"]["host"] == "127.0.0.1"
    assert models["default"]["nodes"] == ["answer"]
    assert models["klein"] == {
        "name": "klein",
        "exists": False,
        "host": None,
        "served_model": None,
        "nodes": ["sort"],
    }

    # A registered endpoint shows its host and served model, never its URL or its key.
    endpoint = {
        "name": "klein",
        "base_url": "http://llm.intern:8080",
        "model": "mistral-7b",
        "api_key": "geheim-schluessel",
    }
    expect(await sc.as_("admin").post("/api/model-endpoints", json=endpoint), 201)
    uses = expect(await sc.as_("board1").get(path), 200)
    klein = next(item for item in uses["models"] if item["name"] == "klein")
    assert klein == {
        "name": "klein",
        "exists": True,
        "host": "llm.intern",
        "served_model": "mistral-7b",
        "nodes": ["sort"],
    }
    assert "geheim" not in str(uses)
    expect(await sc.as_("admin").request("DELETE", "/api/model-endpoints/klein"), 200)


async def test_only_who_may_read_the_version_reads_what_it_uses(sc: Scenario) -> None:
    flow = await sc.create(document("crm", "erp", "angebote"))
    path = f"/api/flows/{flow['id']}/versions/1/uses"
    uses = expect(await sc.as_("champion").get(path), 200)
    # Nothing of it exists in the workspace: all shown, none touching production.
    assert [(c["name"], c["exists"], c["touches_production"]) for c in uses["connections"]] == [
        ("crm", False, False),
        ("erp", False, False),
    ]
    for who in ("user", "outsider"):
        expect(await sc.as_(who).get(path), 404)
    expect(await sc.as_(None).get(path), 401)
    expect(await sc.as_("champion").get(f"/api/flows/{flow['id']}/versions/9/uses"), 404)


async def test_the_review_answers_are_described_for_clients(sc: Scenario) -> None:
    """The OpenAPI description names the typed answers, with the documents' own keys."""
    schema = expect(await sc.as_("board1").get("/schema/openapi.json"), 200)
    paths = schema["paths"]
    for path, model in (("diff", "VersionDiff"), ("uses", "VersionUses")):
        answer = paths[f"/api/flows/{{flow_id}}/versions/{{number}}/{path}"]["get"]["responses"]["200"]
        assert answer["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
    components = schema["components"]["schemas"]
    assert {"from", "to"} <= set(components["VersionDiff"]["properties"])
    assert list(components["DiffEdge"]["properties"]) == ["from", "to", "when"]
    assert "touches_production" in components["ConnectionUse"]["required"]


async def test_an_agents_tools_are_what_the_version_uses(sc: Scenario) -> None:
    """The board sees the connections an agent's tools call (a POST: side effects), the
    indexes its knowledge tools search and the model it asks."""
    crm = await create_connection(sc, unique_slug("crm"), "http", http_settings(["GET", "POST"]))
    index = unique_slug("handbuch")
    await add_index(sc, index, documents=1)
    tools = [
        {"kind": "connection", "name": "note_task", "description": "Notiz", "connection": crm["name"],
         "method": "POST", "path": "/tasks"},
        {"kind": "knowledge", "name": "handbuch", "description": "Handbuch", "index": index},
    ]  # fmt: skip
    agent = {
        "schema": "dirigent.flow/v1",
        "name": "Agent",
        "inputs": {"question": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "helper", "type": "agent", "config": {"prompt": "{{ inputs.question }}", "tools": tools}},
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "helper"}, {"from": "helper", "to": "end"}],
        "outputs": {"answer": "{{ helper.text }}"},
        "card": {"purpose": "Helfen", "risk": "limited", "owner": "Vertrieb"},
    }
    flow = await sc.create(agent)

    uses = expect(await sc.as_("board1").get(f"/api/flows/{flow['id']}/versions/1/uses"), 200)

    [connection] = uses["connections"]
    assert (connection["name"], connection["actions"], connection["nodes"], connection["side_effects"]) == (
        crm["name"],
        ["note_task"],
        ["helper"],
        True,
    )
    assert [(item["name"], item["nodes"]) for item in uses["indexes"]] == [(index, ["helper"])]
    assert [(item["name"], item["nodes"]) for item in uses["models"]] == [("default", ["helper"])]
