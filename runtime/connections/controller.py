"""Connections and triggers over HTTP.

GET|POST          /api/workspaces/{ws}/connections
GET|PATCH|DELETE  /api/connections/{id}
POST              /api/connections/{id}/test[?target=test]
GET               /api/flows/{flow_id}/versions/{number}/connections   what a version uses
GET|POST          /api/assistants/{slug}/triggers
PATCH|DELETE      /api/assistants/{slug}/triggers/{trigger_id}   pause, reschedule, rotate the key
POST              /api/triggers/{trigger_id}       (public: HMAC-signed webhook delivery)
"""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from pydantic import Field

from runtime.api.deps import Caller, Rt
from runtime.api.params import VersionNumber
from runtime.api.schemas import Body, documented_pattern
from runtime.connections.service import NAME, ConnectionService
from runtime.errors import PayloadTooLarge, Unavailable
from runtime.flows import service as flows
from runtime.runs.admission import REPLAYED_HEADER
from runtime.runs.triggers import TriggerService

MAX_DELIVERY_BYTES = 1024 * 1024


class TestTargetBody(Body):
    """Where test runs go instead of production: the same kind, its own secrets."""

    __test__ = False  # not a pytest class, although its name starts with "Test"

    settings: dict[str, Any] = Field(default_factory=dict, description="Settings of the connection's kind")
    secrets: dict[str, str | None] = Field(default_factory=dict, description="Never shown again")


class ConnectionCreate(Body):
    name: str = Field(..., description="Name flows use, e.g. crm", json_schema_extra=documented_pattern(NAME))
    kind: Literal["http", "webhook", "email", "sql"]
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str | None] = Field(default_factory=dict, description="Never shown again")
    test_target: TestTargetBody | None = Field(None, description="Optional: what test runs call instead")


class ConnectionPatch(Body):
    name: str | None = Field(None, json_schema_extra=documented_pattern(NAME))
    settings: dict[str, Any] | None = Field(None, description="Fields to change; the others stay")
    secrets: dict[str, str | None] | None = Field(None, description="Secrets to set; null removes one")
    test_target: TestTargetBody | None = Field(
        None, description="Set or change the test target; null removes it; left out: kept"
    )


class TriggerPatch(Body):
    enabled: bool | None = None
    cron: str | None = None
    timezone: str | None = None
    inputs: dict[str, Any] | None = None
    rotate_secret: bool = Field(False, description="Webhook: a new signing key, shown in this answer only")


class TriggerCreate(Body):
    kind: Literal["webhook", "schedule"]
    name: str = Field("", max_length=200)
    cron: str | None = Field(None, description="Schedule: cron expression, e.g. 0 7 * * 1-5")
    timezone: str = "Europe/Berlin"
    inputs: dict[str, Any] = Field(default_factory=dict, description="Schedule: the run's inputs")


def connections(rt: Rt) -> ConnectionService:
    service = rt.services.get("connections")
    if not isinstance(service, ConnectionService):
        raise Unavailable(
            "connections are not configured in this runtime", code="not_configured", service="connections"
        )
    return service


def triggers(rt: Rt) -> TriggerService:
    """The runtime's triggers (they exist where connections do: they use their secret box)."""
    if rt.triggers is None:
        connections(rt)  # says why
        raise Unavailable(
            "connections are not configured in this runtime", code="not_configured", service="connections"
        )
    return rt.triggers


class ConnectionController(Controller):
    path = "/api"
    tags = ["connections"]

    @get("/workspaces/{workspace:str}/connections")
    async def list_connections(self, rt: Rt, actor: Caller, workspace: FromPath[str]) -> list[dict[str, Any]]:
        return await connections(rt).list_connections(actor, workspace)

    @post("/workspaces/{workspace:str}/connections")
    async def create_connection(
        self, rt: Rt, actor: Caller, workspace: FromPath[str], data: JSONBody[ConnectionCreate]
    ) -> dict[str, Any]:
        target = data.test_target.model_dump() if data.test_target is not None else None
        return await connections(rt).create(
            actor, workspace, data.name, data.kind, data.settings, data.secrets, target
        )

    @get("/connections/{connection_id:str}")
    async def get_connection(self, rt: Rt, actor: Caller, connection_id: FromPath[str]) -> dict[str, Any]:
        return await connections(rt).get(actor, connection_id)

    @patch("/connections/{connection_id:str}")
    async def update_connection(
        self, rt: Rt, actor: Caller, connection_id: FromPath[str], data: JSONBody[ConnectionPatch]
    ) -> dict[str, Any]:
        target: Any = ...  # left out: kept
        if "test_target" in data.model_fields_set:
            target = data.test_target.model_dump() if data.test_target is not None else None
        return await connections(rt).update(
            actor,
            connection_id,
            name=data.name,
            settings=data.settings,
            secrets=data.secrets,
            test_target=target,
        )

    @delete("/connections/{connection_id:str}", status_code=204)
    async def delete_connection(self, rt: Rt, actor: Caller, connection_id: FromPath[str]) -> None:
        await connections(rt).delete(actor, connection_id)

    @post("/connections/{connection_id:str}/test", status_code=200)
    async def test_connection(
        self,
        rt: Rt,
        actor: Caller,
        connection_id: FromPath[str],
        target: FromQuery[Literal["production", "test"]] = "production",
    ) -> dict[str, Any]:
        return await connections(rt).test(actor, connection_id, target)

    @get("/flows/{flow_id:str}/versions/{number:int}/connections")
    async def version_connections(
        self, rt: Rt, actor: Caller, flow_id: FromPath[str], number: VersionNumber
    ) -> dict[str, Any]:
        """Which connections and actions a version uses (the board approves these too)."""
        async with rt.db.read() as session:
            flow, version = await flows.get_version(session, rt.authz, actor, flow_id, number)
        used = await connections(rt).used_by(flow.workspace_id, version.document)
        return {
            "flow_id": flow_id,
            "version": number,
            "content_hash": version.content_hash,
            "uses": used,
            "missing": sorted({entry["connection"] for entry in used if not entry["exists"]}),
        }

    # -- triggers ---------------------------------------------------------------------
    @get("/assistants/{slug:str}/triggers")
    async def list_triggers(self, rt: Rt, actor: Caller, slug: FromPath[str]) -> list[dict[str, Any]]:
        return await triggers(rt).list_triggers(actor, slug)

    @post("/assistants/{slug:str}/triggers")
    async def create_trigger(
        self, rt: Rt, actor: Caller, slug: FromPath[str], data: JSONBody[TriggerCreate]
    ) -> dict[str, Any]:
        return await triggers(rt).create(
            actor, slug, data.kind, name=data.name, cron=data.cron, timezone=data.timezone, inputs=data.inputs
        )

    @patch("/assistants/{slug:str}/triggers/{trigger_id:str}")
    async def update_trigger(
        self,
        rt: Rt,
        actor: Caller,
        slug: FromPath[str],
        trigger_id: FromPath[str],
        data: JSONBody[TriggerPatch],
    ) -> dict[str, Any]:
        return await triggers(rt).update(
            actor,
            slug,
            trigger_id,
            enabled=data.enabled,
            cron=data.cron,
            timezone=data.timezone,
            inputs=data.inputs,
            rotate_secret=data.rotate_secret,
        )

    @delete("/assistants/{slug:str}/triggers/{trigger_id:str}", status_code=204)
    async def delete_trigger(
        self, rt: Rt, actor: Caller, slug: FromPath[str], trigger_id: FromPath[str]
    ) -> None:
        await triggers(rt).delete(actor, slug, trigger_id)

    @post("/triggers/{trigger_id:str}", exclude_from_auth=True, status_code=202)
    async def deliver(
        self, rt: Rt, request: Request[Any, Any, Any], trigger_id: FromPath[str]
    ) -> Response[Any]:
        """A signed webhook delivery: starts a run with the JSON body as inputs."""
        body = await request.body()
        if len(body) > MAX_DELIVERY_BYTES:
            raise PayloadTooLarge(
                f"a delivery is at most {MAX_DELIVERY_BYTES} bytes",
                code="payload_too_large",
                size_bytes=len(body),
                limit_bytes=MAX_DELIVERY_BYTES,
                what="delivery",
            )
        delivery = await triggers(rt).deliver(rt.runs, trigger_id, body, dict(request.headers))
        if delivery.replayed:  # delivered before: the run it started (stored), nothing new
            return Response(
                {"run_id": delivery.run_id, "status": "started", "replayed": True},
                status_code=202,
                headers={REPLAYED_HEADER: "true"},
            )
        return Response({"run_id": delivery.run_id, "status": "started"}, status_code=202)
