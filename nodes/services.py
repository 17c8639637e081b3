"""The interfaces of the services a node may get through `ctx.service(name)`.

The runtime implements them and hands them in; tests hand in real local servers behind
the same implementations. Names under which they are registered:

    "llm"        ChatModel       chat completions against registered model endpoints
    "knowledge"  (Knowledge issue) search in knowledge indexes, filtered per caller
    "connections"(Connectors issue) calls to configured connections
    "mcp"        McpTools        tools of the MCP servers admins registered
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ChatRequest:
    model: str
    # Messages API messages: {"role", "content"}; an agent's also carry `tool_calls`
    # (assistant) and `tool_call_id` (role "tool").
    messages: list[dict[str, Any]]
    temperature: float = 0.2
    max_tokens: int = 512
    json_schema: dict[str, Any] | None = None
    timeout_s: float = 60.0
    # Tool definitions in the Messages API's shape ({"type": "function", "function":
    # {"name", "description", "parameters"}}) and `tool_choice` ("auto", "none", ...).
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | None = None


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model asked for: its id (to answer it), the tool and the arguments
    as the model wrote them (a JSON text; servers differ in whether they send an object)."""

    id: str
    name: str
    arguments: str


@dataclass
class ChatResult:
    text: str
    usage: dict[str, int] = field(default_factory=dict)
    model: str = ""
    finish_reason: str | None = None
    # The tools the model asks to call, as `ToolCall`s (none: the answer is `text`).
    tool_calls: list[ToolCall] = field(default_factory=list)


TokenSink = Callable[[str], Awaitable[None]]


class ChatModel(Protocol):
    """Chat completion against a model endpoint (TGI's Messages API or compatible)."""

    async def chat(self, request: ChatRequest, on_token: TokenSink | None = None) -> ChatResult:
        """Complete `request`; stream tokens to `on_token` when given.

        Raises `nodes.errors.ServiceUnavailable` when the model is not configured, the
        endpoint is unreachable, answers with an error, or exceeds `timeout_s`.
        """
        ...


@dataclass(frozen=True)
class McpCall:
    """One call of a tool of a registered MCP server, as an agent's version declares it."""

    server: str
    tool: str
    arguments: dict[str, Any]
    # The tool's input schema as the version holds it (copied when the flow was built):
    # the call is refused when the server's schema differs now.
    input_schema: dict[str, Any]
    run_id: str = ""
    timeout_s: float = 60.0
    # Set for a call that may change something: it is written down before it is made
    # (the connections' call journal), so a resumed loop never makes it twice.
    idempotency_key: str = ""


@dataclass(frozen=True)
class McpAnswer:
    """The tool's text content (bounded), and whether the server called it an error."""

    text: str
    is_error: bool = False


class McpTools(Protocol):
    """Tools of the MCP servers an admin registered (registered as "mcp")."""

    async def read_only(self, server: str, tool: str) -> bool:
        """Whether the admin marked `tool` of `server` read-only (no approval needed)."""
        ...

    async def call(self, call: McpCall) -> McpAnswer:
        """Call the tool (a tool not marked read-only at most once per `idempotency_key`).
        Raises `nodes.errors.NodeError` with code `agent_call_uncertain` (an earlier
        attempt was interrupted mid-call), `mcp_server_missing`,
        `mcp_tool_changed` (the server's schema is not the version's), `mcp_not_allowed`
        (egress guard), `mcp_unavailable` (unreachable, timeout, no SDK)."""
        ...
