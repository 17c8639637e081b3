"""Four eyes on approval tasks: whoever started a run never decides the task it raised —
unless the approval node says `requester_may_decide: true` and the flow's card says
`risk: minimal`, and then the decision is audited as the requester's own.

The reproduction of the report: a champion invoked `approval-demo` (assigned to
role:champion) and approved their own message."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.starters.loader import STARTERS_DIR, load_starters
from tests.support.scenario import (
    Scenario,
    approval_flow,
    expect,
    llm_fixture,
    sc_fixture,
    shared_app_fixture,
)

__all__ = ["llm_fixture", "sc_fixture", "shared_app_fixture"]

pytestmark = pytest.mark.asyncio(loop_scope="module")


def own_task_flow(*, risk: str = "limited", requester_may_decide: bool | None = None) -> dict[str, Any]:
    """`approval_flow` whose task goes to every champion of sales (the requester is one)."""
    document = approval_flow(assignees=("role:champion",))
    document["card"]["risk"] = risk
    if requester_may_decide is not None:
        check = next(node for node in document["nodes"] if node["id"] == "check")
        check["config"]["requester_may_decide"] = requester_may_decide
    return document


async def decision(sc: Scenario, who: str, task_id: str) -> Any:
    return await sc.as_(who).post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})


async def test_the_requester_does_not_decide_the_task_of_their_own_run(sc: Scenario) -> None:
    flow = await sc.live(own_task_flow())
    run = await sc.waiting_run(flow["slug"], by="champion")
    task_id = run["tasks"][0]["id"]

    task = expect(await sc.as_("champion").get(f"/api/tasks/{task_id}"), 200)  # sees it
    assert task["can_decide"] is False
    listed = {item["id"]: item for item in expect(await sc.as_("champion").get("/api/tasks"), 200)}
    assert listed[task_id]["can_decide"] is False
    refused = await decision(sc, "champion", task_id)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "forbidden"
    assert refused.json()["reason"] == "four_eyes_requester"  # for the studio to say it in German
    assert "four eyes" in refused.json()["message"] and "started the run" in refused.json()["message"]

    assert expect(await sc.as_("champion2").get(f"/api/tasks/{task_id}"), 200)["can_decide"] is True
    decided = expect(await decision(sc, "champion2", task_id), 200)
    assert decided["status"] == "approved" and decided["run_status"] == "succeeded"


async def test_the_approval_demo_starter_is_not_approved_by_whoever_invoked_it(sc: Scenario) -> None:
    """The report: a champion invoked approval-demo and approved their own message."""
    [demo] = [starter for starter in load_starters(STARTERS_DIR) if starter.slug == "approval-demo"]
    flow = await sc.live(demo.document)
    run = await sc.invoke(
        flow["slug"], {"recipient": "Firma Müller GmbH", "topic": "Lieferverzögerung"}, by="champion"
    )
    assert run["status"] == "waiting", run
    task_id = run["tasks"][0]["id"]

    assert (await decision(sc, "champion", task_id)).status_code == 403
    decided = expect(await decision(sc, "champion2", task_id), 200)
    assert decided["run_status"] == "succeeded"
    finished = expect(await sc.as_("champion").get(f"/api/runs/{run['id']}"), 200)
    assert finished["outputs"]["decision"] == "approved"


async def test_requester_may_decide_on_a_minimal_risk_flow_and_it_is_audited(sc: Scenario) -> None:
    flow = await sc.live(own_task_flow(risk="minimal", requester_may_decide=True))
    run = await sc.waiting_run(flow["slug"], by="champion")
    task_id = run["tasks"][0]["id"]
    assert expect(await sc.as_("champion").get(f"/api/tasks/{task_id}"), 200)["can_decide"] is True

    decided = expect(await decision(sc, "champion", task_id), 200)
    assert decided["status"] == "approved"
    entries = expect(
        await sc.as_("board1").get("/api/audit", params={"action": "task.decided", "limit": 500}), 200
    )
    [entry] = [entry for entry in entries if entry["resource_id"] == task_id]
    assert entry["actor"] == "champion" and entry["detail"]["by_requester"] is True


@pytest.mark.parametrize(
    ("risk", "may_decide"),
    [("limited", True), ("high", True), ("minimal", False), ("minimal", None)],
    ids=["limited-risk", "high-risk", "minimal-risk-not-allowed", "minimal-risk-default"],
)
async def test_without_both_conditions_the_requester_still_may_not_decide(
    sc: Scenario, risk: str, may_decide: bool | None
) -> None:
    flow = await sc.live(own_task_flow(risk=risk, requester_may_decide=may_decide))
    run = await sc.waiting_run(flow["slug"], by="champion")
    task_id = run["tasks"][0]["id"]
    assert (await decision(sc, "champion", task_id)).status_code == 403
    decided = expect(await decision(sc, "champion2", task_id), 200)
    assert decided["status"] == "approved"
    entries = expect(
        await sc.as_("board1").get("/api/audit", params={"action": "task.decided", "limit": 500}), 200
    )
    [entry] = [entry for entry in entries if entry["resource_id"] == task_id]
    assert entry["detail"]["by_requester"] is False


async def test_a_run_without_a_person_has_no_requester_to_exclude(sc: Scenario) -> None:
    """Runs of schedules and webhooks act for their trigger's creator; runs started by no
    one at all (started_by null) leave every assignee free to decide."""
    from sqlalchemy import update

    from runtime.db.models import ApprovalTask

    flow = await sc.live(own_task_flow())
    run = await sc.waiting_run(flow["slug"], by="user")
    task_id = run["tasks"][0]["id"]

    async def forget_requester(session: Any) -> None:
        forget = update(ApprovalTask).where(ApprovalTask.id == task_id).values(requested_by=None)
        await session.execute(forget)

    sc.in_app(forget_requester, write=True)
    assert expect(await decision(sc, "champion", task_id), 200)["status"] == "approved"
