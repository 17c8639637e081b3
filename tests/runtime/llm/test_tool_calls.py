"""Tool calls through the Messages API: the `tools` sent, the calls read back — answered
whole or streamed in pieces (OpenAI's and TGI's streaming shape), against the double."""

from __future__ import annotations

import json

import pytest

from nodes.services import ChatRequest, ToolCall
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.llm import HFChatModel, ModelEndpoints
from tests.support.messages_api_double import MessagesApiDouble, Reply, tool_call

LOOPBACK = EgressGuard(EgressPolicy.parse("127.0.0.1"))
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Sucht im Handbuch",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]


async def _ignore(token: str) -> None:
    return None


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_the_tools_are_sent_and_the_calls_the_model_asks_for_come_back(
    messages_api: MessagesApiDouble, streamed: bool
) -> None:
    messages_api.reply(
        Reply(
            tool_calls=[
                tool_call("search", {"query": "Urlaub für Auszubildende"}, "call_1"),
                tool_call("search", {"query": "Überstunden"}, "call_2"),
            ]
        )
    )
    model = HFChatModel(ModelEndpoints([("default", messages_api.url, "tiny-chat", None)]), guard=LOOPBACK)
    try:
        result = await model.chat(
            ChatRequest("default", [{"role": "user", "content": "?"}], tools=TOOLS),
            _ignore if streamed else None,
        )
    finally:
        await model.aclose()

    sent = messages_api.last_request
    assert sent["tools"] == TOOLS and sent["tool_choice"] == "auto"
    assert result.text == "" and result.finish_reason == "tool_calls"
    assert result.tool_calls == [
        ToolCall("call_1", "search", json.dumps({"query": "Urlaub für Auszubildende"}, ensure_ascii=False)),
        ToolCall("call_2", "search", json.dumps({"query": "Überstunden"}, ensure_ascii=False)),
    ]


async def test_without_tools_nothing_about_tools_is_sent(messages_api: MessagesApiDouble) -> None:
    messages_api.reply("Paris.")
    model = HFChatModel(ModelEndpoints([("default", messages_api.url, "tiny-chat", None)]), guard=LOOPBACK)
    try:
        result = await model.chat(ChatRequest("default", [{"role": "user", "content": "?"}]))
    finally:
        await model.aclose()
    assert "tools" not in messages_api.last_request and "tool_choice" not in messages_api.last_request
    assert result.text == "Paris." and result.tool_calls == []


def test_a_script_answers_in_order_and_then_fails_visibly(messages_api: MessagesApiDouble) -> None:
    import httpx

    messages_api.script("eins", Reply("zwei"))
    answers = []
    for _ in range(3):
        response = httpx.post(
            messages_api.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "?"}]}
        )
        answers.append((response.status_code, response.json().get("choices", [{}])[0].get("message", {})))
    assert [status for status, _ in answers] == [200, 200, 500]
    assert [message.get("content") for _, message in answers[:2]] == ["eins", "zwei"]
