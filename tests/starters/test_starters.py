"""The starter flows: each loads, validates, imports and passes its own test cases.

Test cases never call the LLM or a connection (the runner refuses); retrieval nodes are
fixed in every case, so the cases do not depend on what an index holds either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtime.engine.compiled import compile_flow
from runtime.engine.validation import validate_document
from runtime.starters.loader import STARTERS_DIR, Starter, load_starters
from runtime.testing.runner import run_cases
from tests.support.api import ApiHarness

STARTERS = load_starters()
SEEDS = {
    "sales-offer-followup",
    "hr-onboarding",
    "legal-contract-questions",
    "finance-invoice-check",
    "service-ticket-triage",
    "meeting-minutes",
    "executive-briefing",
}
by_slug = pytest.mark.parametrize("starter", STARTERS, ids=lambda starter: starter.slug)


def used(document: dict[str, Any], node_type: str, key: str) -> list[str]:
    return sorted({node["config"][key] for node in document["nodes"] if node["type"] == node_type})


def test_the_seed_starters_and_the_first_two_are_there() -> None:
    assert {starter.slug for starter in STARTERS} == SEEDS | {"faq-assistant", "approval-demo"}


@by_slug
def test_starter_is_complete_and_valid(starter: Starter) -> None:
    report = validate_document(starter.document)
    assert report.valid, report.errors
    assert starter.language == "de" and starter.name and starter.description
    assert starter.readme.startswith(f"# {starter.name}")
    assert 3 <= len(starter.document["tests"]) <= 6
    # What starter.json says it needs is what its nodes use.
    assert sorted(starter.needs["connections"]) == used(starter.document, "connector", "connection")
    assert sorted(starter.needs["indexes"]) == used(starter.document, "retrieval", "index")
    # Prompts are resolved: no file reference reaches the document.
    assert '"$file"' not in str(starter.document).replace("'", '"')
    # Every node has a place on the canvas.
    assert set(starter.document["layout"]) == {node["id"] for node in starter.document["nodes"]}


@by_slug
async def test_starter_passes_its_own_cases(starter: Starter) -> None:
    suite = await run_cases(compile_flow(starter.document), {})  # no LLM, no connections, no knowledge
    failed = {case.name: case.failures or case.error for case in suite.cases if not case.passed}
    assert not failed
    assert suite.passed and suite.total == len(starter.document["tests"])


@by_slug
async def test_every_branch_of_a_router_or_approval_is_taken_by_some_case(starter: Starter) -> None:
    """Three to six cases that cover the starter's branches, not one path six times."""
    suite = await run_cases(compile_flow(starter.document), {})
    taken: dict[str, set[str]] = {}
    for case in suite.cases:
        for node, branch in case.branches.items():
            taken.setdefault(node, set()).add(branch)
    flow = compile_flow(starter.document)
    for node_id, wanted in flow.outgoing_branches.items():
        missing = wanted - taken.get(node_id, set())
        assert not missing, f"{node_id}: no case takes {', '.join(sorted(missing))}"
    waiting = [case.name for case in suite.cases if case.status == "waiting"]
    approvals = [node for node, instance in flow.instances.items() if instance.type == "approval"]
    assert bool(waiting) == bool(approvals), "a flow with an approval has a case that waits for it"


async def test_starters_import_and_pass_their_cases_through_the_api(api: ApiHarness) -> None:
    """What the studio does with "new flow": list the starters, create a flow from one, run its cases."""
    champion = api.as_("champion")
    response = await champion.get("/api/starters")
    assert response.status_code == 200, response.text
    listed = response.json()
    assert [item["slug"] for item in listed] == [starter.slug for starter in STARTERS]
    for item in listed:
        assert set(item) == {"slug", "name", "description", "language", "readme", "needs", "document"}
        created = await champion.post(
            "/api/workspaces/sales/flows",
            json={"name": item["name"], "slug": item["slug"], "document": item["document"]},
        )
        assert created.status_code == 201, created.text
        flow = created.json()
        report = await champion.post(f"/api/flows/{flow['id']}/versions/1/test", json={})
        assert report.status_code == 201, report.text
        body = report.json()
        assert (body["passed"], body["failed"]) == (True, 0), (item["slug"], body["cases"])


async def test_only_flow_builders_list_the_starters(api: ApiHarness) -> None:
    """Champions and admins of a workspace and global admins; not end users or the board."""
    expected = {
        "champion": 200,
        "hrchampion": 200,
        "salesadmin": 200,
        "admin": 200,
        "user": 403,
        "outsider": 403,
        "board1": 403,
        None: 401,
    }
    for who, status in expected.items():
        response = await api.as_(who).get("/api/starters")
        assert response.status_code == status, (who, response.text)
        if status == 403:
            assert "champion or admin in a workspace" in response.json()["message"]


def test_the_starters_directory_is_the_repository_one() -> None:
    assert Path(__file__).resolve().parents[2] / "starters" == STARTERS_DIR


async def test_the_former_templates_route_answers_the_same_and_is_marked_deprecated(api: ApiHarness) -> None:
    """Studios deployed before the rename call `GET /api/templates`: same answer, same policy."""
    champion = api.as_("champion")
    starters, templates = await champion.get("/api/starters"), await champion.get("/api/templates")
    assert (starters.status_code, templates.status_code) == (200, 200), templates.text
    assert templates.json() == starters.json()
    assert (await api.as_("user").get("/api/templates")).status_code == 403
    schema = (await champion.get("/schema/openapi.json")).json()
    assert schema["paths"]["/api/templates"]["get"].get("deprecated") is True
    assert not schema["paths"]["/api/starters"]["get"].get("deprecated")
    listed = schema["paths"]["/api/starters"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"]["items"]["$ref"].endswith("/StarterOut")
