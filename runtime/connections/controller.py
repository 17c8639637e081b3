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

from dataclasses import dataclass
from typing import Any, Literal

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from pydantic import Field

from runtime.api.deps import Caller, Root
from runtime.api.params import VersionNumber
from runtime.api.schemas import Body, documented_pattern
from runtime.connections.responses import (
    ConnectionOut,
    ConnectionTestOut,
    DeliveryOut,
    TriggerOut,
    VersionConnectionsOut,
)
from runtime.connections.service import NAME, ConnectionService
from runtime.errors import PayloadTooLarge, Unavailable
from runtime.flows.version_connections import VersionConnections
from runtime.runs.admission import REPLAYED_HEADER
from runtime.runs.manager import RunManager
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


def provide_connections(root: Root) -> ConnectionService:
    """The runtime's connections; 503 `not_configured` in a runtime without them."""
    service = root.services.get("connections")
    if not isinstance(service, ConnectionService):
        raise Unavailable(
            "connections are not configured in this runtime", code="not_configured", service="connections"
        )
    return service


@dataclass(frozen=True)
class AssistantTriggers:
    """The runtime's triggers, and the runs a delivery starts."""

    service: TriggerService
    runs: RunManager


def provide_triggers(root: Root) -> AssistantTriggers:
    """The triggers (they exist where connections do: they use their secret box)."""
    if root.triggers is None:
        provide_connections(root)  # says why
        raise Unavailable(
            "connections are not configured in this runtime", code="not_configured", service="connections"
        )
    return AssistantTriggers(root.triggers, root.runs)


def provide_version_connections(root: Root) -> VersionConnections:
    return VersionConnections(root.db, root.authz, provide_connections(root))


Connections = NamedDependency[ConnectionService]
Triggers = NamedDependency[AssistantTriggers]
Versions = NamedDependency[VersionConnections]


class ConnectionController(Controller):
    path = "/api"
    tags = ["connections"]
    dependencies = {
        "connections": Provide(provide_connections, sync_to_thread=False),
        "triggers": Provide(provide_triggers, sync_to_thread=False),
        "versions": Provide(provide_version_connections, sync_to_thread=False),
    }

    @get("/workspaces/{workspace:str}/connections")
    async def list_connections(
        self, connections: Connections, actor: Caller, workspace: FromPath[str]
    ) -> list[ConnectionOut]:
        return [
            ConnectionOut.model_validate(row) for row in await connections.list_connections(actor, workspace)
        ]

    @post("/workspaces/{workspace:str}/connections")
    async def create_connection(
        self,
        connections: Connections,
        actor: Caller,
        workspace: FromPath[str],
        data: JSONBody[ConnectionCreate],
    ) -> ConnectionOut:
        target = data.test_target.model_dump() if data.test_target is not None else None
        created = await connections.create(
            actor, workspace, data.name, data.kind, data.settings, data.secrets, target
        )
        return ConnectionOut.model_validate(created)

    @get("/connections/{connection_id:str}")
    async def get_connection(
        self, connections: Connections, actor: Caller, connection_id: FromPath[str]
    ) -> ConnectionOut:
        return ConnectionOut.model_validate(await connections.get(actor, connection_id))

    @patch("/connections/{connection_id:str}")
    async def update_connection(
        self,
        connections: Connections,
        actor: Caller,
        connection_id: FromPath[str],
        data: JSONBody[ConnectionPatch],
    ) -> ConnectionOut:
        target: Any = ...  # left out: kept
        if "test_target" in data.model_fields_set:
            target = data.test_target.model_dump() if data.test_target is not None else None
        updated = await connections.update(
            actor,
            connection_id,
            name=data.name,
            settings=data.settings,
            secrets=data.secrets,
            test_target=target,
        )
        return ConnectionOut.model_validate(updated)

    @delete("/connections/{connection_id:str}", status_code=204)
    async def delete_connection(
        self, connections: Connections, actor: Caller, connection_id: FromPath[str]
    ) -> None:
        await connections.delete(actor, connection_id)

    @post("/connections/{connection_id:str}/test", status_code=200)
    async def test_connection(
        self,
        connections: Connections,
        actor: Caller,
        connection_id: FromPath[str],
        target: FromQuery[Literal["production", "test"]] = "production",
    ) -> ConnectionTestOut:
        return ConnectionTestOut.model_validate(await connections.test(actor, connection_id, target))

    @get("/flows/{flow_id:str}/versions/{number:int}/connections")
    async def version_connections(
        self, versions: Versions, actor: Caller, flow_id: FromPath[str], number: VersionNumber
    ) -> VersionConnectionsOut:
        """Which connections and actions a version uses (the board approves these too)."""
        return await versions.of(actor, flow_id, number)

    # -- triggers ---------------------------------------------------------------------
    @get("/assistants/{slug:str}/triggers")
    async def list_triggers(self, triggers: Triggers, actor: Caller, slug: FromPath[str]) -> list[TriggerOut]:
        return [TriggerOut.model_validate(row) for row in await triggers.service.list_triggers(actor, slug)]

    @post("/assistants/{slug:str}/triggers")
    async def create_trigger(
        self, triggers: Triggers, actor: Caller, slug: FromPath[str], data: JSONBody[TriggerCreate]
    ) -> TriggerOut:
        created = await triggers.service.create(
            actor, slug, data.kind, name=data.name, cron=data.cron, timezone=data.timezone, inputs=data.inputs
        )
        return TriggerOut.model_validate(created)

    @patch("/assistants/{slug:str}/triggers/{trigger_id:str}")
    async def update_trigger(
        self,
        triggers: Triggers,
        actor: Caller,
        slug: FromPath[str],
        trigger_id: FromPath[str],
        data: JSONBody[TriggerPatch],
    ) -> TriggerOut:
        updated = await triggers.service.update(
            actor,
            slug,
            trigger_id,
            enabled=data.enabled,
            cron=data.cron,
            timezone=data.timezone,
            inputs=data.inputs,
            rotate_secret=data.rotate_secret,
        )
        return TriggerOut.model_validate(updated)

    @delete("/assistants/{slug:str}/triggers/{trigger_id:str}", status_code=204)
    async def delete_trigger(
        self, triggers: Triggers, actor: Caller, slug: FromPath[str], trigger_id: FromPath[str]
    ) -> None:
        await triggers.service.delete(actor, slug, trigger_id)

    @post("/triggers/{trigger_id:str}", exclude_from_auth=True, status_code=202)
    async def deliver(
        self, triggers: Triggers, request: Request[Any, Any, Any], trigger_id: FromPath[str]
    ) -> Response[DeliveryOut]:
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
        delivery = await triggers.service.deliver(triggers.runs, trigger_id, body, dict(request.headers))
        if delivery.replayed:  # delivered before: the run it started (stored), nothing new
            return Response(
                DeliveryOut(run_id=delivery.run_id, status="started", replayed=True),
                status_code=202,
                headers={REPLAYED_HEADER: "true"},
            )
        return Response(DeliveryOut(run_id=delivery.run_id, status="started"), status_code=202)
