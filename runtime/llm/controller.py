"""`/api/model-endpoints`: LLM servers an admin registers (TGI or any Messages-API server).

GET     /api/model-endpoints               every signed-in user (forms offer the names)
POST    /api/model-endpoints               admins: register (optional API key, stored encrypted)
PATCH   /api/model-endpoints/{name}        admins: change URL, model id or key (the name stays)
DELETE  /api/model-endpoints/{name}        admins; 409 `endpoint_in_use` while a submitted,
                                           approved or published version uses it
POST    /api/model-endpoints/{name}/test   admins: a one-token chat request; ok, latency,
                                           or `error`: not_allowed | unreachable | timeout |
                                           unauthorized | not_found | server_error | bad_response

A base URL whose host is an address the egress guard refuses (loopback, private,
link-local, metadata; `DIRIGENT_EGRESS_ALLOW` lists exceptions) is refused with 400
`endpoint_not_allowed`, and every call checks again (`runtime/llm/client.py`). What is
stored and how every process learns of a change: `runtime/llm/endpoints.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from runtime.api.deps import Caller, Root
from runtime.errors import Unavailable
from runtime.llm.endpoints import ModelEndpointRegistry
from runtime.llm.schemas import (
    EndpointRemoved,
    EndpointTestResult,
    ModelEndpointCreate,
    ModelEndpointPatch,
    ModelEndpointView,
)
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor, Platform


@dataclass(frozen=True)
class EndpointDesk:
    """The registered model endpoints, and the policy that says who may change them."""

    registry: ModelEndpointRegistry
    authz: Authorizer

    def managed_by(self, actor: Actor) -> ModelEndpointRegistry:
        """The registry, for an actor the policy lets manage endpoints (403 otherwise)."""
        self.authz.authorize(actor, "manage_endpoints", Platform())
        return self.registry


def provide_endpoints(root: Root) -> EndpointDesk:
    if root.model_endpoints is None:
        raise Unavailable(
            "model endpoints are not configured in this runtime",
            code="not_configured",
            service="model endpoints",
        )
    return EndpointDesk(root.model_endpoints, root.authz)


Endpoints = NamedDependency[EndpointDesk]


class ModelEndpointController(Controller):
    path = "/api/model-endpoints"
    tags = ["models"]
    dependencies = {"endpoints": Provide(provide_endpoints, sync_to_thread=False)}

    @get("/")
    async def list_endpoints(self, endpoints: Endpoints, actor: Caller) -> list[ModelEndpointView]:
        """Names are visible to every signed-in user (the studio offers them in forms);
        API keys to nobody."""
        return await endpoints.registry.list_endpoints()

    @post("/")
    async def register(
        self, endpoints: Endpoints, actor: Caller, data: JSONBody[ModelEndpointCreate]
    ) -> ModelEndpointView:
        return await endpoints.managed_by(actor).create(actor, data)

    @patch("/{name:str}")
    async def change(
        self, endpoints: Endpoints, actor: Caller, name: FromPath[str], data: JSONBody[ModelEndpointPatch]
    ) -> ModelEndpointView:
        return await endpoints.managed_by(actor).update(actor, name, data)

    @delete("/{name:str}", status_code=200)
    async def unregister(self, endpoints: Endpoints, actor: Caller, name: FromPath[str]) -> EndpointRemoved:
        await endpoints.managed_by(actor).delete(actor, name)
        return EndpointRemoved(name=name)

    @post("/{name:str}/test", status_code=200)
    async def test(self, endpoints: Endpoints, actor: Caller, name: FromPath[str]) -> EndpointTestResult:
        return await endpoints.managed_by(actor).test(actor, name)
