"""The `assistant` node through the API: a published assistant as one node, run as a
linked sub-run for the same person (policy and knowledge access carried through)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.runtime.compose.flows import assistant_node, editor_run, parent_flow, retrieval_flow, slug
from tests.runtime.knowledge.conftest import upload
from tests.support.scenario import Scenario, approval_flow, expect, template_flow

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_the_node_returns_the_sub_assistants_outputs_and_links_the_sub_run(sc: Scenario) -> None:
    greeter = slug("gruss")
    await sc.live(template_flow("Hallo {{ inputs.name }}!"), greeter)
    node = assistant_node(greeter, {"name": "{{ inputs.name }}"}, outputs_expected=["text"])

    run = await editor_run(
        sc, parent_flow(node, {"text": "{{ sub.text }}", "run": "{{ sub.run_id }}"}), {"name": "Ada"}
    )

    assert run["status"] == "succeeded", run["error"]
    assert run["outputs"]["text"] == "Hallo Ada!"
    [step] = [step for step in run["steps"] if step["node_id"] == "sub"]
    assert step["outputs"]["outputs"] == {"text": "Hallo Ada!"}
    sub = expect(await sc.as_("champion").get(f"/api/runs/{run['outputs']['run']}"), 200)
    assert sub["parent_run_id"] == run["id"]
    assert sub["status"] == "succeeded" and sub["inputs"]["name"] == "Ada"
    assert run["parent_run_id"] is None


async def test_typed_inputs_keep_their_type(sc: Scenario) -> None:
    greeter = slug("gruss")
    await sc.live(template_flow("{{ (inputs.times or 1) * 2 }}"), greeter)
    node = assistant_node(greeter, {"name": "x", "times": "{{ 3 }}"}, outputs_expected=["text"])

    run = await editor_run(sc, parent_flow(node, {"text": "{{ sub.text }}"}), {"name": "Ada"})

    assert run["status"] == "succeeded", run["error"]
    assert run["outputs"]["text"] == "6"


async def test_the_sub_run_searches_knowledge_with_the_callers_access(sc: Scenario) -> None:
    index = expect(
        await sc.as_("champion").post("/api/workspaces/sales/knowledge", json={"name": slug("personal")}), 201
    )
    await upload(
        sc.api,
        index["id"],
        [("gehalt.txt", b"Gehaltsband Vertrieb: 55.000 Euro Bonus")],
        labels="hr-salaries",
    )
    await upload(sc.api, index["id"], [("bonus.txt", b"Bonusregeln Vertrieb: Zielvereinbarung im Januar")])
    finder = slug("personal")
    await sc.live(retrieval_flow(index["name"]), finder)
    node = assistant_node(finder, {"question": "{{ inputs.name }}"}, outputs_expected=["context"])
    document = parent_flow(node, {"context": "{{ sub.context }}"})

    champion = await editor_run(sc, document, {"name": "Gehalt Bonus Vertrieb"}, by="champion")
    admin = await editor_run(sc, document, {"name": "Gehalt Bonus Vertrieb"}, by="salesadmin")

    assert champion["status"] == "succeeded", champion["error"]
    assert "bonus.txt" in champion["outputs"]["context"]
    assert "gehalt" not in champion["outputs"]["context"].lower()  # hidden from the champion
    assert admin["status"] == "succeeded", admin["error"]
    assert "gehalt.txt" in admin["outputs"]["context"]  # the sales admin may read it


async def test_a_caller_who_may_not_invoke_the_sub_assistant_gets_a_clear_error(sc: Scenario) -> None:
    hr_only = slug("hr")
    flow = await sc.create(
        template_flow("Intern {{ inputs.name }}"), hr_only, by="hrchampion", workspace="hr"
    )
    await sc.submit(flow["id"], by="hrchampion")
    if (await sc.approve(flow["id"], by="board1"))["state"] == "submitted":
        await sc.approve(flow["id"], by="board2")
    await sc.publish(flow["id"], by="hrchampion")
    node = assistant_node(hr_only, {"name": "{{ inputs.name }}"})

    run = await editor_run(sc, parent_flow(node, {"run": "{{ sub.run_id }}"}), {"name": "Ada"})

    assert run["status"] == "failed"
    assert run["error"]["code"] == "assistant_forbidden", run["error"]
    assert run["error"]["node"] == "sub" and run["error"]["assistant"] == hr_only


async def test_an_unknown_assistant_or_version_is_a_clear_error(sc: Scenario) -> None:
    greeter = slug("gruss")
    await sc.live(template_flow(), greeter)
    for assistant, version in ((slug("gibtsnicht"), "live"), (greeter, 7)):
        node = assistant_node(assistant, {"name": "x"}, version=version)
        run = await editor_run(sc, parent_flow(node, {"run": "{{ sub.run_id }}"}), {"name": "Ada"})
        assert run["status"] == "failed"
        assert run["error"]["code"] == "assistant_not_found", run["error"]
        assert run["error"]["version"] == str(version)


async def test_an_assistant_that_calls_itself_is_stopped_at_the_depth_limit(sc: Scenario) -> None:
    itself = slug("selbst")
    node = assistant_node(itself, {"name": "{{ inputs.name }}"})
    document = parent_flow(node, {"run": "{{ sub.run_id }}"})
    document["tests"] = [
        {
            "name": "ruft sich auf",
            "inputs": {"name": "Ada"},
            "fixed": {"sub": {"outputs": {}, "run_id": "x"}},
            "expect": [{"check": "status", "value": "succeeded"}],
        }
    ]
    await sc.live(document, itself)

    run = await sc.invoke(itself, {"name": "Ada"}, by="champion", wait_s=60)

    assert run["status"] == "failed"
    # Each level fails because the one below it failed; the innermost names the limit.
    assert run["error"]["code"] == "assistant_run_failed", run["error"]
    depth = 0
    error = run["error"]
    while error.get("code") == "assistant_run_failed":
        depth += 1
        error = expect(await sc.as_("champion").get(f"/api/runs/{error['run_id']}"), 200)["error"]
    assert error["code"] == "assistant_depth_exceeded" and error["limit"] == 5
    assert depth == 5


async def _run_when(sc: Scenario, run_id: str, status: str) -> dict[str, Any]:
    for _ in range(300):
        run = expect(await sc.as_("champion").get(f"/api/runs/{run_id}"), 200)
        if run["status"] == status:
            return run  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} is {run['status']}, not {status}")


async def test_a_sub_run_waiting_for_approval_makes_the_parent_wait_until_it_ends(sc: Scenario) -> None:
    mailer = slug("freigabe")
    await sc.live(approval_flow(), mailer)
    node = assistant_node(mailer, {"customer": "{{ inputs.name }}"}, outputs_expected=["decision", "sent"])
    document = parent_flow(node, {"decision": "{{ sub.decision }}", "sent": "{{ sub.sent }}"})

    parent = await editor_run(sc, document, {"name": "Müller GmbH"})

    assert parent["status"] == "waiting", parent["error"]
    assert parent["tasks"] == []  # the parent waits for its sub-run, not for a person
    [step] = [step for step in parent["steps"] if step["node_id"] == "sub"]
    [sub_id] = step["outputs"]["request"]["sub_runs"]
    sub = expect(await sc.as_("champion").get(f"/api/runs/{sub_id}"), 200)
    assert sub["status"] == "waiting" and sub["parent_run_id"] == parent["id"]
    [task] = sub["tasks"]

    expect(
        await sc.as_("champion2").post(f"/api/tasks/{task['id']}/decision", json={"decision": "approve"}), 200
    )

    done = await _run_when(sc, parent["id"], "succeeded")
    assert done["outputs"]["decision"] == "approved"
    assert "Müller GmbH" in done["outputs"]["sent"]
    [step] = [step for step in done["steps"] if step["node_id"] == "sub"]
    assert step["outputs"]["run_id"] == sub_id


async def test_a_map_waits_for_all_items_when_one_waits_for_approval(sc: Scenario) -> None:
    mailer = slug("freigabe")
    await sc.live(approval_flow(), mailer)
    node = {
        "id": "each",
        "type": "map",
        "config": {"assistant": mailer, "items": "inputs.rows", "input": {"customer": "{{ item }}"}},
    }
    document = parent_flow(node, {"count": "{{ each.count }}"}, {"rows": {"type": "array", "required": True}})

    parent = await editor_run(sc, document, {"rows": ["A GmbH", "B AG"]})

    assert parent["status"] == "waiting", parent["error"]
    [step] = [step for step in parent["steps"] if step["node_id"] == "each"]
    sub_ids = step["outputs"]["request"]["sub_runs"]
    assert len(sub_ids) == 2
    for number, sub_id in enumerate(sub_ids):
        [task] = expect(await sc.as_("champion").get(f"/api/runs/{sub_id}"), 200)["tasks"]
        decision = "approve" if number == 0 else "reject"
        expect(
            await sc.as_("champion2").post(f"/api/tasks/{task['id']}/decision", json={"decision": decision}),
            200,
        )
        if number == 0:  # one of two ended: the parent still waits
            await _run_when(sc, sub_id, "succeeded")
            await asyncio.sleep(0.5)  # a few sweeps
            assert (
                expect(await sc.as_("champion").get(f"/api/runs/{parent['id']}"), 200)["status"] == "waiting"
            )

    done = await _run_when(sc, parent["id"], "succeeded")
    [step] = [step for step in done["steps"] if step["node_id"] == "each"]
    first, second = step["outputs"]["results"]
    assert first["decision"] == "approved" and second["decision"] == "rejected"
    assert step["outputs"]["failed"] == []


async def test_a_test_case_must_fix_an_assistant_node(sc: Scenario) -> None:
    greeter = slug("gruss")
    await sc.live(template_flow(), greeter)
    document = parent_flow(assistant_node(greeter, {"name": "x"}), {"run": "{{ sub.run_id }}"})
    document["tests"] = [
        {"name": "ohne", "inputs": {"name": "Ada"}, "expect": [{"check": "status", "value": "succeeded"}]}
    ]
    flow = await sc.create(document, slug("eltern"))

    report = await sc.run_tests(flow["id"], passed=False)

    [case] = report["cases"]
    assert any(failure["code"] == "not_fixed" for failure in case["failures"]), case


async def test_cancelling_a_waiting_parent_cancels_its_sub_run_and_its_task(sc: Scenario) -> None:
    mailer = slug("freigabe")
    await sc.live(approval_flow(), mailer)
    node = assistant_node(mailer, {"customer": "{{ inputs.name }}"})
    parent = await editor_run(sc, parent_flow(node, {"run": "{{ sub.run_id }}"}), {"name": "Müller GmbH"})
    assert parent["status"] == "waiting", parent["error"]
    [step] = [step for step in parent["steps"] if step["node_id"] == "sub"]
    [sub_id] = step["outputs"]["request"]["sub_runs"]

    expect(await sc.as_("champion").post(f"/api/runs/{parent['id']}/cancel"), 200)

    assert expect(await sc.as_("champion").get(f"/api/runs/{parent['id']}"), 200)["status"] == "cancelled"
    sub = expect(await sc.as_("champion").get(f"/api/runs/{sub_id}"), 200)
    assert sub["status"] == "cancelled"
    assert [task["status"] for task in sub["tasks"]] == ["cancelled"]
