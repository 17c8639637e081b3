"""Talking to an MCP server: the official `mcp` SDK's streamable-HTTP client on an
egress-guarded HTTP client.

The host is resolved and checked before connecting (a clear `not_allowed` rather than a
failure deep inside the SDK's task group), and every connection the SDK opens goes through
`GuardedTransport2` (the SDK speaks httpx2), so a DNS answer that changes in between is
checked again. The SDK is an extra (`pip install 'dirigent[mcp]'`): without it a call
fails with `not_installed`, the runtime starts all the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx2

from runtime.connections.egress import EgressGuard, GuardedTransport2
from runtime.connections.errors import EgressDenied, RemoteFailure
from runtime.errors import ExtraMissing
from runtime.extras import needs_extra

if TYPE_CHECKING:
    from mcp.client.session import ClientSession

# What one tool result may put into the model's context, in characters.
MAX_TEXT_CHARS = 16_000
Reason = Literal["not_allowed", "unreachable", "timeout", "bad_response", "not_installed"]


class McpFailure(Exception):
    """A call that did not reach the tool; `reason` says why, for programs."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.message = message


@dataclass(frozen=True)
class ServerAccess:
    """Where a registered server is and what it is sent (headers opened from the box)."""

    name: str
    url: str
    headers: dict[str, str]


@dataclass(frozen=True)
class ToolInfo:
    name: str
    description: str
    input_schema: dict[str, Any]


def _origin(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


@asynccontextmanager
async def connected(
    server: ServerAccess, guard: EgressGuard, timeout_s: float
) -> AsyncIterator[ClientSession]:
    """An initialised MCP session with `server`, within `timeout_s` in all."""
    try:
        with needs_extra("mcp", "MCP servers"):
            from mcp.client.session import ClientSession
            from mcp.client.streamable_http import streamable_http_client
    except ExtraMissing as missing:
        raise McpFailure("not_installed", missing.message) from None
    host, port = _origin(server.url)
    try:
        await guard.addresses(host, port)
    except EgressDenied as denied:
        raise McpFailure("not_allowed", denied.message) from None
    except RemoteFailure as failed:
        raise McpFailure("unreachable", f"cannot reach MCP server '{server.name}': {failed}") from None
    timeout = httpx2.Timeout(timeout_s)
    try:
        async with (
            asyncio.timeout(timeout_s),
            httpx2.AsyncClient(
                transport=GuardedTransport2(guard, [host], max_connections=4, keepalive=0),
                headers=server.headers,
                timeout=timeout,
                follow_redirects=False,
            ) as http,
            streamable_http_client(server.url, http_client=http) as (read, write),
            ClientSession(read, write, read_timeout_seconds=timeout_s) as session,
        ):
            await session.initialize()
            yield session
    except McpFailure:
        raise
    except TimeoutError:
        raise McpFailure(
            "timeout", f"MCP server '{server.name}' did not answer within {timeout_s:g} s"
        ) from None
    except EgressDenied as denied:
        raise McpFailure("not_allowed", denied.message) from None
    except Exception as error:  # the SDK raises groups of transport errors
        raise McpFailure(
            "unreachable", f"cannot reach MCP server '{server.name}' at {server.url}: {_first(error)}"
        ) from None


def _first(error: BaseException) -> str:
    """The first real cause inside the SDK's exception groups."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return f"{type(error).__name__}: {error}"[:300]


async def list_tools(server: ServerAccess, guard: EgressGuard, timeout_s: float) -> list[ToolInfo]:
    async with connected(server, guard, timeout_s) as session:
        return await _tools(session)


async def _tools(session: ClientSession) -> list[ToolInfo]:
    listed = await session.list_tools()
    return [
        ToolInfo(name=tool.name, description=tool.description or "", input_schema=dict(tool.input_schema))
        for tool in listed.tools
    ]


async def call_tool(
    server: ServerAccess,
    guard: EgressGuard,
    tool: str,
    arguments: dict[str, Any],
    expected_schema: dict[str, Any],
    timeout_s: float,
) -> tuple[str, bool] | ToolInfo | None:
    """Call `tool` when the server still offers it with `expected_schema`: (its text
    content, whether it is an error). Otherwise the tool as the server offers it now
    (None: not at all), and nothing is called."""
    async with connected(server, guard, timeout_s) as session:
        current = next((info for info in await _tools(session) if info.name == tool), None)
        if current is None or current.input_schema != expected_schema:
            return current
        result = await session.call_tool(tool, arguments, read_timeout_seconds=timeout_s)
    parts = []
    for content in result.content:
        text = getattr(content, "text", None)
        parts.append(text if isinstance(text, str) else f"[{getattr(content, 'type', 'content')}]")
    text = "\n".join(parts)
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS] + " …(cut)"
    return text, bool(result.is_error)
