"""Flows, versions, validation, diff and the governance lifecycle over HTTP.

The handlers parse, call `FlowService` (`runtime.flows.flow_service`, given as the `flows`
dependency by `provide_flows`, which the working copy's and the uses' controllers take too)
and answer its response models (`runtime.flows.responses`).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody

from runtime.api.deps import Caller, Root
from runtime.api.params import VersionNumber, VersionOrLive, version_or_live
from runtime.api.schemas import (
    FlowCreate,
    RejectRequest,
    ReviewRequest,
    SubmitRequest,
    ValidateRequest,
    VersionCreate,
)
from runtime.errors import BadRequest
from runtime.flows.diff import VersionDiff
from runtime.flows.flow_service import FlowService
from runtime.flows.responses import (
    FlowCreatedOut,
    FlowDetailOut,
    FlowOut,
    NodeTypeOut,
    ValidationOut,
    VersionDetailOut,
    VersionOut,
    VersionSavedOut,
)


def provide_flows(root: Root) -> FlowService:
    """The flows slice of this runtime: its database, policy, settings and node types."""
    return FlowService(
        db=root.db,
        authz=root.authz,
        settings=root.settings,
        registry=root.registry,
        connections=root.services.get("connections"),
    )


Flows = NamedDependency[FlowService]
FLOWS = {"flows": Provide(provide_flows, sync_to_thread=False)}

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description='The ETag of the working copy this write is based on ("3"), or * to overwrite',
    ),
]


class FlowController(Controller):
    path = "/api"
    tags = ["flows"]
    dependencies = FLOWS

    @get("/node-types")
    async def node_types(self, flows: Flows) -> list[NodeTypeOut]:
        return flows.node_types()

    @post("/flows/validate", status_code=200)
    async def validate(self, flows: Flows, data: JSONBody[ValidateRequest]) -> ValidationOut:
        return await flows.validate(data.document)

    @post("/workspaces/{workspace:str}/flows")
    async def create_flow(
        self, flows: Flows, actor: Caller, workspace: FromPath[str], data: JSONBody[FlowCreate]
    ) -> FlowCreatedOut:
        return await flows.create_flow(actor, workspace, data.name, data.slug, data.document)

    @get("/flows")
    async def list_flows(
        self, flows: Flows, actor: Caller, workspace: FromQuery[str | None] = None
    ) -> list[FlowOut]:
        return await flows.list_flows(actor, workspace)

    @get("/flows/{flow_id:str}")
    async def get_flow(self, flows: Flows, actor: Caller, flow_id: FromPath[str]) -> FlowDetailOut:
        return await flows.get_flow(actor, flow_id)

    @post("/flows/{flow_id:str}/versions")
    async def save_version(
        self,
        flows: Flows,
        actor: Caller,
        flow_id: FromPath[str],
        data: JSONBody[VersionCreate | None] = None,
        if_match: IfMatch = None,
    ) -> Response[VersionSavedOut]:
        """Cut a version from `document`, or without one from the working copy (only when it
        is valid: 422 with its problems otherwise; `If-Match` optionally pins the working
        copy's revision). 201 for a new version; 200 with the newest one when nothing changed."""
        document = data.document if data is not None else None
        saved = await flows.save_version(actor, flow_id, document, if_match)
        return Response(saved, status_code=201 if saved.created else 200)

    @get("/flows/{flow_id:str}/versions")
    async def list_versions(self, flows: Flows, actor: Caller, flow_id: FromPath[str]) -> list[VersionOut]:
        return await flows.list_versions(actor, flow_id)

    @get("/flows/{flow_id:str}/versions/{number:int}")
    async def get_version(
        self, flows: Flows, actor: Caller, flow_id: FromPath[str], number: VersionNumber
    ) -> VersionDetailOut:
        return await flows.get_version(actor, flow_id, number)

    @get("/flows/{flow_id:str}/versions/{number:int}/diff")
    async def diff(
        self,
        flows: Flows,
        actor: Caller,
        flow_id: FromPath[str],
        number: VersionNumber,
        against: VersionOrLive = None,
    ) -> VersionDiff:
        """Diff against version `against` (a number, or `live`; default: the live version)."""
        return await flows.diff(actor, flow_id, number, version_or_live("against", against))

    @post("/flows/{flow_id:str}/versions/{number:int}/submit", status_code=200)
    async def submit(
        self,
        flows: Flows,
        actor: Caller,
        flow_id: FromPath[str],
        number: VersionNumber,
        data: JSONBody[SubmitRequest | None] = None,
    ) -> VersionOut:
        """Submit for approval; refused (409 `tests_not_passed`) unless the latest fixed-mode
        test report of this version passed. Admins may override with `override_reason`."""
        reason = data.override_reason if data is not None else None
        return await flows.submit(actor, flow_id, number, reason)

    @post("/flows/{flow_id:str}/versions/{number:int}/approve", status_code=200)
    async def approve(
        self,
        flows: Flows,
        actor: Caller,
        flow_id: FromPath[str],
        number: VersionNumber,
        data: JSONBody[ReviewRequest | None] = None,
    ) -> VersionOut:
        return await flows.review(actor, flow_id, number, "approve", data.comment if data else "")

    @post("/flows/{flow_id:str}/versions/{number:int}/reject", status_code=200)
    async def reject(
        self,
        flows: Flows,
        actor: Caller,
        flow_id: FromPath[str],
        number: VersionNumber,
        data: JSONBody[RejectRequest | None] = None,  # documented as required (runtime.api.openapi)
    ) -> VersionOut:
        comment = data.comment if data else ""
        if not comment.strip():
            raise BadRequest("a rejection needs a comment that says what to change", code="comment_required")
        return await flows.review(actor, flow_id, number, "reject", comment)

    @post("/flows/{flow_id:str}/versions/{number:int}/publish", status_code=200)
    async def publish(
        self, flows: Flows, actor: Caller, flow_id: FromPath[str], number: VersionNumber
    ) -> VersionOut:
        return await flows.publish(actor, flow_id, number)

    @post("/flows/{flow_id:str}/versions/{number:int}/retire", status_code=200)
    async def retire(
        self, flows: Flows, actor: Caller, flow_id: FromPath[str], number: VersionNumber
    ) -> VersionOut:
        return await flows.retire(actor, flow_id, number)
