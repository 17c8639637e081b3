"""The starter templates: each loads, validates, imports and passes its own test cases.

Test cases never call the LLM or a connection (the runner refuses); retrieval nodes are
fixed in every case, so the cases do not depend on what an index holds either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtime.engine.compiled import compile_flow
from runtime.engine.validation import validate_document
from runtime.templates.loader import TEMPLATES_DIR, StarterTemplate, load_templates
from runtime.testing.runner import run_cases
from tests.support.api import ApiHarness

TEMPLATES = load_templates()
SEEDS = {
    "sales-offer-followup",
    "hr-onboarding",
    "legal-contract-questions",
    "finance-invoice-check",
    "service-ticket-triage",
    "meeting-minutes",
    "executive-briefing",
}
by_slug = pytest.mark.parametrize("template", TEMPLATES, ids=lambda template: template.slug)


def used(document: dict[str, Any], node_type: str, key: str) -> list[str]:
    return sorted({node["config"][key] for node in document["nodes"] if node["type"] == node_type})


def test_the_seed_templates_and_the_first_two_are_there() -> None:
    assert {template.slug for template in TEMPLATES} == SEEDS | {"faq-assistant", "approval-demo"}


@by_slug
def test_template_is_complete_and_valid(template: StarterTemplate) -> None:
    report = validate_document(template.document)
    assert report.valid, report.errors
    assert template.language == "de" and template.name and template.description
    assert template.readme.startswith(f"# {template.name}")
    assert 3 <= len(template.document["tests"]) <= 6
    # What template.json says it needs is what its nodes use.
    assert sorted(template.needs["connections"]) == used(template.document, "connector", "connection")
    assert sorted(template.needs["indexes"]) == used(template.document, "retrieval", "index")
    # Prompts are resolved: no file reference reaches the document.
    assert '"$file"' not in str(template.document).replace("'", '"')
    # Every node has a place on the canvas.
    assert set(template.document["layout"]) == {node["id"] for node in template.document["nodes"]}


@by_slug
async def test_template_passes_its_own_cases(template: StarterTemplate) -> None:
    suite = await run_cases(compile_flow(template.document), {})  # no LLM, no connections, no knowledge
    failed = {case.name: case.failures or case.error for case in suite.cases if not case.passed}
    assert not failed
    assert suite.passed and suite.total == len(template.document["tests"])


@by_slug
async def test_every_branch_of_a_router_or_approval_is_taken_by_some_case(template: StarterTemplate) -> None:
    """Three to six cases that cover the template's branches, not one path six times."""
    suite = await run_cases(compile_flow(template.document), {})
    taken: dict[str, set[str]] = {}
    for case in suite.cases:
        for node, branch in case.branches.items():
            taken.setdefault(node, set()).add(branch)
    flow = compile_flow(template.document)
    for node_id, wanted in flow.outgoing_branches.items():
        missing = wanted - taken.get(node_id, set())
        assert not missing, f"{node_id}: no case takes {', '.join(sorted(missing))}"
    waiting = [case.name for case in suite.cases if case.status == "waiting"]
    approvals = [node for node, instance in flow.instances.items() if instance.type == "approval"]
    assert bool(waiting) == bool(approvals), "a flow with an approval has a case that waits for it"


async def test_templates_import_and_pass_their_cases_through_the_api(api: ApiHarness) -> None:
    """What the studio does with "new flow": list the templates, create a flow from one, run its cases."""
    champion = api.as_("champion")
    response = await champion.get("/api/templates")
    assert response.status_code == 200, response.text
    listed = response.json()
    assert [item["slug"] for item in listed] == [template.slug for template in TEMPLATES]
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


async def test_only_flow_builders_list_the_templates(api: ApiHarness) -> None:
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
        response = await api.as_(who).get("/api/templates")
        assert response.status_code == status, (who, response.text)
        if status == 403:
            assert "champion or admin in a workspace" in response.json()["message"]


def test_the_templates_directory_is_the_repository_one() -> None:
    assert Path(__file__).resolve().parents[2] / "templates" == TEMPLATES_DIR
