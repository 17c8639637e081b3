"""`/api/model-endpoints`: LLM servers an admin registers (TGI or any Messages-API server).

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
from runtime.api.schemas import HTTP_URL, EndpointCreate
from runtime.audit.service import append as audit
from runtime.db.models import ModelEndpoint
from runtime.errors import BadRequest, Conflict, NotFound
from runtime.policy.resources import Platform


def _is_http_url(text: str) -> bool:
    """`EndpointCreate.base_url`'s pattern, and what urllib makes of it."""
    if not HTTP_URL.fullmatch(text):
        return False
    try:
        parts = urlsplit(text)
        return bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:  # urllib's own checks
        return False


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
        if not _is_http_url(data.base_url):
            raise BadRequest(
                "base_url must be an http:// or https:// URL with a host, e.g. http://tgi.intern:8080",
                code="invalid_base_url",
                field="base_url",
            )
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
