"""The `llm` node and the router's classification mode, through `HFChatModel`.

Every test talks HTTP to `messages_api`, a TEST DOUBLE that stands in for a TGI server
(see `tests.support.messages_api_double`); nothing about the client is mocked.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from nodes.base import NodeContext
from nodes.errors import NodeError, ServiceUnavailable
from nodes.llm import LLMNode
from nodes.router import RouterNode
from nodes.services import ChatRequest
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.llm import HFChatModel, ModelEndpoints, hf_session
from runtime.settings import Settings
from tests.support.messages_api_double import MessagesApiDouble, Reply, closed_port_url

SECRET = "sk-dirigent-test-4711-do-not-print"
# Model endpoints pass the egress guard, which refuses loopback unless it is allowed: the
# double listens on 127.0.0.1, so these tests allow it, as an admin would.
LOOPBACK = EgressGuard(EgressPolicy.parse("127.0.0.1"))
SCOPE = {
    "inputs": {"question": "Where is Ulm?"},
    "find": {"context": "Ulm lies on the Danube."},
}


@pytest.fixture
async def chat_model(messages_api: MessagesApiDouble) -> AsyncIterator[HFChatModel]:
    model = HFChatModel(ModelEndpoints([("default", messages_api.url, "tiny-chat", None)]), guard=LOOPBACK)
    yield model
    await model.aclose()


def node_context(chat_model: HFChatModel, events: list[dict[str, Any]]) -> NodeContext:
    return NodeContext(
        run_id="run-1",
        node_id="answer",
        node_type="llm",
        flow_inputs=SCOPE["inputs"],
        services={"llm": chat_model},
        emit=events.append,
    )


def llm_node(**config: Any) -> LLMNode:
    config.setdefault("prompt", "{{ inputs.question }}")
    return LLMNode("answer", LLMNode.Config(**config))


async def run_llm(
    chat_model: HFChatModel, **config: Any
) -> tuple[dict[str, Any], NodeContext, list[dict[str, Any]]]:
    """Run an `llm` node on SCOPE: its outputs, its context, the events it sent."""
    events: list[dict[str, Any]] = []
    ctx = node_context(chat_model, events)
    outputs = await llm_node(**config).run(ctx, SCOPE)
    return outputs, ctx, events


def unreachable_model(url: str | None = None, api_key: str | None = None) -> HFChatModel:
    """A model whose "default" endpoint is a port where nothing listens."""
    return HFChatModel(
        ModelEndpoints([("default", url or closed_port_url(), "tiny-chat", api_key)]), guard=LOOPBACK
    )


# -- what is sent ----------------------------------------------------------------------
async def test_prompts_are_rendered_into_system_and_user_messages(
    chat_model: HFChatModel, messages_api: MessagesApiDouble
) -> None:
    await run_llm(
        chat_model,
        system="Answer only from: {{ find.context }}",
        temperature=0.7,
        max_tokens=99,
    )

    sent = messages_api.last_request
    assert sent["messages"] == [
        {"role": "system", "content": "Answer only from: Ulm lies on the Danube."},
        {"role": "user", "content": "Where is Ulm?"},
    ]
    assert sent["temperature"] == 0.7
    assert sent["max_tokens"] == 99
    assert sent["model"] == "tiny-chat"  # the endpoint's model id, not the endpoint name
    assert "response_format" not in sent


async def test_a_blank_system_prompt_sends_only_the_user_message(
    chat_model: HFChatModel, messages_api: MessagesApiDouble
) -> None:
    await run_llm(chat_model, system="  ")

    assert messages_api.last_request["messages"] == [{"role": "user", "content": "Where is Ulm?"}]


async def test_tokens_stream_in_order_through_ctx_send(
    chat_model: HFChatModel, messages_api: MessagesApiDouble
) -> None:
    messages_api.reply(chunks=["Ulm ", "liegt ", "an der ", "Donau."], chunk_delay_s=0.01)

    outputs, _, events = await run_llm(chat_model)

    assert events == [
        {"node": "answer", "type": "token", "text": text} for text in ["Ulm ", "liegt ", "an der ", "Donau."]
    ]
    assert outputs["text"] == "Ulm liegt an der Donau."
    sent = messages_api.last_request
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


async def test_usage_from_the_final_stream_chunk_is_recorded(
    chat_model: HFChatModel, messages_api: MessagesApiDouble
) -> None:
    messages_api.reply("Ulm.", usage={"prompt_tokens": 31, "completion_tokens": 4})

    outputs, ctx, _ = await run_llm(chat_model)

    expected = {"prompt_tokens": 31, "completion_tokens": 4, "total_tokens": 35}
    assert ctx.usage == expected
    assert outputs["usage"] == expected


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "plain"])
async def test_a_server_without_usage_counts_zero_tokens(
    chat_model: HFChatModel, messages_api: MessagesApiDouble, streamed: bool
) -> None:
    messages_api.reply("Ulm.", usage=None)
    tokens: list[str] = []

    async def collect(token: str) -> None:
        tokens.append(token)

    result = await chat_model.chat(
        ChatRequest("default", [{"role": "user", "content": "?"}]),
        on_token=collect if streamed else None,
    )

    assert result.text == "Ulm."
    assert result.usage == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert messages_api.last_request["stream"] is streamed


async def test_json_schema_is_sent_as_tgi_grammar_and_the_answer_parsed(
    chat_model: HFChatModel, messages_api: MessagesApiDouble
) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "river": {"type": "string"}},
        "required": ["city", "river"],
    }
    messages_api.reply('{"city": "Ulm", "river": "Donau"}')

    outputs, _, _ = await run_llm(chat_model, json_schema=schema)

    assert messages_api.last_request["response_format"] == {"type": "json_object", "value": schema}
    assert outputs["json"] == {"city": "Ulm", "river": "Donau"}
    assert outputs["text"] == '{"city": "Ulm", "river": "Donau"}'


async def test_an_answer_that_is_not_json_fails_the_node(
    chat_model: HFChatModel, messages_api: MessagesApiDouble
) -> None:
    messages_api.reply("Sorry, I cannot answer in JSON.")

    with pytest.raises(NodeError, match="asked for JSON but answered something else"):
        await run_llm(chat_model, json_schema={"type": "object"})


# -- what goes wrong -------------------------------------------------------------------
@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "plain"])
async def test_an_endpoint_that_is_down_is_service_unavailable(streamed: bool) -> None:
    url = closed_port_url()
    model = unreachable_model(url)
    collect = _ignore if streamed else None

    with pytest.raises(ServiceUnavailable) as raised:
        await model.chat(ChatRequest("default", [{"role": "user", "content": "?"}]), collect)

    assert str(raised.value) == (
        f"the model endpoint 'default' at {url} cannot be reached (Connection refused); "
        "is the server running and the URL right?"
    )
    await model.aclose()


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "plain"])
async def test_a_server_error_is_service_unavailable_with_the_servers_reason(
    chat_model: HFChatModel, messages_api: MessagesApiDouble, streamed: bool
) -> None:
    messages_api.reply(status=500, error="CUDA out of memory")

    with pytest.raises(ServiceUnavailable) as raised:
        await chat_model.chat(
            ChatRequest("default", [{"role": "user", "content": "?"}]),
            on_token=_ignore if streamed else None,
        )

    assert str(raised.value) == (
        f"the model endpoint 'default' at {messages_api.url} failed with HTTP 500: CUDA out of memory"
    )


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (
            422,
            "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192",
            "rejected the request (HTTP 422): Input validation error",
        ),
        (401, "unauthorized", "refused the credentials (HTTP 401); check the endpoint's API key"),
        (404, "not found", "has no Messages API at this URL (HTTP 404)"),
        (429, "Model is overloaded", "is overloaded (HTTP 429); try again later"),
        (503, "loading", "failed with HTTP 503: loading"),
    ],
)
async def test_http_errors_say_what_the_server_objected_to(
    chat_model: HFChatModel,
    messages_api: MessagesApiDouble,
    status: int,
    error: str,
    expected: str,
) -> None:
    messages_api.reply(status=status, error=error)

    with pytest.raises(ServiceUnavailable, match=r"at http://127\.0\.0\.1") as raised:
        await run_llm(chat_model)

    assert expected in str(raised.value)


@pytest.mark.parametrize(
    "reply",
    [Reply(delay_s=5.0), Reply(chunks=["a ", "b ", "c ", "d"], chunk_delay_s=0.3)],
    ids=["silent", "trickling"],
)
async def test_a_slow_server_fails_within_about_the_timeout(
    chat_model: HFChatModel, messages_api: MessagesApiDouble, reply: Reply
) -> None:
    # "trickling" sends a chunk more often than any read timeout would notice, so only a
    # bound on the whole call stops it.
    messages_api.reply(reply)
    started = time.monotonic()

    with pytest.raises(ServiceUnavailable) as raised:
        await run_llm(chat_model, timeout_s=0.5)

    assert time.monotonic() - started < 1.5
    assert str(raised.value) == (
        f"the model endpoint 'default' at {messages_api.url} did not answer within 0.5 s (the node's timeout)"
    )


async def test_an_unknown_model_name_lists_the_known_endpoints(
    chat_model: HFChatModel, messages_api: MessagesApiDouble
) -> None:
    chat_model.endpoints.register("fast", messages_api.url, "tiny-fast")

    with pytest.raises(ServiceUnavailable) as raised:
        await run_llm(chat_model, model="gpt-4")

    assert str(raised.value) == (
        "there is no model endpoint named 'gpt-4' (known endpoints: default, fast); "
        "set DIRIGENT_LLM_URL or register an endpoint"
    )
    assert raised.value.field == "config.model"
    assert messages_api.requests == []


async def test_without_any_endpoint_the_error_says_how_to_configure_one() -> None:
    model = HFChatModel(ModelEndpoints.from_settings(Settings(llm_url=None)))

    with pytest.raises(ServiceUnavailable, match=r"known endpoints: none\); set DIRIGENT_LLM_URL"):
        await model.chat(ChatRequest("default", [{"role": "user", "content": "?"}]))


async def test_the_api_key_is_sent_but_never_shown_in_an_error(
    messages_api: MessagesApiDouble,
) -> None:
    keyed = HFChatModel(ModelEndpoints([("default", messages_api.url, "tiny-chat", SECRET)]), guard=LOOPBACK)
    down = unreachable_model(api_key=SECRET)
    failures: list[ServiceUnavailable] = []
    # Only the slow case relies on the timeout; the others get time to spare on a busy machine.
    for reply, model, timeout_s in [
        (Reply(status=500, error=f"upstream rejected token {SECRET}"), keyed, 30.0),
        (Reply(status=401, error=f"invalid key {SECRET}"), keyed, 30.0),
        (Reply(status=400, error=f"bad request with Authorization: Bearer {SECRET}"), keyed, 30.0),
        (Reply(delay_s=2), keyed, 0.3),
        (Reply(), down, 30.0),
    ]:
        messages_api.reply(reply)
        request = ChatRequest("default", [{"role": "user", "content": "?"}], timeout_s=timeout_s)
        for on_token in (None, _ignore):
            with pytest.raises(ServiceUnavailable) as raised:
                await model.chat(request, on_token)
            failures.append(raised.value)

    assert messages_api.headers[0]["authorization"] == f"Bearer {SECRET}"
    assert len(failures) == 10
    for failure in failures:
        assert SECRET not in str(failure)
        assert SECRET not in repr(failure)
        assert failure.__cause__ is None
    assert "***" in str(failures[0])  # the server's echo of the key was masked
    await keyed.aclose()
    await down.aclose()


async def test_the_machines_hugging_face_token_is_not_sent_to_an_endpoint_without_key(
    chat_model: HFChatModel, messages_api: MessagesApiDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_token_of_whoever_runs_the_runtime")

    await run_llm(chat_model)

    assert "authorization" not in messages_api.headers[-1]


def test_hugging_face_offline_mode_does_not_block_the_companys_own_endpoint(
    messages_api: MessagesApiDouble,
) -> None:
    """HF_HUB_OFFLINE=1 (read once, when huggingface_hub is imported) means "never reach
    the Hub"; it must not stop calls to the model server Dirigent is configured with."""
    messages_api.reply("Ulm liegt an der Donau.")
    script = (
        "import asyncio\n"
        "from nodes.services import ChatRequest\n"
        "from runtime.llm import HFChatModel, ModelEndpoints\n"
        f"model = HFChatModel(ModelEndpoints([('default', {messages_api.url!r}, 'tiny-chat', None)]))\n"
        "request = ChatRequest(model='default', messages=[{'role': 'user', 'content': 'Ulm?'}])\n"
        "print(asyncio.run(model.chat(request)).text)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DIRIGENT_EGRESS_ALLOW": "127.0.0.1"}
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "Ulm liegt an der Donau."


async def test_an_error_in_the_token_sink_is_not_blamed_on_the_endpoint(
    chat_model: HFChatModel,
) -> None:
    async def broken_sink(token: str) -> None:
        raise ValueError("the browser went away")

    with pytest.raises(ValueError, match="the browser went away"):
        await chat_model.chat(ChatRequest("default", [{"role": "user", "content": "?"}]), broken_sink)


# -- endpoints and clients -------------------------------------------------------------
def test_endpoints_come_from_settings_and_admin_registrations() -> None:
    settings = Settings(llm_url="http://tgi:80/", llm_api_key="k1", llm_model="llama")
    endpoints = ModelEndpoints.from_settings(settings, [("fast", "https://fast.example/v1", "phi", None)])

    assert endpoints.names() == ["default", "fast"]
    default = endpoints.get("default")
    assert (default.base_url, default.model, default.api_key) == ("http://tgi:80", "llama", "k1")
    assert SECRET not in repr(ModelEndpoints([("x", "http://x", "m", SECRET)]).get("x"))

    override = ModelEndpoints.from_settings(settings, [("default", "http://other:80", "m", None)])
    assert override.get("default").base_url == "http://other:80"

    with pytest.raises(ValueError, match="must start with http:// or https://"):
        endpoints.register("bad", "tgi:80")


async def test_credentials_in_the_url_are_not_shown() -> None:
    url = closed_port_url().replace("http://", "http://admin:hunter2@")
    model = unreachable_model(url)

    with pytest.raises(ServiceUnavailable) as raised:
        await model.chat(ChatRequest("default", [{"role": "user", "content": "?"}]))

    assert "hunter2" not in str(raised.value)
    assert "admin" not in str(raised.value)
    await model.aclose()


async def test_clients_are_reused_and_retired_after_many_streams(
    messages_api: MessagesApiDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[Any] = []
    closed: list[Any] = []

    class RecordingClient(hf_session.PooledInferenceClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

        async def close(self) -> None:
            closed.append(self)
            await super().close()

    monkeypatch.setattr(hf_session, "PooledInferenceClient", RecordingClient)
    model = HFChatModel(
        ModelEndpoints([("default", messages_api.url, "tiny-chat", None)]),
        streams_per_client=3,
        guard=LOOPBACK,
    )
    request = ChatRequest("default", [{"role": "user", "content": "?"}])

    for _ in range(2):
        await model.chat(request)  # plain answers do not wear a client out
    results = await asyncio.gather(*(model.chat(request, _ignore) for _ in range(7)))

    assert all(result.text == Reply().text for result in results)
    assert len(created) == 3  # streams 1-3, 4-6, 7
    assert ids(closed) == ids(created[:2])  # retired once their last call finished

    model.endpoints.register("default", messages_api.url, "tiny-chat-v2")  # an admin's edit
    await model.chat(request)
    assert messages_api.last_request["model"] == "tiny-chat-v2"
    assert ids(closed) == ids(created[:3])

    await model.aclose()
    assert ids(closed) == ids(created)


# -- router classification -------------------------------------------------------------
def router(threshold: float) -> RouterNode:
    config = RouterNode.Config(
        classes=["billing", "technical", "other"],
        text="{{ inputs.ticket }}",
        threshold=threshold,
        timeout_s=5,
    )
    return RouterNode("triage", config)


@pytest.mark.parametrize(
    ("answer", "branch", "confidence"),
    [
        ('{"label": "billing", "confidence": 0.92}', "billing", 0.92),
        ('{"label": "billing", "confidence": 0.41}', "review", 0.41),
        ('{"label": "sales", "confidence": 0.99}', "review", 0.0),
        # JSON, but not the object asked for: a person looks at it (was an AttributeError)
        ('["billing", 0.99]', "review", 0.0),
    ],
    ids=["confident", "unsure", "unknown-label", "not-an-object"],
)
async def test_router_classification_picks_a_branch_or_review(
    chat_model: HFChatModel,
    messages_api: MessagesApiDouble,
    answer: str,
    branch: str,
    confidence: float,
) -> None:
    messages_api.reply(answer, usage={"prompt_tokens": 50, "completion_tokens": 9})
    events: list[dict[str, Any]] = []
    ctx = node_context(chat_model, events)
    scope = {"inputs": {"ticket": "My invoice is wrong"}}

    outputs = await router(threshold=0.7).run(ctx, scope)

    assert outputs["branch"] == branch
    assert outputs["confidence"] == confidence
    sent = messages_api.last_request
    assert sent["messages"][1] == {"role": "user", "content": "My invoice is wrong"}
    assert "billing, technical, other" in sent["messages"][0]["content"]
    assert sent["temperature"] == 0.0
    assert sent["max_tokens"] == 64
    assert sent["stream"] is False
    schema = sent["response_format"]["value"]
    assert sent["response_format"]["type"] == "json_object"
    assert schema["properties"]["label"]["enum"] == ["billing", "technical", "other"]
    assert ctx.usage["total_tokens"] == 59


# -- the double itself -----------------------------------------------------------------
async def test_the_double_answers_health_and_info_like_tgi(messages_api: MessagesApiDouble) -> None:
    async with httpx.AsyncClient(base_url=messages_api.url) as http:
        health = await http.get("/health")
        info = await http.get("/info")

    assert health.status_code == 200
    assert info.json()["model_id"] == messages_api.model_id


async def _ignore(token: str) -> None:
    return None


def ids(objects: list[Any]) -> set[int]:
    return {id(item) for item in objects}


async def test_an_endpoint_on_a_refused_address_is_never_called(messages_api: MessagesApiDouble) -> None:
    """Model endpoints pass the egress guard: loopback is refused unless it is allowed."""
    from runtime.connections.errors import EgressDenied

    refused = HFChatModel(
        ModelEndpoints([("default", messages_api.url, "tiny-chat", None)]), guard=EgressGuard(EgressPolicy())
    )
    request = ChatRequest("default", [{"role": "user", "content": "?"}])
    said = r"model endpoint 'default' at http://127\.0\.0\.1:\d+ may not be called: .* loopback"
    try:
        for on_token in (None, _ignore):
            with pytest.raises(EgressDenied, match=said):
                await refused.chat(request, on_token=on_token)
    finally:
        await refused.aclose()
    assert messages_api.requests == []
