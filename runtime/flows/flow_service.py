"""`FlowService`: what the flows controllers ask of the slice, bound to the database, the
policy and the node registry of this runtime (given to handlers by `provide_flows` in
`runtime.flows.controller`). Each operation is one unit of work: it opens its session,
calls the slice's functions (`runtime.flows.service`, `.drafts`, `.queries`) and answers
the response model (`runtime.flows.responses`) built while the session is open."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nodes.registry import NodeRegistry
from runtime.db.database import Database
from runtime.db.models import FlowVersion
from runtime.engine.validation import validate_document_in_thread
from runtime.flows import drafts, queries, service
from runtime.flows.diff import VersionDiff, version_diff
from runtime.flows.gate import gate_of, gates_of
from runtime.flows.responses import (
    DraftOut,
    FlowCreatedOut,
    FlowDetailOut,
    FlowOut,
    NodeTypeOut,
    ProductionConnectionOut,
    ReviewOut,
    ValidationOut,
    VersionDetailOut,
    VersionOut,
    VersionSavedOut,
    VersionWithDocumentOut,
)
from runtime.flows.uses import VersionUses, version_uses
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import flow_view, version_view
from runtime.settings import Settings

Transition = Callable[[AsyncSession, Authorizer, Actor, str, int], Awaitable[FlowVersion]]


@dataclass(frozen=True, slots=True)
class FlowService:
    db: Database
    authz: Authorizer
    settings: Settings
    registry: NodeRegistry
    # The connections service, when this runtime has one (it says what a version touches
    # in production); anything else without `production_touches` answers no connections.
    connections: Any = None

    # -- node types and validation ------------------------------------------------------
    def node_types(self) -> list[NodeTypeOut]:
        return [NodeTypeOut.model_validate(node_type.describe()) for node_type in self.registry.values()]

    async def validate(self, document: Any) -> ValidationOut:
        return ValidationOut.of(await validate_document_in_thread(document, self.registry))

    # -- flows --------------------------------------------------------------------------
    async def create_flow(
        self, actor: Actor, workspace: str, name: str, slug: str, document: Mapping[str, Any]
    ) -> FlowCreatedOut:
        async with self.db.write() as session:
            flow, version = await service.create_flow(
                session, self.authz, actor, workspace, name, slug, document
            )
            body = await self._named(session, version)
        return FlowCreatedOut(**FlowOut.fields_of(flow, workspace, version, None), version=body)

    async def list_flows(self, actor: Actor, workspace: str | None = None) -> list[FlowOut]:
        """The flows the caller may read (of one workspace, when given), by name."""
        async with self.db.read() as session:
            rows = await queries.flows_with_workspace(session, workspace)
            result = []
            for flow, slug in rows:
                if not self.authz.is_allowed(actor, "read", flow_view(flow)):
                    continue
                latest = await service.latest_version(session, flow.id)
                live = await queries.live_version(session, flow)
                result.append(FlowOut.of(flow, slug, latest, live))
        return result

    async def get_flow(self, actor: Actor, flow_id: str) -> FlowDetailOut:
        """A flow with its newest version in full (author and submitter as user ids)."""
        async with self.db.read() as session:
            flow = await service.get_flow(session, self.authz, actor, flow_id)
            slug = await queries.workspace_slug_of(session, flow)
            latest = await service.latest_version(session, flow.id)
            live = await queries.live_version(session, flow)
            brief = FlowOut.fields_of(flow, slug, latest, live)
            brief["latest_version"] = (
                VersionWithDocumentOut.of(latest, await gate_of(session, latest)) if latest else None
            )
        return FlowDetailOut(
            **brief, allowed_actions=sorted(self.authz.allowed_actions(actor, flow_view(flow)))
        )

    # -- versions -----------------------------------------------------------------------
    async def save_version(
        self, actor: Actor, flow_id: str, document: Mapping[str, Any] | None, if_match: str | None
    ) -> VersionSavedOut:
        """Cut a version from `document`, or without one from the working copy."""
        async with self.db.write() as session:
            if document is not None:
                version, created = await service.save_version(session, self.authz, actor, flow_id, document)
            else:
                version, created = await drafts.cut_version(session, self.authz, actor, flow_id, if_match)
            body = await self._named(session, version)
        return VersionSavedOut(**dict(body), created=created)

    async def list_versions(self, actor: Actor, flow_id: str) -> list[VersionOut]:
        async with self.db.read() as session:
            await service.get_flow(session, self.authz, actor, flow_id)
            rows = await queries.versions_of(session, flow_id)
            names = await queries.usernames(
                session, [row.author_id for row in rows] + [row.submitted_by for row in rows]
            )
            gates = await gates_of(session, rows)
        return [VersionOut.of(row, gates[row.id], names) for row in rows]

    async def get_version(self, actor: Actor, flow_id: str, number: int) -> VersionDetailOut:
        async with self.db.read() as session:
            flow, version = await service.get_version(session, self.authz, actor, flow_id, number)
            reviews = await queries.reviews_of(session, version)
            names = await queries.usernames(session, [version.author_id, version.submitted_by])
            view = await version_view(session, flow, version)
            gate = await gate_of(session, version)
        base = VersionWithDocumentOut.of(version, gate, names)
        # What the version touches in production once published (the review shows it):
        # per connection its kind, host, actions and whether they have side effects.
        touches = getattr(self.connections, "production_touches", None)
        production = await touches(flow.workspace_id, version.document) if touches is not None else []
        return VersionDetailOut(
            **dict(base),
            is_live=flow.live_version_id == version.id,
            reviews=[ReviewOut.of(review, name) for review, name in reviews],
            allowed_actions=sorted(self.authz.allowed_actions(actor, view)),
            quorum=self.settings.quorum_for(base.risk),
            production_connections=[ProductionConnectionOut.model_validate(touch) for touch in production],
        )

    async def diff(self, actor: Actor, flow_id: str, number: int, against: int | None) -> VersionDiff:
        """Version `number` against version `against` (None: the live version)."""
        async with self.db.read() as session:
            flow, version = await service.get_version(session, self.authz, actor, flow_id, number)
            if against is None:
                old = await queries.live_version(session, flow)
            else:
                _, old = await service.get_version(session, self.authz, actor, flow_id, against)
        return version_diff(
            old.document if old else None, version.document, old.number if old else None, version.number
        )

    async def uses(self, actor: Actor, flow_id: str, number: int) -> VersionUses:
        """What the version uses outside itself (`runtime.flows.uses`)."""
        async with self.db.read() as session:
            flow, version = await service.get_version(session, self.authz, actor, flow_id, number)
            workspace_id, document = flow.workspace_id, version.document
        return await version_uses(self.db, self.settings, workspace_id, document)

    # -- the lifecycle ------------------------------------------------------------------
    async def submit(
        self, actor: Actor, flow_id: str, number: int, override_reason: str | None
    ) -> VersionOut:
        async with self.db.write() as session:
            version = await service.submit_version(
                session, self.authz, actor, flow_id, number, override_reason
            )
            return await self._named(session, version)

    async def review(
        self, actor: Actor, flow_id: str, number: int, decision: str, comment: str
    ) -> VersionOut:
        async with self.db.write() as session:
            version = await service.review_version(
                session, self.authz, self.settings, actor, flow_id, number, decision, comment
            )
            return await self._named(session, version)

    async def _transition(self, actor: Actor, flow_id: str, number: int, change: Transition) -> VersionOut:
        """Publish or retire (`change`; the service checks state and policy)."""
        async with self.db.write() as session:
            version = await change(session, self.authz, actor, flow_id, number)
            return await self._named(session, version)

    async def publish(self, actor: Actor, flow_id: str, number: int) -> VersionOut:
        return await self._transition(actor, flow_id, number, service.publish_version)

    async def retire(self, actor: Actor, flow_id: str, number: int) -> VersionOut:
        return await self._transition(actor, flow_id, number, service.retire_version)

    # -- working copies -----------------------------------------------------------------
    async def read_draft(self, actor: Actor, flow_id: str) -> DraftOut:
        async with self.db.read() as session:
            return DraftOut.of(await drafts.read_draft(session, self.authz, actor, flow_id, self.registry))

    async def write_draft(self, actor: Actor, flow_id: str, document: Any, if_match: str | None) -> DraftOut:
        async with self.db.write() as session:
            view = await drafts.write_draft(
                session, self.authz, actor, flow_id, document, if_match, self.registry
            )
        return DraftOut.of(view)

    @staticmethod
    async def _named(session: AsyncSession, version: FlowVersion) -> VersionOut:
        """A version with the usernames of its author and submitter and its test summary."""
        names = await queries.usernames(session, [version.author_id, version.submitted_by])
        return VersionOut.of(version, await gate_of(session, version), names)
