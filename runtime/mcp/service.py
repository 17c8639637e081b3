"""`McpService`: the `mcp` node service (`nodes.services.McpTools`) over the registered servers.

Every call reads the server's row (one lookup by name): an admin's change counts from the
next call in every process, with nothing kept in memory. Before calling, the tool's input
schema at the server is compared with the one the version holds (copied when the flow was
built, so the board approved exactly it); a difference refuses the call with
`mcp_tool_changed` until a new version carries the new schema.
"""

from __future__ import annotations

from sqlalchemy import select

from nodes.errors import NodeError
from nodes.services import McpAnswer, McpCall
from runtime.connections.egress import EgressGuard
from runtime.connections.secrets import SecretBox, SecretKeyError
from runtime.db.database import Database
from runtime.db.models import McpServer
from runtime.mcp.client import McpFailure, ServerAccess, call_tool

FAILURE_CODES = {"not_allowed": "mcp_not_allowed"}


class McpService:
    """Reads registered MCP servers and calls their tools through the egress guard."""

    def __init__(self, db: Database, box: SecretBox, guard: EgressGuard) -> None:
        self.db = db
        self.box = box
        self.guard = guard

    async def row(self, name: str) -> McpServer | None:
        async with self.db.read() as session:
            return (
                await session.execute(select(McpServer).where(McpServer.name == name))
            ).scalar_one_or_none()

    def access(self, row: McpServer) -> ServerAccess:
        headers: dict[str, str] = {}
        if row.headers_encrypted:
            try:
                headers = dict(self.box.open(row.headers_encrypted))
            except SecretKeyError:
                headers = {}  # called without them; the server will say it is unauthorised
        return ServerAccess(name=row.name, url=row.url, headers=headers)

    # -- nodes.services.McpTools -------------------------------------------------------------
    async def read_only(self, server: str, tool: str) -> bool:
        row = await self.row(server)
        return row is not None and tool in (row.read_only_tools or [])

    async def call(self, call: McpCall) -> McpAnswer:
        row = await self.row(call.server)
        if row is None:
            raise NodeError(
                f"there is no MCP server '{call.server}'; an admin registers it",
                code="mcp_server_missing",
                server=call.server,
            )
        try:
            answer = await call_tool(
                self.access(row), self.guard, call.tool, call.arguments, call.input_schema, call.timeout_s
            )
        except McpFailure as failure:
            raise NodeError(
                failure.message,
                code=FAILURE_CODES.get(failure.reason, "mcp_unavailable"),
                server=call.server,
                cause=failure.reason,
            ) from None
        if isinstance(answer, tuple):
            text, is_error = answer
            return McpAnswer(text=text, is_error=is_error)
        raise NodeError(
            f"the tool '{call.tool}' of MCP server '{call.server}' "
            + ("is no longer offered" if answer is None else "has another input schema now")
            + "; it is not called until a new version with its current schema is approved",
            code="mcp_tool_changed",
            server=call.server,
            tool=call.tool,
            change="removed" if answer is None else "schema",
        )
