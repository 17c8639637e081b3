"""The interfaces of the services a node may get through `ctx.service(name)`.

The runtime implements them and hands them in; tests hand in real local servers behind
the same implementations. Names under which they are registered:

    "llm"        ChatModel       chat completions against registered model endpoints
    "knowledge"  (Knowledge issue) search in knowledge indexes, filtered per caller
    "connections"(Connectors issue) calls to configured connections
    "mcp"        McpTools        tools of the MCP servers admins registered
    "assistants" AssistantRuns  published assistants as sub-runs of the run (assistant and map
                                nodes, agents' assistant tools), for the same person
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


# -- "assistants": published assistants as sub-runs (nodes/assistant.py, nodes/map.py) ------
# A waiting step whose request says `waits_for: sub_runs` waits for the runs named in its
# `sub_runs`, not for a person: the runtime raises no task for it and resumes the run once
# all of them have ended (the resolution's `request` is that request again).
WAITS_FOR_SUB_RUNS = "sub_runs"
ENDED_RUN_STATES = frozenset({"succeeded", "failed", "cancelled", "expired"})


@dataclass(frozen=True)
class SubRunRequest:
    """Start assistant `assistant` (`version`: a published number, None = the live one) for
    the caller of the parent run, with `inputs`, as a sub-run of `parent_run_id`."""

    assistant: str
    version: int | None
    inputs: dict[str, Any]
    parent_run_id: str
    caller_id: str | None
    is_test: bool = False


@dataclass(frozen=True)
class SubRunOutcome:
    """Where a sub-run stands: `status` is a run's status (ended, `waiting` or `running`)."""

    run_id: str
    status: str
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def ended(self) -> bool:
        return self.status in ENDED_RUN_STATES


@dataclass(frozen=True)
class AssistantFacts:
    """What an agent needs to offer an assistant as a tool: its inputs as a JSON schema, and
    whether a run of it may change something outside Dirigent (connector calls that are not
    idempotent, approval nodes)."""

    slug: str
    version: int
    parameters: dict[str, Any]
    side_effects: bool


class AssistantRuns(Protocol):
    """Published assistants run as sub-runs of a run, acting for the same person.

    Every method raises `nodes.errors.NodeError` with a stable code when the assistant or
    version does not exist (`assistant_not_found`), the caller may not invoke it
    (`assistant_forbidden`), or the calls nest too deep (`assistant_depth_exceeded`)."""

    async def start(self, request: SubRunRequest) -> str:
        """Start the sub-run (stored before this returns); its run id."""
        ...

    async def wait(self, run_id: str, timeout_s: float) -> SubRunOutcome:
        """The sub-run after up to `timeout_s` (ended, waiting for a person, or running)."""
        ...

    async def outcomes(self, run_ids: list[str]) -> list[SubRunOutcome]:
        """The stored state of each run, in the order asked."""
        ...

    async def describe(self, caller_id: str | None, assistant: str, version: int | None) -> AssistantFacts:
        """The assistant's inputs and whether it has side effects (checked for the caller)."""
        ...
