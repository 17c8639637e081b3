"""`McpServerRegistry`: the MCP servers admins register, stored, listed and tested.

Bearer token and headers are sealed with the connections' `SecretBox`, never answered,
never audited (the API says `has_bearer_token` and the header names). The URL's host is
checked with the egress guard when it is registered (deny by default; `DIRIGENT_EGRESS_ALLOW`
lists exceptions), and again at every call (`runtime/mcp/client.py`).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import append as audit
from runtime.connections.errors import EgressDenied
from runtime.db.models import McpServer, User, iso, utcnow
from runtime.errors import BadRequest, Conflict, NotFound, Unavailable
from runtime.llm.client import check_endpoint_address
from runtime.llm.endpoints import _checked_base_url
from runtime.mcp.client import McpFailure, ToolInfo, list_tools
from runtime.mcp.responses import (
    McpServerCreate,
    McpServerNames,
    McpServerPatch,
    McpServerTestResult,
    McpServerView,
    McpToolList,
    McpToolView,
)
from runtime.mcp.service import McpService
from runtime.policy.resources import Actor

TEST_TIMEOUT_S = 20.0
BEARER = "Authorization"


class McpServerRegistry:
    def __init__(self, service: McpService) -> None:
        self.service = service
        self.db = service.db

    # -- reading -------------------------------------------------------------------------
    async def list_servers(self) -> list[McpServerView]:
        async with self.db.read() as session:
            found = (
                await session.execute(
                    select(McpServer, User.username)
                    .outerjoin(User, User.id == McpServer.created_by)
                    .order_by(McpServer.name)
                )
            ).all()
        return [self._view(row, username) for row, username in found]

    async def names(self) -> list[McpServerNames]:
        return [
            McpServerNames(name=view.name, read_only_tools=view.read_only_tools)
            for view in await self.list_servers()
        ]

    async def tools(self, name: str) -> McpToolList:
        """The server's tools now, to copy into an agent's tool (503 when it cannot be asked)."""
        row = await self._existing(name)
        try:
            found = await list_tools(self.service.access(row), self.service.guard, TEST_TIMEOUT_S)
        except McpFailure as failure:
            raise Unavailable(
                failure.message, code="mcp_server_unavailable", server=name, cause=failure.reason
            ) from None
        return McpToolList(server=name, tools=self._tool_views(row, found))

    # -- changing ------------------------------------------------------------------------
    async def create(self, actor: Actor, data: McpServerCreate) -> McpServerView:
        url = await self._checked_url(data.url)
        async with self.db.write() as session:
            if (await session.execute(select(McpServer.id).where(McpServer.name == data.name))).first():
                raise Conflict(
                    f"an MCP server named '{data.name}' exists already; change it instead",
                    code="name_taken",
                    what="mcp_server",
                    name=data.name,
                )
            creator = await session.get(User, actor.id)
            row = McpServer(
                name=data.name,
                url=url,
                headers_encrypted=self._sealed(data.headers, data.bearer_token),
                read_only_tools=sorted(set(data.read_only_tools)),
                created_by=creator.id if creator is not None else None,
                updated_at=utcnow(),
            )
            session.add(row)
            await session.flush()
            await audit(
                session,
                actor=actor.username,
                action="mcp_server.registered",
                resource_type="mcp_server",
                resource_id=row.id,
                detail={
                    "name": row.name,
                    "url": row.url,
                    "read_only_tools": row.read_only_tools,
                    "credentials_changed": bool(row.headers_encrypted),
                },
            )
            return self._view(row, creator.username if creator is not None else None)

    async def update(self, actor: Actor, name: str, data: McpServerPatch) -> McpServerView:
        given = data.model_fields_set
        url = await self._checked_url(data.url) if data.url is not None else None
        async with self.db.write() as session:
            row = await self._row(session, name)
            changed: list[str] = []
            if url is not None and url != row.url:
                row.url = url
                changed.append("url")
            read_only = sorted(set(data.read_only_tools)) if data.read_only_tools is not None else None
            if read_only is not None and read_only != row.read_only_tools:
                row.read_only_tools = read_only
                changed.append("read_only_tools")
            if given & {"headers", "bearer_token"}:
                current = dict(self.service.access(row).headers)
                bearer = current.pop(BEARER, None)
                headers = data.headers if "headers" in given else current
                token = data.bearer_token if "bearer_token" in given else None
                row.headers_encrypted = self._sealed(
                    headers, token, keep_bearer=None if "bearer_token" in given else bearer
                )
                changed.append("credentials")
            row.updated_at = utcnow()
            await audit(
                session,
                actor=actor.username,
                action="mcp_server.updated",
                resource_type="mcp_server",
                resource_id=row.id,
                detail={"name": row.name, "url": row.url, "changed": changed},
            )
            creator = await session.get(User, row.created_by) if row.created_by else None
            return self._view(row, creator.username if creator is not None else None)

    async def delete(self, actor: Actor, name: str) -> None:
        async with self.db.write() as session:
            row = await self._row(session, name)
            await session.delete(row)
            await audit(
                session,
                actor=actor.username,
                action="mcp_server.removed",
                resource_type="mcp_server",
                resource_id=row.id,
                detail={"name": name, "url": row.url},
            )

    async def test(self, actor: Actor, name: str) -> McpServerTestResult:
        """Connect and list the tools, through the client and guard every call uses."""
        row = await self._existing(name)
        began = time.perf_counter()
        result = McpServerTestResult(name=name, ok=True, latency_ms=0.0)
        try:
            found = await list_tools(self.service.access(row), self.service.guard, TEST_TIMEOUT_S)
            result.tools = self._tool_views(row, found)
            result.message = f"{row.url} offers {len(found)} tools"
        except McpFailure as failure:
            result.ok, result.error, result.message = False, failure.reason, failure.message
        result.latency_ms = round((time.perf_counter() - began) * 1000, 1)
        async with self.db.write() as session:
            await audit(
                session,
                actor=actor.username,
                action="mcp_server.tested",
                resource_type="mcp_server",
                resource_id=row.id,
                detail={"name": name, "ok": result.ok, "error": result.error},
            )
        return result

    # -- helpers -------------------------------------------------------------------------
    def _sealed(
        self, headers: dict[str, str] | None, token: str | None, *, keep_bearer: str | None = None
    ) -> str | None:
        sent = {key: value for key, value in (headers or {}).items() if key.lower() != BEARER.lower()}
        if token:
            sent[BEARER] = f"Bearer {token}"
        elif keep_bearer:
            sent[BEARER] = keep_bearer
        return self.service.box.seal(sent) if sent else None

    def _view(self, row: McpServer, created_by: str | None) -> McpServerView:
        headers = self.service.access(row).headers
        return McpServerView(
            name=row.name,
            url=row.url,
            has_bearer_token=BEARER in headers,
            header_names=sorted(key for key in headers if key != BEARER),
            read_only_tools=list(row.read_only_tools or []),
            created_by=created_by,
            created_at=iso(row.created_at),
            updated_at=iso(row.updated_at),
        )

    @staticmethod
    def _tool_views(row: McpServer, found: list[ToolInfo]) -> list[McpToolView]:
        read_only = set(row.read_only_tools or [])
        return [
            McpToolView(
                name=tool.name,
                description=tool.description,
                input_schema=tool.input_schema,
                read_only=tool.name in read_only,
            )
            for tool in found
        ]

    async def _existing(self, name: str) -> McpServer:
        row = await self.service.row(name)
        if row is None:
            raise NotFound(f"MCP server '{name}' not found", code="not_found", resource="mcp_server")
        return row

    async def _row(self, session: AsyncSession, name: str) -> McpServer:
        row = (await session.execute(select(McpServer).where(McpServer.name == name))).scalar_one_or_none()
        if row is None:
            raise NotFound(f"MCP server '{name}' not found", code="not_found", resource="mcp_server")
        return row

    async def _checked_url(self, url: str) -> str:
        """An http(s) URL with a host (the model endpoints' rules) the egress guard allows."""
        try:
            checked = _checked_base_url(url)
        except BadRequest as bad:
            raise BadRequest(
                f"the url is not a server address ({bad.message})",
                code="invalid_mcp_url",
                field="url",
                url=url,
            ) from None
        try:  # a name that does not resolve yet passes: every call checks again
            await check_endpoint_address(self.service.guard, checked)
        except EgressDenied as denied:
            host = urlsplit(checked).hostname or ""
            raise BadRequest(denied.message, code="mcp_server_not_allowed", host=host) from None
        return checked
