"""An edited decision payload must fit the task it is posted to (shape and size).

A letter written for one task posted to another (the studio's cards once leaked edits
between tasks) must not be sent: the runtime refuses a payload whose shape differs from
what the task raised, and one over the size limit, and the task stays open, unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest

from runtime.approvals.service import MAX_DECISION_PAYLOAD_BYTES
from tests.support.scenario import (  # noqa: F401 (fixtures sc, llm, shared_app)
    Scenario,
    approval_flow,
    expect,
    llm_fixture,
    sc_fixture,
    shared_app_fixture,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _decide(sc: Scenario, task_id: str, payload: Any) -> Any:
    return await sc.as_("champion2").post(
        f"/api/tasks/{task_id}/decision", json={"decision": "approve", "comment": "", "payload": payload}
    )


async def _waiting_task(sc: Scenario, document: dict[str, Any], customer: str) -> dict[str, Any]:
    flow = await sc.live(document)
    run = await sc.waiting_run(flow["slug"], customer=customer)
    return run["tasks"][0]  # type: ignore[no-any-return]


MISMATCHES = {
    "a field added": (
        {"to": "Kunz AG", "text": "Hallo", "bcc": "x@y"},
        "payload.bcc",
        "no such field",
        "string",
    ),
    "a field missing": ({"text": "Hallo"}, "payload.to", "string", "missing"),
    "a field of another type": ({"to": "Kunz AG", "text": 5}, "payload.text", "string", "number"),
    "text for an object": ("Hallo Kunz", "payload", "object", "string"),
    "a list for an object": ([{"to": "Kunz AG", "text": "Hallo"}], "payload", "object", "array"),
}


@pytest.mark.parametrize("case", MISMATCHES.values(), ids=MISMATCHES.keys())
async def test_a_payload_of_another_shape_is_refused_with_its_path(
    sc: Scenario, case: tuple[Any, ...]
) -> None:
    payload, path, expected, got = case
    task = await _waiting_task(sc, approval_flow(), customer="Kunz AG")
    assert task["payload"] == {"to": "Kunz AG", "text": "Angebot folgt"}
    before = await sc.counts()

    refused = await _decide(sc, task["id"], payload)
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["error"] == "payload_mismatch"
    assert (body["path"], body["expected"], body["got"]) == (path, expected, got)
    assert path in body["message"]

    assert await sc.counts() == before  # no decision row, the task untouched
    stored = expect(await sc.as_("champion2").get(f"/api/tasks/{task['id']}"), 200)
    assert stored["status"] == "open" and stored["approvals"] == 0 and stored["can_decide"] is True
    fitting = {"to": "Kunz AG", "text": "Sehr geehrte Damen und Herren, anbei das Angebot."}
    decided = expect(await _decide(sc, task["id"], fitting), 200)
    assert decided["status"] == "approved" and decided["resolution"]["payload"] == fitting


async def test_a_text_payload_stays_text(sc: Scenario) -> None:
    document = approval_flow()
    check = next(node for node in document["nodes"] if node["id"] == "check")
    check["config"]["payload"] = "Guten Tag {{ inputs.customer }}, das Angebot folgt."
    task = await _waiting_task(sc, document, customer="Bäckerei Kunz")
    assert task["payload"] == "Guten Tag Bäckerei Kunz, das Angebot folgt."
    refused = await _decide(sc, task["id"], {"text": "Guten Tag"})
    assert refused.status_code == 400 and refused.json()["path"] == "payload"
    decided = expect(await _decide(sc, task["id"], "Guten Tag Bäckerei Kunz, anbei das Angebot."), 200)
    assert decided["resolution"]["payload"] == "Guten Tag Bäckerei Kunz, anbei das Angebot."


async def test_list_items_may_come_and_go_but_keep_their_kind(sc: Scenario) -> None:
    document = approval_flow()
    check = next(node for node in document["nodes"] if node["id"] == "check")
    check["config"]["payload"] = '{"to": "{{ inputs.customer }}", "lines": [{"item": "Brot", "qty": 2}]}'
    task = await _waiting_task(sc, document, customer="Kunz")
    wrong = {"to": "Kunz", "lines": [{"item": "Brot", "qty": 2}, {"item": "Kuchen", "qty": "viel"}]}
    refused = await _decide(sc, task["id"], wrong)
    assert refused.status_code == 400 and refused.json()["path"] == "payload.lines[1].qty"
    right = {"to": "Kunz", "lines": [{"item": "Brot", "qty": 2}, {"item": "Kuchen", "qty": 1}]}
    assert expect(await _decide(sc, task["id"], right), 200)["status"] == "approved"


async def test_a_payload_over_the_size_limit_is_refused(sc: Scenario) -> None:
    task = await _waiting_task(sc, approval_flow(), customer="Kunz AG")
    before = await sc.counts()
    huge = {"to": "Kunz AG", "text": "x" * (MAX_DECISION_PAYLOAD_BYTES + 1)}
    refused = await _decide(sc, task["id"], huge)
    assert refused.status_code == 413, refused.text
    body = refused.json()
    assert body["error"] == "payload_too_large" and body["limit_bytes"] == MAX_DECISION_PAYLOAD_BYTES
    assert body["size_bytes"] > MAX_DECISION_PAYLOAD_BYTES
    assert await sc.counts() == before
    assert expect(await sc.as_("champion2").get(f"/api/tasks/{task['id']}"), 200)["status"] == "open"
