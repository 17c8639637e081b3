"""Reads the flows API shows beside the rows themselves: usernames, a flow's versions and
reviews, flows with their workspace's slug (the lifecycle's writes: `runtime.flows.service`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import Flow, FlowVersion, User, VersionReview, Workspace


async def usernames(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, str]:
    """User id -> username of the given ids (None and unknown ids are left out)."""
    wanted = [value for value in set(ids) if value]
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return dict(rows.tuples().all())


async def flows_with_workspace(
    session: AsyncSession, workspace_slug: str | None = None
) -> Sequence[tuple[Flow, str]]:
    """Every flow (of the workspace `workspace_slug`, when given) with its workspace's
    slug, by name; an unknown slug has none."""
    query = select(Flow, Workspace.slug).join(Workspace, Workspace.id == Flow.workspace_id)
    if workspace_slug:
        query = query.where(Workspace.slug == workspace_slug)
    return (await session.execute(query.order_by(Flow.name))).tuples().all()


async def workspace_slug_of(session: AsyncSession, flow: Flow) -> str:
    workspace = await session.get(Workspace, flow.workspace_id)
    return workspace.slug if workspace else ""


async def live_version(session: AsyncSession, flow: Flow) -> FlowVersion | None:
    return await session.get(FlowVersion, flow.live_version_id) if flow.live_version_id else None


async def versions_of(session: AsyncSession, flow_id: str) -> Sequence[FlowVersion]:
    """A flow's versions, newest first."""
    return (
        (
            await session.execute(
                select(FlowVersion).where(FlowVersion.flow_id == flow_id).order_by(FlowVersion.number.desc())
            )
        )
        .scalars()
        .all()
    )


async def reviews_of(session: AsyncSession, version: FlowVersion) -> Sequence[tuple[VersionReview, str]]:
    """Every review of a version with the reviewer's username, oldest first."""
    return (
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
