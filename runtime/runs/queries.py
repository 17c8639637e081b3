"""The SQL behind the run endpoints (`runtime.runs.service.RunService` calls it): who may
invoke which assistant, a pinned version, a page of runs, one run read back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import Flow, FlowVersion, Run, Workspace
from runtime.errors import BadRequest, Conflict, NotFound
from runtime.feedback.service import starter_feedback
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import assistant_view, readable_runs
from runtime.runs.views import load_run_json


async def invocable_assistants(
    session: AsyncSession, authz: Authorizer, actor: Actor
) -> list[tuple[Flow, FlowVersion, str]]:
    """(flow, live version, workspace slug) of every live assistant `actor` may invoke, by name."""
    rows = (
        await session.execute(
            select(Flow, FlowVersion, Workspace.slug)
            .join(FlowVersion, FlowVersion.id == Flow.live_version_id)
            .join(Workspace, Workspace.id == Flow.workspace_id)
            .order_by(Flow.name)
        )
    ).tuples()
    return [
        (flow, live, workspace_slug)
        for flow, live, workspace_slug in rows
        if authz.is_allowed(actor, "invoke", await assistant_view(session, flow, live))
    ]


async def pinned_version(
    session: AsyncSession, authz: Authorizer, actor: Actor, slug: str, number: int
) -> tuple[Flow, FlowVersion]:
    """The published version `number` of the assistant `slug`, if `actor` may invoke it."""
    flow = (await session.execute(select(Flow).where(Flow.slug == slug))).scalar_one_or_none()
    if flow is None:
        raise NotFound("assistant not found", code="not_found", resource="assistant")
    live = await session.get(FlowVersion, flow.live_version_id) if flow.live_version_id else None
    authz.authorize(actor, "invoke", await assistant_view(session, flow, live))
    version = (
        await session.execute(
            select(FlowVersion).where(FlowVersion.flow_id == flow.id, FlowVersion.number == number)
        )
    ).scalar_one_or_none()
    if version is None:
        raise NotFound(f"version {number} of '{slug}' not found", code="not_found", resource="flow_version")
    if version.state != "published":
        raise Conflict(
            f"version {number} is {version.state}; only published versions can be invoked",
            code="not_published",
            number=number,
            state=version.state,
        )
    return flow, version


async def readable_page(
    session: AsyncSession, actor: Actor, flow_id: str | None, size: int, before: str | None
) -> list[Run]:
    """Up to `size` runs `actor` may read, newest first, after the run `before` if given."""
    query = select(Run).where(readable_runs(actor)).order_by(Run.created_at.desc(), Run.id.desc()).limit(size)
    if flow_id:
        query = query.where(Run.flow_id == flow_id)
    if before:
        cursor = (
            await session.execute(
                select(Run.created_at, Run.id).where(Run.id == before, readable_runs(actor))
            )
        ).first()
        if cursor is None:
            raise BadRequest(
                f"'before' must be the id of a run you can see, not '{before}'", code="invalid_cursor"
            )
        query = query.where(tuple_(Run.created_at, Run.id) < tuple_(cursor.created_at, cursor.id))
    return list((await session.execute(query)).scalars().all())


async def run_with_feedback(session: AsyncSession, run: Run) -> dict[str, Any]:
    """`run` as `GET /api/runs/{id}` shows it: steps, tasks and its starter's feedback."""
    return {**await load_run_json(session, run), "feedback": await starter_feedback(session, run)}
