"""`dirigent up`'s demo gives the starters what they need: connections, databases, indexes.

One demo setup (the embedding model loads once), then the starters' own nodes run against
it: the SQL of SalesGPT and FinanceGPT on the demo databases, LegalGPT's search and
refusal on the demo contracts.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from nodes.base import NodeContext
from runtime.connections.service import ConnectionService
from runtime.db.database import Database
from runtime.db.models import AuditEntry, User, Workspace
from runtime.demo import setup_demo
from runtime.demo_sources import INDEXES, sources_dir
from runtime.engine.compiled import compile_flow
from runtime.engine.inputs import prepare_inputs
from runtime.knowledge.service import KnowledgeService
from runtime.policy.resources import Actor
from runtime.settings import Settings
from runtime.starters.loader import Starter, load_starters
from runtime.testing.runner import run_cases
from runtime.users.service import load_actor

STARTERS = {starter.slug: starter for starter in load_starters()}


async def _audit_count(db: Database) -> int:
    async with db.read() as session:
        return (await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one()


async def _people(db: Database) -> tuple[Actor, Actor, str]:
    async with db.read() as session:
        ids = dict((await session.execute(select(User.username, User.id))).tuples().all())
        workspace_id = (
            await session.execute(select(Workspace.id).where(Workspace.slug == "demo"))
        ).scalar_one()
        admin, champion = await load_actor(session, ids["admin"]), await load_actor(session, ids["champion"])
    assert admin is not None and champion is not None
    return admin, champion, workspace_id


async def _run_node(
    starter: Starter,
    node_id: str,
    scope: dict[str, Any],
    services: dict[str, Any],
    who: Actor,
    ws: str,
) -> dict[str, Any]:
    """One node of a starter, run for real against the demo's services."""
    flow = compile_flow(starter.document)
    inputs = prepare_inputs(flow.document, scope.pop("inputs", {}))
    ctx = NodeContext(
        run_id=f"demo-check-{node_id}",
        node_id=node_id,
        node_type=flow.instances[node_id].type,
        flow_inputs=inputs,
        services=services,
        caller_id=who.id,
        workspace_id=ws,
    )
    return await flow.instances[node_id].run(ctx, {"inputs": inputs, **scope})  # type: ignore[return-value]


@pytest.mark.slow
async def test_the_demo_sets_up_what_the_templates_need_once_and_it_works(
    db: Database, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    first = await setup_demo(db, data_dir, settings=settings)
    needed_connections = {name for t in STARTERS.values() for name in t.needs["connections"]}
    needed_indexes = {name for t in STARTERS.values() for name in t.needs["indexes"]}
    assert set(first.created_connections) == needed_connections
    assert set(first.created_indexes) == needed_indexes == set(INDEXES)
    assert first.written_databases == ["crm", "erp"] and not first.notes
    # The sample databases lie beside the data dir: SQL connections may not read inside it.
    assert sources_dir(data_dir) == tmp_path / "data-demo"
    assert (tmp_path / "data-demo" / "crm.db").is_file() and not list(data_dir.glob("*.db"))

    entries = await _audit_count(db)
    second = await setup_demo(db, data_dir, settings=settings)
    assert not second.changed and not second.notes
    assert await _audit_count(db) == entries  # nothing at all was written

    admin, champion, workspace_id = await _people(db)
    connections = ConnectionService(settings, db)
    listed = {item["name"]: item for item in await connections.list_connections(admin, "demo")}
    assert {name: item["kind"] for name, item in listed.items()} == {
        "crm": "sql",
        "erp": "sql",
        "crm-api": "http",
        "erp-api": "http",
        "itsm": "http",
        "mail": "email",
    }
    assert listed["itsm"]["settings"]["allowed_methods"] == ["GET", "POST", "PATCH"]
    knowledge = KnowledgeService(settings, db)
    try:
        indexes = await knowledge.list_indexes(champion, "demo")
        for index in indexes:
            documents = await knowledge.list_documents(champion, index["id"])
            assert 2 <= len(documents) <= 5 and all(item["chunks"] > 0 for item in documents), index["name"]

        # SalesGPT's query finds the most overdue offer over 50,000 € in the demo CRM.
        services = {"connections": connections, "knowledge": knowledge}
        sales = STARTERS["sales-offer-followup"]
        found = await _run_node(sales, "find_offer", {}, services, champion, workspace_id)
        assert found["status"] == 1
        offer = found["response"]["offer"]
        assert (offer["offer_id"], offer["customer"]) == ("ANG-2025-0142", "Hansen Logistik GmbH")
        assert offer["days_without_reply"] == 47
        strict = await _run_node(
            sales, "find_offer", {"inputs": {"min_amount": 200000}}, services, champion, workspace_id
        )
        assert strict == {"status": 0, "response": {"offer": None}}

        # FinanceGPT's duplicate check finds an invoice booked before, whatever the spacing of the VAT id.
        extracted = {
            "inputs": {"invoice_text": "Rechnung RE-2025-0777"},
            "extract": {"json": {"invoice_number": "RE-2025-0777", "supplier_vat_id": "de 287 654 321"}},
        }
        dupes = await _run_node(
            STARTERS["finance-invoice-check"], "dupes", extracted, services, champion, workspace_id
        )
        assert dupes["status"] == 1 and dupes["response"]["rows"][0]["booking_id"] == "BU-2025-004502"

        # LegalGPT on the demo contracts: a question the contracts answer passes the router to
        # the (fixed) model; one they do not is refused, with the model never asked.
        legal = copy.deepcopy(STARTERS["legal-contract-questions"].document)
        answer = {"text": "Sechs Monate zum Jahresende (§ 14 Abs. 2) [1].", "json": None, "usage": {}}
        legal["tests"] = [
            {
                "name": "Kündigungsfrist",
                "inputs": {
                    "question": "Mit welcher Frist können wir den Rahmenvertrag mit Hansen Logistik kündigen?"
                },
                "fixed": {"answer": answer},
                "expect": [
                    {"check": "branch", "node": "relevant", "value": "true"},
                    {"check": "contains", "output": "sources", "value": "§ 14 Laufzeit und Kündigung"},
                ],
            },
            {
                "name": "Datenübermittlung",
                "inputs": {"question": "Dürfen wir Kundendaten in die USA übermitteln?"},
                "expect": [
                    {"check": "branch", "node": "relevant", "value": "false"},
                    {"check": "contains", "output": "answer", "value": "keine passende Klausel gefunden"},
                ],
            },
        ]
        suite = await run_cases(
            compile_flow(legal), {"knowledge": knowledge}, caller_id=champion.id, workspace_id=workspace_id
        )
        assert suite.passed, [(case.name, case.failures, case.error) for case in suite.cases]
    finally:
        await knowledge.close()
