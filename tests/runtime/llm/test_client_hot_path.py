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
