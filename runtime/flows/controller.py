"""Flows, versions, validation, diff and the governance lifecycle over HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import select

from runtime.api.deps import Caller, Rt, iso
from runtime.api.params import VersionNumber, VersionOrLive, version_or_live
from runtime.api.schemas import (
    FlowCreate,
    RejectRequest,
    ReviewRequest,
    SubmitRequest,
    ValidateRequest,
    VersionCreate,
)
from runtime.context import Runtime
from runtime.db.models import Flow, FlowVersion, User, VersionReview, Workspace
from runtime.engine.validation import validate_document_in_thread
from runtime.errors import BadRequest
from runtime.flows import drafts, service
from runtime.flows.diff import VersionDiff, version_diff
from runtime.flows.draft_controller import IfMatch
from runtime.flows.gate import gate_of, gates_of
from runtime.policy.resources import Actor
from runtime.policy.views import flow_view, version_view


def version_as_json(
    version: FlowVersion,
    *,
    with_document: bool = False,
    usernames: dict[str, str] | None = None,
    tests: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A version in the API; `tests` is its test summary (`runtime.flows.gate.Gate.as_json`)."""
    names = usernames or {}
    data: dict[str, Any] = {
        "id": version.id,
        "flow_id": version.flow_id,
        "number": version.number,
        "content_hash": version.content_hash,
        "state": version.state,
        "author": names.get(version.author_id, version.author_id),
        "submitted_by": names.get(version.submitted_by or "", version.submitted_by),
        "submitted_at": iso(version.submitted_at),
        "published_at": iso(version.published_at),
        "created_at": iso(version.created_at),
        "risk": (version.document.get("card") or {}).get("risk", "limited"),
    }
    if tests is not None:
        data["tests"] = tests
    if with_document:
        data["document"] = version.document
    return data


def flow_as_json(
    flow: Flow, workspace_slug: str, latest: FlowVersion | None, live: FlowVersion | None
) -> dict[str, Any]:
    return {
        "id": flow.id,
        "name": flow.name,
        "slug": flow.slug,
        "workspace": workspace_slug,
        "created_at": iso(flow.created_at),
        "latest_version": {"number": latest.number, "state": latest.state} if latest else None,
        "live_version": {"number": live.number, "content_hash": live.content_hash} if live else None,
    }


async def _usernames(session: Any, ids: set[str | None]) -> dict[str, str]:
    wanted = [value for value in ids if value]
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return dict(rows.tuples().all())


async def _named(session: Any, version: FlowVersion) -> dict[str, Any]:
    """`version_as_json` with usernames for author and submitter, as the GET endpoints show them."""
    names = await _usernames(session, {version.author_id, version.submitted_by})
    return version_as_json(version, usernames=names, tests=(await gate_of(session, version)).as_json())


class FlowController(Controller):
    path = "/api"
    tags = ["flows"]

    @get("/node-types")
    async def node_types(self, rt: Rt) -> list[dict[str, Any]]:
        return [node_type.describe() for node_type in rt.registry.values()]

    @post("/flows/validate", status_code=200)
    async def validate(self, rt: Rt, data: JSONBody[ValidateRequest]) -> dict[str, Any]:
        return (await validate_document_in_thread(data.document, rt.registry)).as_json()

    @post("/workspaces/{workspace:str}/flows")
    async def create_flow(
        self, rt: Rt, actor: Caller, workspace: FromPath[str], data: JSONBody[FlowCreate]
    ) -> dict[str, Any]:
        async with rt.db.write() as session:
            flow, version = await service.create_flow(
                session, rt.authz, actor, workspace, data.name, data.slug, data.document
            )
            body = await _named(session, version)
        return {**flow_as_json(flow, workspace, version, None), "version": body}

    @get("/flows")
    async def list_flows(
        self, rt: Rt, actor: Caller, workspace: FromQuery[str | None] = None
    ) -> list[dict[str, Any]]:
        async with rt.db.read() as session:
            query = select(Flow, Workspace.slug).join(Workspace, Workspace.id == Flow.workspace_id)
            if workspace:
                query = query.where(Workspace.slug == workspace)
            rows = (await session.execute(query.order_by(Flow.name))).tuples().all()
            visible = [
                (flow, slug) for flow, slug in rows if rt.authz.is_allowed(actor, "read", flow_view(flow))
            ]
            result = []
            for flow, slug in visible:
                latest = await service.latest_version(session, flow.id)
                live = await session.get(FlowVersion, flow.live_version_id) if flow.live_version_id else None
                result.append(flow_as_json(flow, slug, latest, live))
        return result

    @get("/flows/{flow_id:str}")
    async def get_flow(self, rt: Rt, actor: Caller, flow_id: FromPath[str]) -> dict[str, Any]:
        async with rt.db.read() as session:
            flow = await service.get_flow(session, rt.authz, actor, flow_id)
            workspace = await session.get(Workspace, flow.workspace_id)
            latest = await service.latest_version(session, flow.id)
            live = await session.get(FlowVersion, flow.live_version_id) if flow.live_version_id else None
            data = flow_as_json(flow, workspace.slug if workspace else "", latest, live)
            data["allowed_actions"] = sorted(rt.authz.allowed_actions(actor, flow_view(flow)))
            if latest:
                gate = await gate_of(session, latest)
                data["latest_version"] = version_as_json(latest, with_document=True, tests=gate.as_json())
        return data

    @post("/flows/{flow_id:str}/versions")
    async def save_version(
        self,
        rt: Rt,
        actor: Caller,
        flow_id: FromPath[str],
        data: JSONBody[VersionCreate | None] = None,
        if_match: IfMatch = None,
    ) -> Response[dict[str, Any]]:
        """Cut a version from `document`, or without one from the working copy (only when it
        is valid: 422 with its problems otherwise; `If-Match` optionally pins the working
        copy's revision). 201 for a new version; 200 with the newest one when nothing changed."""
        async with rt.db.write() as session:
            if data is not None and data.document is not None:
                version, created = await service.save_version(
                    session, rt.authz, actor, flow_id, data.document
                )
            else:
                version, created = await drafts.cut_version(session, rt.authz, actor, flow_id, if_match)
            body = {**await _named(session, version), "created": created}
        return Response(body, status_code=201 if created else 200)

    @get("/flows/{flow_id:str}/versions")
    async def list_versions(self, rt: Rt, actor: Caller, flow_id: FromPath[str]) -> list[dict[str, Any]]:
        async with rt.db.read() as session:
            await service.get_flow(session, rt.authz, actor, flow_id)
            rows = (
                (
                    await session.execute(
                        select(FlowVersion)
                        .where(FlowVersion.flow_id == flow_id)
                        .order_by(FlowVersion.number.desc())
                    )
                )
                .scalars()
                .all()
            )
            people: set[str | None] = {row.author_id for row in rows}
            people |= {row.submitted_by for row in rows}
            names = await _usernames(session, people)
            gates = await gates_of(session, rows)
        return [version_as_json(row, usernames=names, tests=gates[row.id].as_json()) for row in rows]

    @get("/flows/{flow_id:str}/versions/{number:int}")
    async def get_version(
        self, rt: Rt, actor: Caller, flow_id: FromPath[str], number: VersionNumber
    ) -> dict[str, Any]:
        async with rt.db.read() as session:
            flow, version = await service.get_version(session, rt.authz, actor, flow_id, number)
            reviews = (
                (
                    await session.execute(
                        select(VersionReview, User.username)
                        .join(User, User.id == VersionReview.reviewer_id)
                        .where(VersionReview.version_id == version.id)
                        .order_by(VersionReview.created_at)
                    )
                )
                .tuples()
                .all()
            )
            names = await _usernames(session, {version.author_id, version.submitted_by})
            view = await version_view(session, flow, version)
            gate = await gate_of(session, version)
        data = version_as_json(version, with_document=True, usernames=names, tests=gate.as_json())
        data["is_live"] = flow.live_version_id == version.id
        data["reviews"] = [
            {
                "reviewer": name,
                "decision": review.decision,
                "comment": review.comment,
                "round": review.round,
                "at": iso(review.created_at),
            }
            for review, name in reviews
        ]
        data["allowed_actions"] = sorted(rt.authz.allowed_actions(actor, view))
        data["quorum"] = rt.settings.quorum_for(data["risk"])
        # What the version touches in production once published (the review shows it):
        # per connection its kind, host, actions and whether they have side effects.
        connections = rt.services.get("connections")
        touches = getattr(connections, "production_touches", None)
        data["production_connections"] = (
            await touches(flow.workspace_id, version.document) if touches is not None else []
        )
        return data

    @get("/flows/{flow_id:str}/versions/{number:int}/diff")
    async def diff(
        self,
        rt: Rt,
        actor: Caller,
        flow_id: FromPath[str],
        number: VersionNumber,
        against: VersionOrLive = None,
    ) -> VersionDiff:
        """Diff against version `against` (a number, or `live`; default: the live version)."""
        async with rt.db.read() as session:
            flow, version = await service.get_version(session, rt.authz, actor, flow_id, number)
            old: FlowVersion | None = None
            against_number = version_or_live("against", against)
            if against_number is None:
                old = await session.get(FlowVersion, flow.live_version_id) if flow.live_version_id else None
            else:
                _, old = await service.get_version(session, rt.authz, actor, flow_id, against_number)
        return version_diff(
            old.document if old else None, version.document, old.number if old else None, version.number
        )

    @staticmethod
    async def _transition(
        rt: Runtime, actor: Actor, flow_id: str, number: int, change: Callable[..., Awaitable[FlowVersion]]
    ) -> dict[str, Any]:
        """Submit, publish or retire (the service checks state and policy)."""
        async with rt.db.write() as session:
            version = await change(session, rt.authz, actor, flow_id, number)
            return await _named(session, version)

    @staticmethod
    async def _review(
        rt: Runtime, actor: Actor, flow_id: str, number: int, decision: str, comment: str
    ) -> dict[str, Any]:
        async with rt.db.write() as session:
            version = await service.review_version(
                session, rt.authz, rt.settings, actor, flow_id, number, decision, comment
            )
            return await _named(session, version)

    @post("/flows/{flow_id:str}/versions/{number:int}/submit", status_code=200)
    async def submit(
        self,
        rt: Rt,
        actor: Caller,
        flow_id: FromPath[str],
        number: VersionNumber,
        data: JSONBody[SubmitRequest | None] = None,
    ) -> dict[str, Any]:
        """Submit for approval; refused (409 `tests_not_passed`) unless the latest fixed-mode
        test report of this version passed. Admins may override with `override_reason`."""
        reason = data.override_reason if data is not None else None
        async with rt.db.write() as session:
            version = await service.submit_version(session, rt.authz, actor, flow_id, number, reason)
            return await _named(session, version)

    @post("/flows/{flow_id:str}/versions/{number:int}/approve", status_code=200)
    async def approve(
        self,
        rt: Rt,
        actor: Caller,
        flow_id: FromPath[str],
        number: VersionNumber,
        data: JSONBody[ReviewRequest | None] = None,
    ) -> dict[str, Any]:
        return await self._review(rt, actor, flow_id, number, "approve", data.comment if data else "")

    @post("/flows/{flow_id:str}/versions/{number:int}/reject", status_code=200)
    async def reject(
        self,
        rt: Rt,
        actor: Caller,
        flow_id: FromPath[str],
        number: VersionNumber,
        data: JSONBody[RejectRequest | None] = None,  # documented as required (runtime.api.openapi)
    ) -> dict[str, Any]:
        comment = data.comment if data else ""
        if not comment.strip():
            raise BadRequest("a rejection needs a comment that says what to change", code="comment_required")
        return await self._review(rt, actor, flow_id, number, "reject", comment)

    @post("/flows/{flow_id:str}/versions/{number:int}/publish", status_code=200)
    async def publish(
        self, rt: Rt, actor: Caller, flow_id: FromPath[str], number: VersionNumber
    ) -> dict[str, Any]:
        return await self._transition(rt, actor, flow_id, number, service.publish_version)

    @post("/flows/{flow_id:str}/versions/{number:int}/retire", status_code=200)
    async def retire(
        self, rt: Rt, actor: Caller, flow_id: FromPath[str], number: VersionNumber
    ) -> dict[str, Any]:
        return await self._transition(rt, actor, flow_id, number, service.retire_version)
