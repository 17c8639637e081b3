"""`HFChatModel`: the `llm` service — chat completions against registered model endpoints.

Nodes call `ctx.service("llm").chat(request, on_token=...)` (`nodes.services.ChatModel`).
This module answers through `huggingface_hub.AsyncInferenceClient`, which speaks TGI's
OpenAI-compatible Messages API (as do vLLM, SGLang and llama.cpp's server).

The request's `model` is a *name* in `ModelEndpoints`, not a model id: "default" comes
from `DIRIGENT_LLM_URL`, an admin registers more. Every failure on the way (unknown name,
refused connection, HTTP error, timeout, an answer that is not a Messages API answer)
becomes `nodes.errors.ServiceUnavailable`, whose message names the endpoint and its URL
but never its API key: it is shown to champions and stored with the run.

Every call goes through the egress guard (`runtime.connections.egress`), as connections
do: an endpoint on a loopback, private or metadata address is refused unless
`DIRIGENT_EGRESS_ALLOW` lists it (`EgressDenied`). The one exception is the server the
operator configured in `DIRIGENT_LLM_URL` (as trusted as the allow list itself, which is
configured in the same place): its host is reachable without being listed.

Errors, for programs: an unknown name is `NoModelEndpoint` (code `no_model_endpoint`,
with the `model` name: the studio says in words who can connect a model); every other
failure is `EndpointUnavailable`, whose `reason` is one of `FAILURE_REASONS` (what the
admins' test button shows).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
from huggingface_hub.errors import HfHubHTTPError, TextGenerationError
from huggingface_hub.utils._http import async_hf_response_event_hook, set_async_client_factory

from nodes.errors import ServiceUnavailable
from nodes.services import ChatRequest, ChatResult, TokenSink, ToolCall
from runtime.connections.egress import EgressGuard, GuardedTransport2
from runtime.connections.errors import EgressDenied, RemoteFailure
from runtime.observability import metrics, tracing

if TYPE_CHECKING:
    from huggingface_hub import AsyncInferenceClient

    from runtime.settings import Settings

DEFAULT_ENDPOINT = "default"
# Why a call to an endpoint failed (`EndpointUnavailable.reason`, the test button's `error`).
FAILURE_REASONS = (
    "not_allowed",  # the egress guard refused the address
    "unreachable",  # no connection, or it broke off
    "timeout",  # no (complete) answer in time
    "unauthorized",  # HTTP 401/403: the API key is missing or wrong
    "not_found",  # HTTP 404: no Messages API at this base URL, or no such model id
    "server_error",  # HTTP 429 or 5xx: the server is overloaded or failing
    "bad_response",  # any other refusal, or an answer that is not a Messages API answer
)

# Connections per model endpoint at most, and how long an idle one is kept open. TGI
# batches concurrent requests itself; more calls than this at once wait for a connection.
POOL_CONNECTIONS = 32
KEEPALIVE_S = 60.0

# What huggingface_hub is given as the key of an endpoint without one (never sent).
_NO_API_KEY = "dirigent-endpoint-without-api-key"

# (name, base_url, model, api_key): what the runtime reads from `ModelEndpoint` rows.
EndpointRow = tuple[str, str, str, str | None]


class NoModelEndpoint(ServiceUnavailable):
    """No endpoint has the name a node asks for (none configured at all, or another name)."""

    code = "no_model_endpoint"

    def __init__(self, model: str, known: list[str]) -> None:
        super().__init__(
            f"there is no model endpoint named '{model}' (known endpoints: {', '.join(known) or 'none'}); "
            "set DIRIGENT_LLM_URL or register an endpoint",
            field="config.model",
        )
        self.model = model

    def parameters(self) -> dict[str, Any]:
        return {"model": self.model}


class EndpointUnavailable(ServiceUnavailable):
    """A call to an endpoint failed; `reason` (one of `FAILURE_REASONS`) says why."""

    code = "model_endpoint_failed"

    def __init__(self, message: str, reason: str, endpoint: str = "") -> None:
        super().__init__(message, reason=reason, endpoint=endpoint)
        self.reason = reason


@dataclass(frozen=True)
class ChatEndpoint:
    """One Messages API server. `model` is the model id sent in the request body."""

    name: str
    base_url: str
    model: str = "tgi"
    api_key: str | None = field(default=None, repr=False)
    # The operator's own server (`DIRIGENT_LLM_URL`): its host passes the egress guard.
    trusted: bool = False

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def display_url(self) -> str:
        """`base_url` without any `user:password@`, fit for messages and logs."""
        parts = urlsplit(self.base_url)
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class ModelEndpoints:
    """The model endpoints by name: the environment's default plus admin-registered ones.

    Later registrations replace earlier ones of the same name, so an admin's "default"
    wins over `DIRIGENT_LLM_URL` when `from_settings` is given both.
    """

    def __init__(self, endpoints: Iterable[EndpointRow | ChatEndpoint] = ()) -> None:
        self._by_name: dict[str, ChatEndpoint] = {}
        for endpoint in endpoints:
            if isinstance(endpoint, ChatEndpoint):
                self._add(endpoint)
            else:
                self.register(*endpoint)

    @classmethod
    def from_settings(cls, settings: Settings, registered: Iterable[EndpointRow] = ()) -> ModelEndpoints:
        """`DIRIGENT_LLM_URL` as "default" (when set), then the `registered` rows."""
        endpoints = cls()
        trusted = origin(settings.llm_url) if settings.llm_url else None
        if settings.llm_url:
            endpoints.register(
                DEFAULT_ENDPOINT, settings.llm_url, settings.llm_model, settings.llm_api_key, trusted=True
            )
        for row in registered:
            # An admin's endpoint on the operator's own server is that server.
            endpoints.register(*row, trusted=trusted is not None and origin(row[1]) == trusted)
        return endpoints

    def register(
        self,
        name: str,
        base_url: str,
        model: str = "tgi",
        api_key: str | None = None,
        *,
        trusted: bool = False,
    ) -> ChatEndpoint:
        if not name:
            raise ValueError("a model endpoint needs a name")
        if urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError(
                f"model endpoint '{name}': base URL must start with http:// or https://, got {base_url!r}"
            )
        return self._add(
            ChatEndpoint(name, base_url.rstrip("/"), model or "tgi", api_key or None, trusted=trusted)
        )

    def unregister(self, name: str) -> None:
        self._by_name.pop(name, None)

    def get(self, name: str) -> ChatEndpoint:
        """The endpoint called `name`, or `ServiceUnavailable` listing the known ones."""
        try:
            return self._by_name[name]
        except KeyError:
            raise NoModelEndpoint(name, sorted(self._by_name)) from None

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __contains__(self, item: object) -> bool:
        """A name is known, or an endpoint is still registered exactly as it is."""
        if isinstance(item, ChatEndpoint):
            return self._by_name.get(item.name) == item
        return item in self._by_name

    def __iter__(self) -> Iterator[ChatEndpoint]:
        return iter(list(self._by_name.values()))

    def _add(self, endpoint: ChatEndpoint) -> ChatEndpoint:
        self._by_name[endpoint.name] = endpoint
        return endpoint


def origin(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL, the port defaulted by the scheme."""
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


async def check_endpoint_address(guard: EgressGuard, base_url: str) -> None:
    """Raise `EgressDenied` when `base_url`'s host resolves to an address the guard refuses.

    A name that does not resolve (yet) passes: every call is checked again anyway.
    """
    host, port = origin(base_url)
    try:
        await guard.addresses(host, port)
    except RemoteFailure:
        return


# The transport the next huggingface_hub session gets (set around each call: sessions are
# created lazily, by the client's first request, through the global factory below).
_NEXT_TRANSPORT: contextvars.ContextVar[httpx2.AsyncBaseTransport | None] = contextvars.ContextVar(
    "dirigent_llm_transport", default=None
)


def _endpoint_session() -> httpx2.AsyncClient:
    """The HTTP client under every `AsyncInferenceClient`: huggingface_hub's default
    without its offline-mode guard, on the egress-guarded transport of the endpoint.

    `HF_HUB_OFFLINE=1` (which the offline embedding setup suggests) means "never reach the
    Hugging Face Hub"; huggingface_hub applies it to every request, so it would also block
    the company's own model server. Dirigent's endpoints are never the Hub. Redirects are
    not followed: a model server has no business sending prompts elsewhere. Proxy variables
    of the environment are ignored (they would bypass the guard).
    """
    transport = _NEXT_TRANSPORT.get() or GuardedTransport2(EgressGuard())
    return httpx2.AsyncClient(
        event_hooks={"response": [async_hf_response_event_hook]},
        follow_redirects=False,
        timeout=None,
        transport=transport,
        trust_env=False,
    )


class _TokenSinkFailed(Exception):
    """Carries an error of the caller's `on_token` past the endpoint error mapping."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _EndpointPool:
    """An endpoint's connections: at most `size`, kept open between calls (keep-alive), each
    opened through the egress guard `guard`. Successive clients of the endpoint share it (a
    client is renewed every `streams_per_client` streams, its pool is not); it is closed
    when the last client on it is closed."""

    def __init__(self, transport: httpx2.AsyncBaseTransport, guard: EgressGuard) -> None:
        self.transport = transport
        self.guard = guard  # the one its connections are checked with
        self.clients = 0  # clients not closed yet

    def session_transport(self) -> httpx2.AsyncBaseTransport:
        return _PoolView(self.transport)

    async def release(self) -> None:
        self.clients -= 1
        if self.clients == 0:
            await self.transport.aclose()


class _PoolView(httpx2.AsyncBaseTransport):
    """A client's session's way into its endpoint's pool: closing the session (as
    huggingface_hub does when its client is closed) leaves the pool open."""

    def __init__(self, pool: httpx2.AsyncBaseTransport) -> None:
        self._pool = pool

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:
        return None  # `_EndpointPool.release` closes the pool


class _ClientSlot:
    """One cached `AsyncInferenceClient` on its endpoint's pool, with what it takes to
    retire it safely."""

    def __init__(self, client: AsyncInferenceClient, pool: _EndpointPool) -> None:
        self.client = client
        self.pool = pool
        pool.clients += 1
        self.transport = pool.session_transport()
        self.streams = 0  # streamed answers served so far
        self.active = 0  # calls in flight

    async def close(self) -> None:
        await self.client.close()
        await self.pool.release()


class HFChatModel:
    """`nodes.services.ChatModel` over `huggingface_hub.AsyncInferenceClient`.

    Each endpoint has one pool of connections (`_EndpointPool`: at most
    `pool_connections`, kept alive between calls), so a call does not open a connection
    of its own. huggingface_hub 2.x keeps every streamed response on its client until the
    client is closed (~19 KB each), so a client is retired after `streams_per_client`
    streamed answers: new calls get a fresh client on the same pool, the old one is
    closed when its last call has finished. A client whose endpoint was changed or removed,
    or whose guard is not the current one, is retired with its pool the same way.

    Args:
        endpoints: where each model name is served. Assign a new `ModelEndpoints` to
            `self.endpoints` (or mutate it) to apply an admin's changes.
        io_timeout_s: the client's own timeout. It applies to each socket operation
            (connect, every read), so it cannot bound a streamed answer; each call is
            bounded by `request.timeout_s` with `asyncio.timeout` instead, and this is
            only a backstop (default: the longest timeout a node may configure).
        streams_per_client: streamed answers after which a client is replaced.
        pool_connections: connections per endpoint at most (more calls at once wait for
            one); all of them are kept alive for `keepalive_s` after their last answer.
        guard: the egress guard every connection goes through (default: the allow list
            of `DIRIGENT_EGRESS_ALLOW`).
    """

    def __init__(
        self,
        endpoints: ModelEndpoints,
        *,
        io_timeout_s: float = 3600.0,
        streams_per_client: int = 500,
        guard: EgressGuard | None = None,
        pool_connections: int = POOL_CONNECTIONS,
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        set_async_client_factory(_endpoint_session)  # Dirigent is the only async user of huggingface_hub
        self.endpoints = endpoints
        self.guard = guard or EgressGuard()
        self.io_timeout_s = io_timeout_s
        self.streams_per_client = streams_per_client
        self.pool_connections = pool_connections
        self.keepalive_s = keepalive_s
        # Keyed by the endpoint's value, so a changed URL or key gets a fresh client.
        self._slots: dict[ChatEndpoint, _ClientSlot] = {}
        self._retired: set[_ClientSlot] = set()

    async def chat(self, request: ChatRequest, on_token: TokenSink | None = None) -> ChatResult:
        endpoint = self.endpoints.get(request.model)
        client = self._client(endpoint, streaming=on_token is not None)
        if tracing.active() is None:
            return await self._measured(client, endpoint, request, on_token)
        attributes = {"gen_ai.request.model": endpoint.name, "dirigent.llm.streaming": on_token is not None}
        with tracing.span("dirigent.llm.chat", attributes, kind="CLIENT") as span:
            result = await self._measured(client, endpoint, request, on_token)
            span.set_attribute("gen_ai.usage.input_tokens", result.usage.get("prompt_tokens", 0))
            span.set_attribute("gen_ai.usage.output_tokens", result.usage.get("completion_tokens", 0))
            return result

    async def _measured(
        self,
        client_slot: AbstractAsyncContextManager[AsyncInferenceClient],
        endpoint: ChatEndpoint,
        request: ChatRequest,
        on_token: TokenSink | None,
    ) -> ChatResult:
        """`_answer`, timed and counted (runtime/observability/metrics.py): the call, its
        tokens and, when streamed, the time to its first text piece."""
        began = time.perf_counter()
        sink: TokenSink | None = on_token
        if on_token is not None:
            first = True

            async def noting_the_first(piece: str) -> None:
                nonlocal first
                if first:
                    first = False
                    metrics.llm_first_token(endpoint.name, time.perf_counter() - began)
                await on_token(piece)

            sink = noting_the_first

        try:
            result = await self._answer(client_slot, endpoint, request, sink)
        except Exception:
            metrics.llm_called(endpoint.name, False, time.perf_counter() - began, None)
            raise
        metrics.llm_called(endpoint.name, True, time.perf_counter() - began, result.usage)
        return result

    async def probe(self, endpoint: ChatEndpoint, timeout_s: float = 30.0) -> ChatResult:
        """A one-token answer from `endpoint` (registered here or not yet): the admins' test.

        It goes through the same egress guard and error mapping as every call, on a client
        of its own that is closed afterwards (the cached ones serve the registered
        endpoints). Failures raise `EndpointUnavailable` (with its `reason`) or `EgressDenied`.
        """
        request = ChatRequest(
            endpoint.name, [{"role": "user", "content": "Hi"}], max_tokens=1, timeout_s=timeout_s
        )
        return await self._answer(self._own_client(endpoint), endpoint, request, None)

    async def _answer(
        self,
        client_slot: AbstractAsyncContextManager[AsyncInferenceClient],
        endpoint: ChatEndpoint,
        request: ChatRequest,
        on_token: TokenSink | None,
    ) -> ChatResult:
        arguments = _arguments(endpoint, request)
        try:
            async with client_slot as client, asyncio.timeout(request.timeout_s):
                if on_token is None:
                    return await self._complete(client, endpoint, arguments)
                return await self._stream(client, endpoint, arguments, on_token)
        except _TokenSinkFailed as failed:
            raise failed.error from None
        except EgressDenied as denied:
            raise EgressDenied(
                f"the model endpoint '{endpoint.name}' at {endpoint.display_url} may not be called: "
                f"{denied.message}",
                code="model_endpoint_denied",
                endpoint=endpoint.name,
                detail=denied.message,
            ) from None
        except RemoteFailure as failed:  # the guard could not resolve the host name
            raise _unavailable(endpoint, f"cannot be reached: {failed.message}", "unreachable") from None
        except (TimeoutError, httpx2.TimeoutException):
            raise _unavailable(
                endpoint,
                f"did not answer within {request.timeout_s:g} s (the node's timeout)",
                "timeout",
            ) from None
        except (httpx2.HTTPError, ValueError) as error:
            raise _unavailable(endpoint, *_describe(error, endpoint)) from None

    async def aclose(self) -> None:
        """Close every client (and the connections they hold); calls in flight fail."""
        slots = [*self._slots.values(), *self._retired]
        self._slots, self._retired = {}, set()
        for slot in slots:
            await slot.close()

    @asynccontextmanager
    async def _client(
        self, endpoint: ChatEndpoint, *, streaming: bool
    ) -> AsyncIterator[AsyncInferenceClient]:
        slot = self._slots.get(endpoint)
        if slot is not None and slot.pool.guard is not self.guard:
            # Another allow list: a new pool, whose connections are checked against it.
            await self._retire(endpoint)
            slot = None
        if slot is None:
            pool = _EndpointPool(self._transport(endpoint), self.guard)
            slot = self._slots[endpoint] = _ClientSlot(self._new_client(endpoint), pool)
            for stale in [known for known in self._slots if known not in self.endpoints]:
                await self._retire(stale)
        slot.active += 1
        if streaming:
            slot.streams += 1
            if slot.streams >= self.streams_per_client:
                await self._retire(endpoint)
                self._slots[endpoint] = _ClientSlot(self._new_client(endpoint), slot.pool)
        transport = _NEXT_TRANSPORT.set(slot.transport)
        try:
            yield slot.client
        finally:
            _NEXT_TRANSPORT.reset(transport)
            slot.active -= 1
            if slot.active == 0 and slot in self._retired:
                self._retired.discard(slot)
                await slot.close()

    @asynccontextmanager
    async def _own_client(self, endpoint: ChatEndpoint) -> AsyncIterator[AsyncInferenceClient]:
        """A client for one call, on the endpoint's guarded transport, closed afterwards."""
        client = self._new_client(endpoint)
        transport = _NEXT_TRANSPORT.set(self._transport(endpoint))
        try:
            yield client
        finally:
            _NEXT_TRANSPORT.reset(transport)
            await client.close()

    async def _retire(self, endpoint: ChatEndpoint) -> None:
        """Stop handing out this endpoint's client; close it now or after its last call."""
        slot = self._slots.pop(endpoint)
        if slot.active:
            self._retired.add(slot)
        else:
            await slot.close()

    def _transport(self, endpoint: ChatEndpoint) -> httpx2.AsyncBaseTransport:
        """Only the endpoint's host, at addresses the guard allows (the trusted endpoint's
        own host allowed as well)."""
        guard = self.guard
        if endpoint.trusted and endpoint.host:
            guard = EgressGuard(guard.policy.also_allowing(endpoint.host), guard.resolver)
        return GuardedTransport2(
            guard,
            [endpoint.host],
            max_connections=self.pool_connections,
            keepalive=self.pool_connections,
            keepalive_expiry_s=self.keepalive_s,
        )

    def _new_client(self, endpoint: ChatEndpoint) -> AsyncInferenceClient:
        from runtime.llm import hf_session  # huggingface_hub's client: ≈ 0.2 s, not at start-up

        return hf_session.PooledInferenceClient(
            base_url=endpoint.base_url,
            # Without a key of its own, huggingface_hub would look for the machine's Hugging
            # Face token (HF_TOKEN, ~/.cache: two file reads per call) and send it to this
            # server. It gets a stand-in instead, and its header is dropped (a None header
            # is not sent), so neither the stand-in nor a token leaves the process.
            api_key=endpoint.api_key or _NO_API_KEY,
            timeout=self.io_timeout_s,
            headers=None if endpoint.api_key else {"authorization": None},  # type: ignore[dict-item]
        )

    async def _complete(
        self, client: AsyncInferenceClient, endpoint: ChatEndpoint, arguments: dict[str, Any]
    ) -> ChatResult:
        output = await client.chat_completion(**arguments)
        if not output.choices:
            raise ValueError("the answer has no choices")
        choice = output.choices[0]
        text = (choice.message.content if choice.message else None) or ""
        calls = (getattr(choice.message, "tool_calls", None) if choice.message else None) or []
        return ChatResult(
            text=text,
            usage=_usage(output.usage),
            model=output.model or endpoint.model,
            finish_reason=choice.finish_reason,
            tool_calls=[_tool_call(call, number) for number, call in enumerate(calls)],
        )

    async def _stream(
        self,
        client: AsyncInferenceClient,
        endpoint: ChatEndpoint,
        arguments: dict[str, Any],
        on_token: TokenSink,
    ) -> ChatResult:
        pieces: list[str] = []
        calls: dict[int, dict[str, Any]] = {}  # streamed tool calls by index, pieces joined
        usage: dict[str, int] = _usage(None)
        finish_reason: str | None = None
        model = endpoint.model
        stream = client.stream_chat(**arguments)  # type: ignore[attr-defined]  # (hf_session)
        async with aclosing(stream):
            async for chunk in stream:
                model = _text(chunk, "model") or model
                if chunk.get("usage"):  # the last chunk, when the server reports usage at all
                    usage = _usage(_object(chunk["usage"], "usage"))
                for choice in _list(chunk.get("choices"), "choices"):
                    choice = _object(choice, "choice")
                    finish_reason = _text(choice, "finish_reason") or finish_reason
                    delta = _object(choice.get("delta") or {}, "delta")
                    _gather_tool_calls(calls, _list(delta.get("tool_calls"), "tool calls"))
                    piece = _text(delta, "content")
                    if piece:
                        pieces.append(piece)
                        try:
                            await on_token(piece)
                        except Exception as error:
                            raise _TokenSinkFailed(error) from error
        return ChatResult(
            text="".join(pieces),
            usage=usage,
            model=model,
            finish_reason=finish_reason,
            tool_calls=[_tool_call(calls[index], index) for index in sorted(calls)],
        )


def _arguments(endpoint: ChatEndpoint, request: ChatRequest) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "messages": request.messages,
        "model": endpoint.model,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
    }
    if request.json_schema is not None:
        # TGI's grammar format. huggingface_hub 2.x would also translate OpenAI's
        # {"type": "json_schema", ...} into this, but older versions pass it through.
        arguments["response_format"] = {"type": "json_object", "value": request.json_schema}
    if request.tools:
        arguments["tools"] = request.tools
        arguments["tool_choice"] = request.tool_choice or "auto"
    return arguments


def _gather_tool_calls(calls: dict[int, dict[str, Any]], deltas: list[Any]) -> None:
    """Add a streamed chunk's tool-call pieces: the id and name come once, the arguments
    in pieces (OpenAI's and TGI's streaming shape), keyed by the call's `index`."""
    for position, raw in enumerate(deltas):
        delta = _object(raw, "tool call")
        index = delta.get("index", position)
        if not isinstance(index, int):
            raise ValueError("a streamed tool call has no numeric index")
        call = calls.setdefault(index, {"id": "", "function": {"name": "", "arguments": ""}})
        call["id"] = _text(delta, "id") or call["id"]
        function = _object(delta.get("function") or {}, "tool call function")
        call["function"]["name"] = _text(function, "name") or call["function"]["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # some servers send the whole object at once
            call["function"]["arguments"] = arguments
        elif arguments is not None:
            call["function"]["arguments"] += _text(function, "arguments") or ""


def _tool_call(call: Any, number: int) -> ToolCall:
    """A tool call of an answer (huggingface_hub's dataclass, or a streamed dict) as a `ToolCall`;
    ValueError (a bad answer) without a function name. Arguments stay JSON text."""

    def part(value: Any, name: str) -> Any:
        return value.get(name) if isinstance(value, dict) else getattr(value, name, None)

    function = part(call, "function")
    name = part(function, "name")
    if not isinstance(name, str) or not name:
        raise ValueError("a tool call of the answer names no function")
    arguments = part(function, "arguments")
    if not isinstance(arguments, str):  # TGI sends an object; OpenAI a JSON text
        arguments = json.dumps(arguments if arguments is not None else {})
    return ToolCall(id=str(part(call, "id") or f"call_{number}"), name=name, arguments=arguments)


def _usage(reported: Any) -> dict[str, int]:
    """Token counts from a usage object (or a streamed chunk's usage); missing or null counts are 0."""

    def count(name: str) -> int:
        value = reported.get(name) if isinstance(reported, dict) else getattr(reported, name, None)
        return int(value or 0)

    prompt = count("prompt_tokens")
    completion = count("completion_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _object(value: Any, what: str) -> dict[str, Any]:
    """A streamed chunk's part that must be a JSON object; ValueError (a bad answer) if not."""
    if not isinstance(value, dict):
        raise ValueError(f"the streamed {what} is not a JSON object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"the streamed {what} are not a JSON list")
    return value


def _text(value: dict[str, Any], name: str) -> str | None:
    found = value.get(name)
    if found is not None and not isinstance(found, str):
        raise ValueError(f"the streamed {name} is not a string")
    return found


def _describe(error: Exception, endpoint: ChatEndpoint) -> tuple[str, str]:
    """What went wrong, in words for a champion (server text trimmed and scrubbed), and
    its reason (one of `FAILURE_REASONS`)."""
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        status = error.response.status_code
        detail = _scrub(error.server_message or "", endpoint)
        said = f": {detail}" if detail else ""
        if status in (401, 403):
            return f"refused the credentials (HTTP {status}); check the endpoint's API key", "unauthorized"
        if status == 404:
            return (
                "has no Messages API at this URL (HTTP 404), or does not serve this model id; "
                f"the base URL should be the server's root, e.g. http://tgi:80{said}",
                "not_found",
            )
        if status == 429:
            return f"is overloaded (HTTP 429); try again later{said}", "server_error"
        if status >= 500:
            return f"failed with HTTP {status}{said}", "server_error"
        return f"rejected the request (HTTP {status}){said}", "bad_response"
    if isinstance(error, TextGenerationError):
        return f"reported an error while generating: {_scrub(str(error), endpoint)}", "server_error"
    if isinstance(error, httpx2.ConnectError):
        return (
            f"cannot be reached ({_scrub(_os_reason(error), endpoint)}); "
            "is the server running and the URL right?",
            "unreachable",
        )
    detail = _scrub(str(error), endpoint)
    if isinstance(error, httpx2.TransportError):
        return f"broke off the connection ({type(error).__name__}: {detail})", "unreachable"
    return f"answered with something that is not a Messages API answer ({detail})", "bad_response"


def _os_reason(error: BaseException) -> str:
    """The innermost OS-level reason ("Connection refused"), else the error's own text.

    httpx2 reports every failed connect as "All connection attempts failed"; the cause
    chain says whether the port was closed, the name unknown, or the network down.
    """
    reason, depth = str(error) or type(error).__name__, 0
    cause: BaseException | None = error
    while cause is not None and depth < 10:
        if isinstance(cause, OSError) and isinstance(cause.errno, int) and cause.errno > 0:
            reason = os.strerror(cause.errno)  # "Connection refused", not "Connect call failed"
        elif isinstance(cause, OSError) and cause.strerror:
            reason = cause.strerror  # e.g. DNS: "Name or service not known"
        cause, depth = cause.__cause__ or cause.__context__, depth + 1
    return reason


def _scrub(text: str, endpoint: ChatEndpoint, limit: int = 300) -> str:
    """`text` shortened, with the endpoint's key and URL credentials masked."""
    for secret in (endpoint.api_key, urlsplit(endpoint.base_url).password):
        if secret:
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unavailable(endpoint: ChatEndpoint, what: str, reason: str) -> EndpointUnavailable:
    return EndpointUnavailable(
        f"the model endpoint '{endpoint.name}' at {endpoint.display_url} {what}", reason, endpoint.name
    )
