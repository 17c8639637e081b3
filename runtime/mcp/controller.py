"""`/api/mcp-servers`: MCP servers (streamable HTTP) an admin registers for agents' tools.

GET     /api/mcp-servers                     admins: every field but secrets
GET     /api/mcp-servers/names               whoever builds flows (champions): names, read-only tools
GET     /api/mcp-servers/{name}/tools        whoever builds flows: the tools now (name, description,
                                             input schema) — the studio copies one into an agent's tool
POST    /api/mcp-servers                     admins: register (bearer token, headers: stored encrypted)
PATCH   /api/mcp-servers/{name}              admins: URL, secrets, read-only tools (the name stays)
DELETE  /api/mcp-servers/{name}              admins
POST    /api/mcp-servers/{name}/test         admins: connect and list the tools; ok, latency, or
                                             `error`: not_allowed | unreachable | timeout | ...
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from runtime.api.deps import Caller, Root
from runtime.errors import Unavailable
from runtime.mcp.registry import McpServerRegistry
from runtime.mcp.responses import (
    McpServerCreate,
    McpServerNames,
    McpServerPatch,
    McpServerRemoved,
    McpServerTestResult,
    McpServerView,
    McpToolList,
)
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor, Platform


@dataclass(frozen=True)
class McpDesk:
    """The registered MCP servers, and the policy that says who may see or change them."""

    registry: McpServerRegistry
    authz: Authorizer

    def managed_by(self, actor: Actor) -> McpServerRegistry:
        self.authz.authorize(actor, "manage_mcp_servers", Platform())
        return self.registry

    def read_by(self, actor: Actor) -> McpServerRegistry:
        self.authz.authorize(actor, "read_mcp_servers", Platform())
        return self.registry


def provide_mcp(root: Root) -> McpDesk:
    if root.mcp_servers is None:
        raise Unavailable(
            "MCP servers are not configured in this runtime", code="not_configured", service="MCP servers"
        )
    return McpDesk(root.mcp_servers, root.authz)


Mcp = NamedDependency[McpDesk]


class McpServerController(Controller):
    path = "/api/mcp-servers"
    tags = ["mcp"]
    dependencies = {"mcp": Provide(provide_mcp, sync_to_thread=False)}

    @get("/")
    async def list_servers(self, mcp: Mcp, actor: Caller) -> list[McpServerView]:
        return await mcp.managed_by(actor).list_servers()

    @get("/names")
    async def list_names(self, mcp: Mcp, actor: Caller) -> list[McpServerNames]:
        return await mcp.read_by(actor).names()

    @get("/{name:str}/tools")
    async def list_tools(self, mcp: Mcp, actor: Caller, name: FromPath[str]) -> McpToolList:
        return await mcp.read_by(actor).tools(name)

    @post("/")
    async def register(self, mcp: Mcp, actor: Caller, data: JSONBody[McpServerCreate]) -> McpServerView:
        return await mcp.managed_by(actor).create(actor, data)

    @patch("/{name:str}")
    async def change(
        self, mcp: Mcp, actor: Caller, name: FromPath[str], data: JSONBody[McpServerPatch]
    ) -> McpServerView:
        return await mcp.managed_by(actor).update(actor, name, data)

    @delete("/{name:str}", status_code=200)
    async def unregister(self, mcp: Mcp, actor: Caller, name: FromPath[str]) -> McpServerRemoved:
        await mcp.managed_by(actor).delete(actor, name)
        return McpServerRemoved(name=name)

    @post("/{name:str}/test", status_code=200)
    async def test(self, mcp: Mcp, actor: Caller, name: FromPath[str]) -> McpServerTestResult:
        return await mcp.managed_by(actor).test(actor, name)
