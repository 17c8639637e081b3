"""An agent's assistant tool through the API: the model calls a published assistant (a
sub-run for the same person); one that may change something waits for a person first."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.runtime.compose.flows import editor_run, slug
from tests.support.messages_api_double import MessagesApiDouble, Reply, tool_call
from tests.support.scenario import Scenario, approval_flow, expect, template_flow

pytestmark = pytest.mark.asyncio(loop_scope="module")


def agent_flow(tool: dict[str, Any], risk: str = "limited") -> dict[str, Any]:
    return {
        "schema": "dirigent.flow/v1",
        "name": "Agent",
        "inputs": {"question": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "agent", "type": "agent", "config": {"prompt": "{{ inputs.question }}", "tools": [tool]}},
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "agent"}, {"from": "agent", "to": "end"}],
        "outputs": {"answer": "{{ agent.text }}"},
        "card": {"purpose": "Vertrieb unterstützen", "risk": risk, "owner": "Vertrieb"},
    }


def assistant_tool(assistant: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "assistant",
        "name": "helfer",
        "description": "Ein Assistent",
        "assistant": assistant,
        **extra,
    }


async def test_an_agent_calls_a_read_only_assistant_without_asking(
    sc: Scenario, llm: MessagesApiDouble
) -> None:
    greeter = slug("gruss")
    await sc.live(template_flow("Hallo {{ inputs.name }}!"), greeter)
    llm.script(Reply(tool_calls=[tool_call("helfer", {"name": "Ada"})]), "Der Gruß lautet: Hallo Ada!")

    run = await editor_run(sc, agent_flow(assistant_tool(greeter)), {"question": "Grüße Ada"})

    assert run["status"] == "succeeded", run["error"]
    assert run["outputs"]["answer"] == "Der Gruß lautet: Hallo Ada!"
    first, second = llm.requests
    [offered] = first["tools"]
    # The parameters, derived from the assistant's declared inputs.
    assert offered["function"]["parameters"] == {
        "type": "object",
        "properties": {"name": {"type": "string"}, "times": {"type": "integer"}},
        "required": ["name"],
    }
    [answered] = [message for message in second["messages"] if message["role"] == "tool"]
    result = json.loads(answered["content"])
    assert result["outputs"] == {"text": "Hallo Ada!"}
    sub = expect(await sc.as_("champion").get(f"/api/runs/{result['run_id']}"), 200)
    assert sub["parent_run_id"] == run["id"] and sub["inputs"]["name"] == "Ada"


async def test_an_assistant_with_side_effects_waits_for_a_person(
    sc: Scenario, llm: MessagesApiDouble
) -> None:
    mailer = slug("freigabe")
    await sc.live(approval_flow(), mailer)
    llm.script(
        Reply(tool_calls=[tool_call("helfer", {"customer": "Müller GmbH"})]),
        "Die Mail wurde nicht verschickt.",
    )

    run = await editor_run(sc, agent_flow(assistant_tool(mailer)), {"question": "Schreibe Müller"})

    assert run["status"] == "waiting", run["error"]
    [task] = run["tasks"]
    [call] = task["payload"]["calls"]
    assert call["assistant"] == mailer and call["tool"] == "helfer"
    expect(
        await sc.as_("champion2").post(f"/api/tasks/{task['id']}/decision", json={"decision": "reject"}), 200
    )
    for _ in range(200):
        run = expect(await sc.as_("champion").get(f"/api/runs/{run['id']}"), 200)
        if run["status"] not in ("waiting", "running"):
            break
        await asyncio.sleep(0.05)
    assert run["status"] == "succeeded", run["error"]
    [answered] = [message for message in llm.requests[1]["messages"] if message["role"] == "tool"]
    assert "refused" in answered["content"]
    [agent] = [step for step in run["steps"] if step["node_id"] == "agent"]
    [called] = [step for step in agent["outputs"]["steps"] if step["kind"] == "tool"]
    assert (called["status"], called["decision"]) == ("refused", "refused")
    assert "run_id" not in called["result"]  # no sub-run was started


async def test_approve_never_on_an_assistant_tool_needs_a_minimal_risk_card(sc: Scenario) -> None:
    document = agent_flow(assistant_tool("irgendwer", approve="never"))
    response = await sc.as_("champion").post(
        "/api/workspaces/sales/flows", json={"name": "A", "slug": slug("agent"), "document": document}
    )
    assert response.status_code == 422, response.text
    assert any(error["code"] == "agent_approval_required" for error in response.json()["errors"])


async def test_an_approved_assistant_call_starts_the_linked_sub_run(
    sc: Scenario, llm: MessagesApiDouble
) -> None:
    mailer = slug("freigabe")
    await sc.live(approval_flow(), mailer)
    llm.script(
        Reply(tool_calls=[tool_call("helfer", {"customer": "Meyer KG"})]), "Die Mail wartet auf Freigabe."
    )
    run = await editor_run(sc, agent_flow(assistant_tool(mailer)), {"question": "Schreibe Meyer"})
    [task] = run["tasks"]

    expect(
        await sc.as_("champion2").post(f"/api/tasks/{task['id']}/decision", json={"decision": "approve"}), 200
    )

    for _ in range(200):
        run = expect(await sc.as_("champion").get(f"/api/runs/{run['id']}"), 200)
        if run["status"] not in ("waiting", "running"):
            break
        await asyncio.sleep(0.05)
    assert run["status"] == "succeeded", run["error"]
    [answered] = [message for message in llm.requests[1]["messages"] if message["role"] == "tool"]
    result = json.loads(answered["content"])
    # The sub-assistant itself waits for its own approval: the model hears that it has not finished.
    assert result["status"] == "waiting"
    sub = expect(await sc.as_("champion").get(f"/api/runs/{result['run_id']}"), 200)
    assert sub["parent_run_id"] == run["id"] and sub["inputs"] == {"customer": "Meyer KG"}
