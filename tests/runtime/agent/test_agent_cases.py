"""An agent in a flow's test cases: in fixed mode it must be fixed (no model turn, no
tool); live, its model runs but its connection tools never do — the case fails naming
the node instead of the model hearing an error."""

from __future__ import annotations

from typing import Any

from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.engine.compiled import compile_flow
from runtime.llm.client import HFChatModel, ModelEndpoints
from runtime.testing.runner import run_cases
from tests.runtime.agent.test_agent_runs import agent_flow, crm_tool
from tests.support.messages_api_double import MessagesApiDouble, Reply, tool_call

FIXED = {"agent": {"text": "Erledigt.", "json": None, "steps": [], "usage": {}, "sources": []}}


def with_case(fixed: dict[str, Any]) -> dict[str, Any]:
    document = agent_flow([crm_tool("crm", "note_task", "POST", approve="never")], risk="minimal")
    document["tests"] = [
        {
            "name": "fall",
            "inputs": {"question": "?"},
            "fixed": fixed,
            "expect": [{"check": "equals", "output": "answer", "value": "Erledigt."}],
        }
    ]
    return document


async def test_in_fixed_mode_an_unfixed_agent_fails_the_case_and_a_fixed_one_passes() -> None:
    suite = await run_cases(compile_flow(with_case({})), {}, mode="fixed")
    [result] = suite.cases
    assert not result.passed and result.error is not None
    assert (result.error["node"], result.error["code"]) == ("agent", "not_fixed")
    assert result.error["message"].startswith("agent node 'agent' is not fixed in this case")

    suite = await run_cases(compile_flow(with_case(FIXED)), {}, mode="fixed")
    assert suite.cases[0].passed, suite.cases[0].failures


async def test_live_the_agents_connection_tool_is_never_called(messages_api: MessagesApiDouble) -> None:
    messages_api.script(Reply(tool_calls=[tool_call("note_task", {"id": 1})]), "Erledigt.")
    model = HFChatModel(
        ModelEndpoints([("default", messages_api.url, "tiny-chat", None)]),
        guard=EgressGuard(EgressPolicy.parse("127.0.0.1")),
    )
    try:
        suite = await run_cases(compile_flow(with_case({})), {"llm": model}, mode="live")
    finally:
        await model.aclose()
    [result] = suite.cases
    assert not result.passed and result.error is not None
    assert (result.error["node"], result.error["code"]) == ("agent", "not_fixed")
    assert len(messages_api.requests) == 1  # the model asked for the tool; the case stopped there
