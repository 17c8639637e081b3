"""`/api/model-endpoints`: LLM servers an admin registers (TGI or any Messages-API server).

A base URL whose host is an address the egress guard refuses (loopback, private,
link-local, metadata; `DIRIGENT_EGRESS_ALLOW` lists exceptions) is refused here with 400
`endpoint_not_allowed`, and every call checks again (`runtime/llm/client.py`).

API keys for endpoints arrive with the encrypted secrets store (Connectors issue); until
then an endpoint that needs a key is configured through `DIRIGENT_LLM_API_KEY`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from runtime.api.deps import Caller, Rt, iso
from runtime.api.schemas import EndpointCreate
from runtime.audit.service import append as audit
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.connections.errors import EgressDenied
from runtime.db.models import ModelEndpoint
from runtime.errors import BadRequest, Conflict, NotFound
from runtime.llm.client import HFChatModel, check_endpoint_address, origin
from runtime.policy.resources import Platform


class ModelEndpointController(Controller):
    path = "/api/model-endpoints"
    tags = ["models"]

    @get("/")
    async def list_endpoints(self, rt: Rt, actor: Caller) -> list[dict[str, Any]]:
        """Names are visible to every signed-in user (the studio offers them in forms)."""
        async with rt.db.read() as session:
            rows = (await session.execute(select(ModelEndpoint).order_by(ModelEndpoint.name))).scalars().all()
        registered = [
            {
                "name": row.name,
                "base_url": row.base_url,
                "model": row.model,
                "source": "admin",
                "created_at": iso(row.created_at),
            }
            for row in rows
        ]
        if rt.settings.llm_url and not any(item["name"] == "default" for item in registered):
            registered.insert(
                0,
                {
                    "name": "default",
                    "base_url": rt.settings.llm_url,
                    "model": rt.settings.llm_model,
                    "source": "environment",
                    "created_at": None,
                },
            )
        return registered

    @post("/")
    async def register(self, rt: Rt, actor: Caller, data: JSONBody[EndpointCreate]) -> dict[str, Any]:
        rt.authz.authorize(actor, "manage_endpoints", Platform())
        if urlsplit(data.base_url).scheme not in ("http", "https"):
            raise BadRequest("base_url must start with http:// or https://")
        if not urlsplit(data.base_url).hostname:
            raise BadRequest("base_url needs a host, e.g. http://tgi:80", code="invalid_endpoint")
        await _check_address(rt, data.base_url)
        async with rt.db.write() as session:
            exists = (
                await session.execute(select(ModelEndpoint).where(ModelEndpoint.name == data.name))
            ).first()
            if exists:
                raise Conflict(f"an endpoint named '{data.name}' exists already")
            row = ModelEndpoint(name=data.name, base_url=data.base_url.rstrip("/"), model=data.model)
            session.add(row)
            await session.flush()
            await audit(
                session,
                actor=actor.username,
                action="model_endpoint.registered",
                resource_type="model_endpoint",
                resource_id=row.id,
                detail={"name": data.name, "base_url": row.base_url},
            )
        await rt.reload_model_endpoints()
        return {"name": row.name, "base_url": row.base_url, "model": row.model, "source": "admin"}

    @delete("/{name:str}", status_code=200)
    async def unregister(self, rt: Rt, actor: Caller, name: FromPath[str]) -> dict[str, Any]:
        rt.authz.authorize(actor, "manage_endpoints", Platform())
        async with rt.db.write() as session:
            row = (
                await session.execute(select(ModelEndpoint).where(ModelEndpoint.name == name))
            ).scalar_one_or_none()
            if row is None:
                raise NotFound(f"no registered endpoint '{name}'")
            await session.delete(row)
            await audit(
                session,
                actor=actor.username,
                action="model_endpoint.removed",
                resource_type="model_endpoint",
                resource_id=row.id,
                detail={"name": name},
            )
        await rt.reload_model_endpoints()
        return {"name": name, "removed": True}


async def _check_address(rt: Rt, base_url: str) -> None:
    """Refuse a URL the egress guard would refuse at every call (the operator's own
    `DIRIGENT_LLM_URL` server excepted, as in `runtime.llm.client`)."""
    if rt.settings.llm_url and origin(base_url) == origin(rt.settings.llm_url):
        return
    llm = rt.services.get("llm")
    guard = (
        llm.guard
        if isinstance(llm, HFChatModel)
        else EgressGuard(EgressPolicy.parse(rt.settings.egress_allow))
    )
    try:
        await check_endpoint_address(guard, base_url)
    except EgressDenied as denied:
        raise BadRequest(denied.message, code="endpoint_not_allowed") from None
