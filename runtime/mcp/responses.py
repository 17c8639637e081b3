"""Request and response bodies of `/api/mcp-servers` (runtime/mcp/controller.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from runtime.llm.schemas import HTTP_URL
from runtime.wire import Body, documented_pattern

SERVER_NAME = r"^[A-Za-z0-9_.-]{1,64}$"
TOOL_NAME = r"^[A-Za-z0-9_.-]{1,128}$"
HEADER_NAME = r"^[A-Za-z0-9-]{1,64}$"

FailureReason = Literal["not_allowed", "unreachable", "timeout", "bad_response", "not_installed"]


class McpServerCreate(Body):
    name: str = Field(..., pattern=SERVER_NAME, description="What agent tools name in `server`")
    url: str = Field(
        ...,
        min_length=1,
        max_length=500,
        json_schema_extra=documented_pattern(HTTP_URL),
        description="The server's streamable-HTTP endpoint, e.g. https://mcp.intern/mcp",
    )
    bearer_token: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="Sent as `Authorization: Bearer`; stored encrypted, never shown again",
    )
    headers: dict[str, str] | None = Field(
        None, max_length=20, description="Further headers; stored encrypted, never shown again"
    )
    read_only_tools: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="Tools that change nothing: agents call them without asking a person",
    )


class McpServerPatch(Body):
    url: str | None = Field(
        None, min_length=1, max_length=500, json_schema_extra=documented_pattern(HTTP_URL)
    )
    bearer_token: str | None = Field(
        None, min_length=1, max_length=4096, description="A new token; null removes it; left out: kept"
    )
    headers: dict[str, str] | None = Field(
        None, max_length=20, description="New headers; null removes them; left out: kept"
    )
    read_only_tools: list[str] | None = Field(None, max_length=200)


class McpServerView(BaseModel):
    name: str
    url: str
    has_bearer_token: bool = Field(description="The token itself is never shown")
    header_names: list[str] = Field(description="Names of the further headers; their values are never shown")
    read_only_tools: list[str]
    created_by: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class McpServerNames(BaseModel):
    """What champions see: names and read-only tools, to build flows with them."""

    name: str
    read_only_tools: list[str]


class McpToolView(BaseModel):
    name: str
    description: str = ""
    input_schema: dict[str, Any] = Field(description="Copy it into the agent's tool as `input_schema`")
    read_only: bool = Field(description="The admin marked it read-only: no approval needed")


class McpToolList(BaseModel):
    server: str
    tools: list[McpToolView]


class McpServerTestResult(BaseModel):
    name: str
    ok: bool
    latency_ms: float
    tools: list[McpToolView] = Field(default_factory=list)
    error: FailureReason | None = Field(None, description="Why it failed, for programs")
    message: str = Field("", description="What happened, in English; never a token")


class McpServerRemoved(BaseModel):
    name: str
    removed: bool = True
