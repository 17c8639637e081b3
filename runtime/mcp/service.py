"""`McpService`: the `mcp` node service (`nodes.services.McpTools`) over the registered servers.

Every call reads the server's row (one lookup by name): an admin's change counts from the
next call in every process, with nothing kept in memory. Before calling, the tool's input
schema at the server is compared with the one the version holds (copied when the flow was
built, so the board approved exactly it); a difference refuses the call with
`mcp_tool_changed` until a new version carries the new schema.

A tool the admin did not mark read-only may change something: its call goes through the
connections' call journal (`runtime.connections.journal`), written down before it is made,
so a loop resumed after a crash gets the journaled answer instead of calling again, and a
call interrupted mid-way is not repeated blindly (`agent_call_uncertain`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from nodes.errors import NodeError
from nodes.services import McpAnswer, McpCall
from runtime.connections.egress import EgressGuard
from runtime.connections.errors import SideEffectUncertain
from runtime.connections.journal import AskPerson, CallJournal, JournaledCall
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
        self.journal = CallJournal(db)

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
        access = self.access(row)

        async def send() -> dict[str, Any]:
            try:
                answer = await call_tool(
                    access, self.guard, call.tool, call.arguments, call.input_schema, call.timeout_s
                )
            except McpFailure as failure:
                raise NodeError(
                    failure.message,
                    code=FAILURE_CODES.get(failure.reason, "mcp_unavailable"),
                    server=call.server,
                    cause=failure.reason,
                ) from None
            if isinstance(answer, tuple):
                return {"text": answer[0], "is_error": answer[1]}
            raise _changed(call, removed=answer is None)

        if not call.idempotency_key or call.tool in (row.read_only_tools or []):
            return McpAnswer(**await send())
        arguments = json.dumps(call.arguments, sort_keys=True, ensure_ascii=False)
        journaled = JournaledCall(
            key=call.idempotency_key[:200],
            connection_id=row.id,
            connection=call.server,
            run_id=call.run_id,
            effect="unsafe",
            on_uncertain="fail",
            digest=hashlib.sha256(f"{call.tool}\n{arguments}".encode()).hexdigest(),
            summary=f"MCP {call.server}: {call.tool}",
        )
        try:
            outputs = await self.journal.once(journaled, send, {}, lambda text: text)
        except SideEffectUncertain:
            raise NodeError(
                f"the tool '{call.tool}' was interrupted mid-call earlier; nobody knows whether "
                "it arrived, so the agent stops instead of calling it again",
                code="agent_call_uncertain",
                tool=call.tool,
                connection=call.server,
            ) from None
        assert not isinstance(outputs, AskPerson)  # on_uncertain "fail" never asks
        return McpAnswer(text=str(outputs.get("text", "")), is_error=bool(outputs.get("is_error")))


def _changed(call: McpCall, *, removed: bool) -> NodeError:
    return NodeError(
        f"the tool '{call.tool}' of MCP server '{call.server}' "
        + ("is no longer offered" if removed else "has another input schema now")
        + "; it is not called until a new version with its current schema is approved",
        code="mcp_tool_changed",
        server=call.server,
        tool=call.tool,
        change="removed" if removed else "schema",
    )
