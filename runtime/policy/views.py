"""Build the policy's resource views from ORM rows (the only place that knows both)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db import models
from runtime.policy import resources


def workspace_view(row: models.Workspace) -> resources.Workspace:
    return resources.Workspace(id=row.id, slug=row.slug)


def flow_view(row: models.Flow) -> resources.Flow:
    return resources.Flow(id=row.id, workspace_id=row.workspace_id, created_by=row.created_by)


async def current_round(session: AsyncSession, version: models.FlowVersion) -> int:
    rounds = await session.execute(
        select(models.VersionReview.round).where(models.VersionReview.version_id == version.id)
    )
    return max((value for (value,) in rounds), default=1)


async def version_view(
    session: AsyncSession, flow: models.Flow, row: models.FlowVersion
) -> resources.FlowVersion:
    reviewers = await session.execute(
        select(models.VersionReview.reviewer_id).where(
            models.VersionReview.version_id == row.id,
            models.VersionReview.round == await current_round(session, row),
        )
    )
    return resources.FlowVersion(
        id=row.id,
        flow_id=flow.id,
        workspace_id=flow.workspace_id,
        author_id=row.author_id,
        submitted_by=row.submitted_by,
        state=row.state,
        number=row.number,
        reviewed_by=frozenset(reviewer for (reviewer,) in reviewers),
    )


async def assistant_view(
    session: AsyncSession, flow: models.Flow, live: models.FlowVersion | None
) -> resources.Assistant:
    audience = (live.document.get("audience") if live else None) or []
    audience_ids: frozenset[str] = frozenset()
    if audience:
        rows = await session.execute(select(models.Workspace.id).where(models.Workspace.slug.in_(audience)))
        audience_ids = frozenset(workspace_id for (workspace_id,) in rows)
    return resources.Assistant(
        flow_id=flow.id,
        slug=flow.slug,
        workspace_id=flow.workspace_id,
        audience_workspace_ids=audience_ids,
        is_live=live is not None,
    )


async def run_view(session: AsyncSession, run: models.Run) -> resources.Run:
    rows = await session.execute(
        select(models.ApprovalTask.assignees).where(models.ApprovalTask.run_id == run.id)
    )
    assignees = tuple(sorted({item for (group,) in rows for item in group}))
    return resources.Run(
        id=run.id, workspace_id=run.workspace_id, started_by=run.started_by, task_assignees=assignees
    )


async def task_view(session: AsyncSession, task: models.ApprovalTask) -> resources.ApprovalTask:
    rows = await session.execute(
        select(models.TaskDecision.user_id).where(models.TaskDecision.task_id == task.id)
    )
    return resources.ApprovalTask(
        id=task.id,
        workspace_id=task.workspace_id,
        assignees=tuple(task.assignees),
        status=task.status,
        decided_by=frozenset(user_id for (user_id,) in rows),
        requested_by=task.requested_by or "",
        requester_may_decide=bool((task.request or {}).get("requester_may_decide")),
        risk=task.risk or "",
    )
