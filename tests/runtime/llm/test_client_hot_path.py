"""What a call to a model endpoint without an API key costs and sends."""

from __future__ import annotations

import pytest
from huggingface_hub.utils import _auth

from nodes.services import ChatRequest
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.llm import HFChatModel, ModelEndpoints
from tests.support.messages_api_double import MessagesApiDouble

LOOPBACK = EgressGuard(EgressPolicy.parse("127.0.0.1"))
REQUEST = ChatRequest("default", [{"role": "user", "content": "?"}])


async def _ignore(token: str) -> None:
    return None


async def test_a_keyless_endpoint_sends_no_authorization_and_reads_no_token_file(
    messages_api: MessagesApiDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    real = _auth._get_token_from_file

    def counted() -> str | None:
        lookups.append("file")
        return real()

    monkeypatch.setattr(_auth, "_get_token_from_file", counted)
    monkeypatch.delenv("HF_TOKEN", raising=False)  # (a set HF_TOKEN: tests/nodes/test_llm.py)
    model = HFChatModel(ModelEndpoints([("default", messages_api.url, "tiny-chat", None)]), guard=LOOPBACK)
    try:
        await model.chat(REQUEST)
        await model.chat(REQUEST, _ignore)
    finally:
        await model.aclose()

    assert [("authorization" in headers) for headers in messages_api.headers] == [False, False]
    assert lookups == []  # huggingface_hub looked for no token (two file reads per call before)


async def test_streamed_chunks_are_read_as_json_without_huggingface_hubs_dataclasses(
    messages_api: MessagesApiDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing each chunk into huggingface_hub's nested dataclasses cost more than the rest
    of a token's way to the caller; the answer must come out the same."""
    from huggingface_hub import ChatCompletionStreamOutput

    parsed: list[object] = []
    real = ChatCompletionStreamOutput.parse_obj_as_instance.__func__  # type: ignore[attr-defined]

    def counting(cls: type, data: object) -> object:
        parsed.append(data)
        return real(cls, data)

    monkeypatch.setattr(ChatCompletionStreamOutput, "parse_obj_as_instance", classmethod(counting))
    messages_api.reply(
        "Morgen um zehn.",
        chunks=["Morgen ", "um ", "zehn."],
        usage={"prompt_tokens": 5, "completion_tokens": 3},
    )
    tokens: list[str] = []

    async def collect(token: str) -> None:
        tokens.append(token)

    model = HFChatModel(ModelEndpoints([("default", messages_api.url, "tiny-chat", None)]), guard=LOOPBACK)
    try:
        result = await model.chat(REQUEST, collect)
    finally:
        await model.aclose()

    assert tokens == ["Morgen ", "um ", "zehn."]
    assert result.text == "Morgen um zehn." and result.finish_reason == "stop"
    assert result.usage == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    assert result.model == "tiny-chat"
    assert messages_api.last_request["stream_options"] == {"include_usage": True}
    assert parsed == []
