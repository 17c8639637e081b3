"""Model endpoints keep a bounded pool of connections: streamed calls reuse them, and a new
allow list or a changed endpoint gets new ones (checked by the egress guard again)."""

from __future__ import annotations

import asyncio

import pytest

from nodes.services import ChatRequest
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.connections.errors import EgressDenied
from runtime.llm import HFChatModel, ModelEndpoints
from tests.support.messages_api_double import MessagesApiDouble, Reply

LOOPBACK = EgressGuard(EgressPolicy.parse("127.0.0.1"))  # the double listens on 127.0.0.1
REQUEST = ChatRequest("default", [{"role": "user", "content": "?"}])


async def _ignore(token: str) -> None:
    return None


def model_on(messages_api: MessagesApiDouble, **options: object) -> HFChatModel:
    return HFChatModel(
        ModelEndpoints([("default", messages_api.url, "tiny-chat", None)]),
        guard=LOOPBACK,
        **options,  # type: ignore[arg-type]
    )


async def test_fifty_streamed_calls_one_after_the_other_use_one_connection(
    messages_api: MessagesApiDouble,
) -> None:
    model = model_on(messages_api, streams_per_client=7)  # clients are renewed; the pool stays
    try:
        for _ in range(50):
            result = await model.chat(REQUEST, _ignore)
            assert result.text == Reply().text
    finally:
        await model.aclose()
    assert messages_api.served == 50
    assert messages_api.connections == 1


async def test_concurrent_streamed_calls_never_open_more_connections_than_the_pool_holds(
    messages_api: MessagesApiDouble,
) -> None:
    messages_api.reply(Reply(chunk_delay_s=0.002))  # calls overlap
    model = model_on(messages_api, streams_per_client=7, pool_connections=4)
    try:
        for _ in range(5):  # 50 calls in five waves of ten at once
            results = await asyncio.gather(*(model.chat(REQUEST, _ignore) for _ in range(10)))
            assert all(result.text == Reply().text for result in results)
    finally:
        await model.aclose()
    assert messages_api.served == 50
    assert messages_api.connections <= 4


async def test_a_new_allow_list_does_not_reuse_connections_the_old_one_allowed(
    messages_api: MessagesApiDouble,
) -> None:
    model = model_on(messages_api)
    try:
        await model.chat(REQUEST, _ignore)  # a connection is kept alive now
        model.guard = EgressGuard(EgressPolicy())  # an admin took 127.0.0.1 off the list
        with pytest.raises(EgressDenied):
            await model.chat(REQUEST, _ignore)
        with pytest.raises(EgressDenied):
            await model.chat(REQUEST)
    finally:
        await model.aclose()
    assert messages_api.served == 1


async def test_a_changed_endpoint_gets_a_pool_of_its_own_and_the_old_one_is_closed(
    messages_api: MessagesApiDouble,
) -> None:
    model = model_on(messages_api)
    try:
        await model.chat(REQUEST, _ignore)
        model.endpoints.register("default", messages_api.url, "tiny-chat-v2")  # an admin's edit
        for _ in range(3):
            await model.chat(REQUEST, _ignore)
        assert messages_api.last_request["model"] == "tiny-chat-v2"
        assert messages_api.connections == 2  # one per version of the endpoint
        assert len(model._slots) == 1 and not model._retired  # the old client and pool are gone
    finally:
        await model.aclose()
