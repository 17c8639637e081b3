"""The tools of an `agent` node: declared in its config, so the version's hash covers them.

    connection   a connection of the workspace, one method and a path template with
                 `{param}` placeholders, and a JSON schema for the arguments. The call goes
                 through the `connections` service exactly like a `connector` node's:
                 the connection's allowed methods and paths, the egress guard, the call
                 journal (idempotency key per tool call: a resumed loop never repeats a
                 call that happened) and the audit line.
    knowledge    a search in a knowledge index with the access of whoever started the
                 run; the passages become sources of the node's answer.
    mcp          a tool of an MCP server an admin registered (`/api/mcp-servers`). Its
                 description and `input_schema` are copied into the document when the
                 flow is built (the studio takes them from `GET /api/mcp-servers/{name}/tools`),
                 so the board approves exactly that schema; a call is refused with
                 `mcp_tool_changed` when the server's schema differs at run time. A tool
                 the admin did not mark read-only is a side effect (waits for a person).
    assistant    a published assistant (`nodes/assistant.py`), run as a sub-run for the
                 same person; its inputs are the arguments (their schema is `parameters`,
                 or derived from the assistant's inputs when left out). It counts as
                 changing something when its version may (connector calls that are not
                 idempotent, approval nodes, nested assistants) — and, before that is
                 known (when the flow is saved), always.

A connection tool changes something outside Dirigent when its method is not GET/HEAD/OPTIONS; such
a call runs only after a person approved it (`approve: "auto"`, the default), unless the
tool says `approve: "never"` and the flow's card allows it (see `runtime.engine.validation`).
`approve: "always"` holds even reading calls for a person.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Annotated, Any, Literal
from urllib.parse import quote

from jsonschema import Draft202012Validator, SchemaError, ValidationError
from jsonschema.validators import validator_for
from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from nodes.assistant import SLUG, PublishedNumber
from nodes.base import NodeConfig, NodeContext
from nodes.connector import ConnectorRequest, ConnectorService, Method, UncertainCall
from nodes.errors import NodeError
from nodes.retrieval import KnowledgeSearch, RetrievalRequest, where
from nodes.services import AssistantFacts, AssistantRuns, McpCall, McpTools, SubRunRequest

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOOL_NAME = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# What one tool result may put into the model's context, in characters of JSON.
MAX_RESULT_CHARS = 16_000


def checked_schema(value: dict[str, Any]) -> dict[str, Any]:
    """`value` if it is a JSON schema of an object (what a tool's arguments are)."""
    try:
        validator_for(value, default=Draft202012Validator).check_schema(value)
    except SchemaError as exc:
        where_ = "/".join(str(part) for part in exc.path)
        raise PydanticCustomError(
            "invalid_json_schema",
            "not a valid JSON schema{where}: {detail}",
            {"where": f" at {where_}" if where_ else "", "detail": exc.message},
        ) from None
    if value.get("type") != "object":
        raise PydanticCustomError(
            "agent_tool_parameters_not_object",
            "a tool's parameters are a JSON schema of an object ('type': 'object'), not '{type}'",
            {"type": str(value.get("type"))},
        )
    return value


class ConnectionTool(NodeConfig):
    kind: Literal["connection"]
    name: str = Field(..., pattern=TOOL_NAME, description="The tool's name, as the model sees it")
    description: str = Field(..., min_length=1, max_length=2000, description="What it does, for the model")
    connection: str = Field(
        ..., pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Name of a connection of the flow's workspace"
    )
    method: Method = Field("GET", description="HTTP method")
    path: str = Field(
        "/", min_length=1, max_length=2000, description="Path with {param} placeholders, e.g. /tasks/{id}"
    )
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON schema of the arguments; placeholders of the path are required properties",
    )
    approve: Literal["auto", "always", "never"] = Field(
        "auto",
        description="auto: calls that change something wait for a person; always: every call "
        "waits; never: none waits (only when the flow's card says risk: minimal)",
    )

    @field_validator("parameters")
    @classmethod
    def _parameters_are_a_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        return checked_schema(value)

    @model_validator(mode="after")
    def _placeholders_are_required_parameters(self) -> ConnectionTool:
        required = set(self.parameters.get("required") or ())
        for name in PLACEHOLDER.findall(self.path):
            if name not in required or name not in (self.parameters.get("properties") or {}):
                raise PydanticCustomError(
                    "agent_tool_placeholder",
                    "the path's placeholder '{name}' must be a required property of the parameters",
                    {"name": name},
                )
        return self

    @property
    def side_effects(self) -> bool:
        return self.method not in SAFE_METHODS

    def needs_approval(self) -> bool:
        return self.approve == "always" or (self.approve == "auto" and self.side_effects)

    def arguments_schema(self) -> dict[str, Any]:
        return self.parameters


class KnowledgeTool(NodeConfig):
    kind: Literal["knowledge"]
    name: str = Field(..., pattern=TOOL_NAME, description="The tool's name, as the model sees it")
    description: str = Field(..., min_length=1, max_length=2000, description="What it finds, for the model")
    index: str = Field(..., min_length=1, max_length=64, description="Name of a knowledge index")
    top_k: int = Field(5, ge=1, le=50, description="How many passages at most")
    min_score: float = Field(0.0, ge=0.0, le=1.0, description="Leave out passages scoring below this")
    approve: Literal["auto", "always", "never"] = Field("auto", description="always: each search waits")

    @property
    def side_effects(self) -> bool:
        return False

    def needs_approval(self) -> bool:
        return self.approve == "always"

    def arguments_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "What to search for"}},
            "required": ["query"],
        }


class McpTool(NodeConfig):
    kind: Literal["mcp"]
    name: str = Field(..., pattern=TOOL_NAME, description="The tool's name, as the model sees it")
    description: str = Field(..., min_length=1, max_length=2000, description="What it does, for the model")
    server: str = Field(..., pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Name of a registered MCP server")
    tool: str = Field(..., min_length=1, max_length=128, description="The tool's name at the server")
    input_schema: dict[str, Any] = Field(
        ..., description="The tool's input schema, copied from GET /api/mcp-servers/{server}/tools"
    )
    approve: Literal["auto", "always", "never"] = Field(
        "auto",
        description="auto: tools the admin did not mark read-only wait for a person; always: every "
        "call waits; never: none waits (only when the flow's card says risk: minimal)",
    )

    @field_validator("input_schema")
    @classmethod
    def _input_schema_is_a_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        return checked_schema(value)

    @property
    def side_effects(self) -> bool:
        # Whether the admin marked it read-only is known only at run time (`needs_approval`).
        return True

    def needs_approval(self) -> bool:
        return self.approve != "never"

    def arguments_schema(self) -> dict[str, Any]:
        return self.input_schema


class AssistantTool(NodeConfig):
    kind: Literal["assistant"]
    name: str = Field(..., pattern=TOOL_NAME, description="The tool's name, as the model sees it")
    description: str = Field(..., min_length=1, max_length=2000, description="What it does, for the model")
    assistant: str = Field(..., pattern=SLUG, description="Slug of a published assistant")
    version: PublishedNumber | Literal["live"] = Field(
        "live", description='A published version number, or "live"'
    )
    parameters: dict[str, Any] | None = Field(
        None, description="JSON schema of its inputs; left out: derived from the assistant's inputs"
    )
    approve: Literal["auto", "always", "never"] = Field(
        "auto",
        description="auto: calls wait for a person when the assistant may change something; "
        "always: every call waits; never: none waits (only when the flow's card says risk: minimal)",
    )
    # What the runtime says about the assistant (`prepare_tools`), for this run.
    _facts: AssistantFacts | None = PrivateAttr(None)

    @field_validator("parameters")
    @classmethod
    def _parameters_are_a_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return checked_schema(value) if value is not None else None

    @property
    def side_effects(self) -> bool:
        return self._facts.side_effects if self._facts is not None else True

    def needs_approval(self) -> bool:
        return self.approve == "always" or (self.approve == "auto" and self.side_effects)

    def arguments_schema(self) -> dict[str, Any]:
        if self.parameters is not None:
            return self.parameters
        if self._facts is not None:
            return self._facts.parameters
        return {"type": "object", "properties": {}}


AnyTool = ConnectionTool | KnowledgeTool | McpTool | AssistantTool
Tool = Annotated[AnyTool, Field(discriminator="kind")]


async def needs_approval(ctx: NodeContext, tool: AnyTool) -> bool:
    """Whether a call of `tool` waits for a person; an MCP tool's `auto` asks whether the
    admin marked it read-only (now, not when the version was approved)."""
    if isinstance(tool, McpTool) and tool.approve == "auto":
        mcp: McpTools = ctx.service("mcp")
        return not await mcp.read_only(tool.server, tool.tool)
    return tool.needs_approval()


async def prepare_tools(ctx: NodeContext, tools: list[AnyTool]) -> list[AnyTool]:
    """The tools for this run: each assistant tool a copy that knows what the runtime says
    about its assistant now (its inputs, its side effects), asked for this run's caller —
    an assistant they may not invoke fails the node with a clear code. (Copies: a compiled
    flow's nodes, and so their configs, are shared by the runs of a version.)"""
    if not any(isinstance(tool, AssistantTool) for tool in tools):
        return tools
    service: AssistantRuns = ctx.service("assistants")
    prepared: list[AnyTool] = []
    for tool in tools:
        if isinstance(tool, AssistantTool):
            version = None if tool.version == "live" else int(tool.version)
            tool = tool.model_copy()
            tool._facts = await service.describe(ctx.caller_id, tool.assistant, version)
        prepared.append(tool)
    return prepared


def definition(tool: AnyTool) -> dict[str, Any]:
    """The tool as the Messages API's `tools` list describes it to the model."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.arguments_schema(),
        },
    }


def parse_arguments(tool: AnyTool, text: str) -> dict[str, Any]:
    """The model's arguments as an object fitting the tool's schema; `ToolRefused` (told to
    the model, which may try again) when they are not."""
    try:
        arguments = json.loads(text) if text.strip() else {}
    except ValueError:
        raise ToolRefused(f"the arguments are not JSON: {text[:200]}") from None
    if not isinstance(arguments, dict):
        raise ToolRefused("the arguments must be a JSON object")
    try:
        Draft202012Validator(tool.arguments_schema()).validate(arguments)
    except ValidationError as exc:
        raise ToolRefused(f"the arguments do not fit the tool's parameters: {exc.message}") from None
    return arguments


class ToolRefused(Exception):
    """A tool call that could not be made as asked; its message goes back to the model."""


def compact(value: Any) -> str:
    """A tool result as the model reads it: JSON, cut at `MAX_RESULT_CHARS`."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + " …(cut)"


def connection_request(
    ctx: NodeContext, tool: ConnectionTool, arguments: dict[str, Any], call_key: str
) -> ConnectorRequest:
    """The call a connection tool makes: placeholders filled (URL-quoted), other arguments
    as the query (reading and DELETE) or the JSON body (POST, PUT, PATCH)."""
    used = set(PLACEHOLDER.findall(tool.path))
    path = PLACEHOLDER.sub(lambda match: quote(str(arguments[match.group(1)]), safe=""), tool.path)
    rest = {name: value for name, value in arguments.items() if name not in used}
    in_query = tool.method in SAFE_METHODS or tool.method == "DELETE"
    query = {name: value if isinstance(value, str) else json.dumps(value) for name, value in rest.items()}
    return ConnectorRequest(
        run_id=ctx.run_id,
        node_id=ctx.node_id,
        # One journal entry per tool call: the loop's position and what is called.
        idempotency_key=f"{ctx.idempotency_key}:{call_key}",
        connection=tool.connection,
        action=tool.name,
        method=tool.method,
        path=path,
        query=query if in_query else {},
        body=None if in_query else rest,
        caller_id=ctx.caller_id,
        workspace_id=ctx.workspace_id,
        is_test=ctx.is_test,
        allow_live_reads=ctx.allow_live_reads,
    )


async def call_tool(
    ctx: NodeContext, tool: AnyTool, arguments: dict[str, Any], call_key: str, wait_s: float = 60.0
) -> tuple[Any, list[dict[str, Any]]]:
    """Make one tool call: (its result for the model, the passages it found as sources)."""
    if isinstance(tool, AssistantTool):
        return await call_assistant(ctx, tool, arguments, wait_s), []
    if isinstance(tool, McpTool):
        mcp: McpTools = ctx.service("mcp")
        reply = await mcp.call(
            McpCall(
                server=tool.server,
                tool=tool.tool,
                arguments=arguments,
                input_schema=tool.input_schema,
                run_id=ctx.run_id,
                idempotency_key=f"{ctx.idempotency_key}:{call_key}",
            )
        )
        return {"text": reply.text, "is_error": reply.is_error}, []
    if isinstance(tool, KnowledgeTool):
        knowledge: KnowledgeSearch = ctx.service("knowledge")
        passages = await knowledge.retrieve(
            RetrievalRequest(
                run_id=ctx.run_id,
                index=tool.index,
                query=str(arguments["query"]),
                k=tool.top_k,
                min_score=tool.min_score,
                caller_id=ctx.caller_id,
                workspace_id=ctx.workspace_id,
            )
        )
        found = [{"source": where(passage), "text": passage.text} for passage in passages]
        return {"passages": found}, [asdict(passage) for passage in passages]
    service: ConnectorService = ctx.service("connections")
    answer = await service.call(connection_request(ctx, tool, arguments, call_key))
    if isinstance(answer, UncertainCall):
        raise NodeError(
            f"the tool '{tool.name}' was interrupted mid-call earlier; nobody knows whether "
            "it arrived, so the agent stops instead of calling it again",
            code="agent_call_uncertain",
            tool=tool.name,
            connection=tool.connection,
        )
    return {"status": answer.status, "response": answer.response}, []


async def call_assistant(
    ctx: NodeContext, tool: AssistantTool, arguments: dict[str, Any], wait_s: float
) -> dict[str, Any]:
    """Run the assistant as a sub-run with the arguments as its inputs; its outputs for the
    model. A sub-run that fails is told to the model as a failed call (NodeError)."""
    service: AssistantRuns = ctx.service("assistants")
    run_id = await service.start(
        SubRunRequest(
            assistant=tool.assistant,
            version=None if tool.version == "live" else int(tool.version),
            inputs=arguments,
            parent_run_id=ctx.run_id,
            caller_id=ctx.caller_id,
            is_test=ctx.is_test,
        )
    )
    outcome = await service.wait(run_id, wait_s)
    if outcome.status == "succeeded":
        return {"status": "succeeded", "run_id": run_id, "outputs": outcome.outputs or {}}
    if not outcome.ended:  # it waits for a person (or takes long): the model hears so
        return {"status": outcome.status, "run_id": run_id, "note": "the assistant has not finished yet"}
    error = outcome.error or {}
    raise NodeError(
        f"assistant '{tool.assistant}' ended {outcome.status} (run {run_id}): {error.get('message', '')}",
        code="assistant_run_failed",
        assistant=tool.assistant,
        status=outcome.status,
        run_id=run_id,
        detail=str(error.get("message", "")),
    )


def approval_request(tools: dict[str, AnyTool], waiting: list[dict[str, Any]]) -> dict[str, Any]:
    """What the approval task shows about the calls that wait: the tool, and for a connection
    its method and path, with the model's arguments; the caller adds who decides and the
    loop's state. Never editable: an approved call is made exactly as shown."""
    shown = []
    for call in waiting:
        tool = tools[call["name"]]
        entry: dict[str, Any] = {"tool": tool.name, "arguments": call["arguments"]}
        if isinstance(tool, ConnectionTool):
            entry.update(connection=tool.connection, method=tool.method, path=tool.path)
        elif isinstance(tool, McpTool):
            entry.update(server=tool.server, mcp_tool=tool.tool)
        elif isinstance(tool, AssistantTool):
            entry.update(assistant=tool.assistant, version=str(tool.version))
        shown.append(entry)
    first = shown[0]
    if "server" in first:
        title = f"{first['tool']}: MCP {first['server']} {first['mcp_tool']}"
    else:
        title = (
            f"{first['tool']}: {first.get('method', '')} {first.get('connection', '')}{first.get('path', '')}"
        )
    if len(shown) > 1:
        title += f" (+{len(shown) - 1})"
    return {
        "title": title.strip(),
        "instructions": "",
        "payload": {"calls": shown},
        "quorum": 1,
        "editable": False,
        "requester_may_decide": False,
    }
