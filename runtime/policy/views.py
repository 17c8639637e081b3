"""Build the policy's resource views from ORM rows (the only place that knows both)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, and_, cast, exists, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

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


# -- the policy's `read` rule for runs, as a SQL filter ---------------------------------
def _json_list_holds(column: Any, item: str) -> ColumnElement[bool]:
    """`item` is an element of the JSON list stored in `column` (SQLite and PostgreSQL).

    The list is matched as text: `"item"` with its quotes occurs in a JSON list of plain
    strings exactly when it is one of its elements (assignees are `role:`/`user:` names of
    letters, digits and `_.@-`, never quotes, so no match can span two elements). LIKE's
    wildcards in the name are escaped."""
    escaped = item.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(column, Text).like(f'%"{escaped}"%', escape="\\")


def readable_runs(actor: resources.Actor) -> ColumnElement[bool]:
    """The runs `actor` may `read`, as a WHERE clause over `runs` (`GET /api/runs`).

    This is `resource Run` in dirigent.polar, written once more in SQL because listing
    must filter in the database (oso's data filtering does not work with SQLAlchemy 2).
    Keep the two in step; `tests/runtime/policy/test_run_filter.py` checks that this
    clause and `authorize(actor, "read", run_view(run))` agree for every run of a mixed
    data set. The rule, branch by branch:

        "read" if "starter"   run.started_by = caller.id
        "read" if "champion"  workspace_role(caller, "champion", run.workspace_id): champion
        "read" if "admin"     or admin of the run's workspace, or the global role admin
        "read" if "board"     the global role board: every run
        "read" if "assignee"  caller.matches_assignee(run.task_assignees, run.workspace_id):
                              a task of the run names `user:<caller>`, or `role:<r>` with r
                              held globally or in the run's workspace
    """
    if actor.has_global_role("admin") or actor.has_global_role("board"):
        return true()
    Run, Task = models.Run, models.ApprovalTask
    champion_of = [ws for ws, roles in actor.workspace_roles.items() if roles & {"champion", "admin"}]
    everywhere = [f"user:{actor.username}", *(f"role:{role}" for role in sorted(actor.global_roles))]
    assigned = [or_(*(_json_list_holds(Task.assignees, name) for name in everywhere))]
    for workspace_id, roles in sorted(actor.workspace_roles.items()):
        if roles:
            in_workspace = or_(*(_json_list_holds(Task.assignees, f"role:{role}") for role in sorted(roles)))
            assigned.append(and_(Run.workspace_id == workspace_id, in_workspace))
    assignee = exists().where(Task.run_id == Run.id, or_(*assigned))
    # The cheap tests first: the database stops at the first that holds, and the assignee
    # test is a subquery per run.
    branches: list[ColumnElement[bool]] = [Run.started_by == actor.id]
    if champion_of:
        branches.append(Run.workspace_id.in_(sorted(champion_of)))
    branches.append(assignee)
    return or_(*branches)
