"""The runs viewer: an assistant's runs as a list, one run's step trace, reads audited.

    list_flow_runs   the runs of one flow the caller may read (the policy's `read` rule as
                     SQL, `readable_runs`), newest first, filtered and paged by a cursor;
                     rows carry what a run was (status, time, tokens, the asker's rating),
                     never its inputs or outputs
    run_trace        one run with each step's inputs, outputs and error, bounded in size
                     (`runtime.runs.bounded`), and the asker's feedback with its correction
    step_in_full     one step's inputs and outputs as stored (what the trace cut)

Who may read a run is `resource Run` in dirigent.polar: whoever started it, champions and
admins of its workspace, the board, the assignees of its approval tasks. A run holds what a
person asked and got, so reading the content of someone else's run (`run_trace`,
`step_in_full`, `GET /api/runs/{id}`) is written to the audit trail as `run.viewed`: who
read which run, and what (`trace`, `step`, `run`); never the content. Lists are not
audited: they show no content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import append as audit
from runtime.db.database import Database
from runtime.db.models import Flow, FlowVersion, Run, RunStep, User, iso
from runtime.errors import BadRequest, NotFound
from runtime.feedback.models import RunFeedback
from runtime.monitoring.period import parse_moment
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import assistant_view, flow_view, readable_runs, run_view
from runtime.runs.bounded import bounded
from runtime.runs.viewer_schemas import RunFeedbackOut, RunPage, RunRow, RunTrace, StepFull, StepTrace

RUN_STATUSES = ("queued", "running", "waiting", "succeeded", "failed", "cancelled", "expired")
MAX_PAGE = 200


@dataclass(frozen=True)
class RunFilters:
    """What `GET /api/flows/{id}/runs` narrows the list by (None: no filter)."""

    statuses: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    has_feedback: bool | None = None
    has_correction: bool | None = None
    include_tests: bool = False


def _duration_ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000, 1)


def _person(display_name: str | None, username: str | None) -> str | None:
    return (display_name or "").strip() or username


async def _readable_flow(session: AsyncSession, authz: Authorizer, actor: Actor, flow_id: str) -> Flow:
    """The flow, if the caller may see it as a flow (champions, the board) or as an assistant
    (its audience, who then see their own runs of it); 404 otherwise."""
    flow = await session.get(Flow, flow_id)
    if flow is None:
        raise NotFound("flow not found", code="not_found", resource="flow")
    view = flow_view(flow)
    if not authz.is_allowed(actor, "read", view):
        live = await session.get(FlowVersion, flow.live_version_id) if flow.live_version_id else None
        if not authz.is_allowed(actor, "read", await assistant_view(session, flow, live)):
            authz.authorize(actor, "read", view)  # raises the policy's 404 (and is audited as such)
    return flow


def _statuses(raw: tuple[str, ...]) -> tuple[str, ...]:
    wanted = tuple(part.strip() for item in raw for part in item.split(",") if part.strip())
    unknown = [status for status in wanted if status not in RUN_STATUSES]
    if unknown:
        raise BadRequest(
            f"unknown status {', '.join(repr(s) for s in unknown)}; choose from {', '.join(RUN_STATUSES)}",
            code="invalid_status",
            unknown=", ".join(unknown),
            statuses=", ".join(RUN_STATUSES),
        )
    return wanted


async def list_flow_runs(
    session: AsyncSession,
    authz: Authorizer,
    actor: Actor,
    flow_id: str,
    filters: RunFilters,
    *,
    limit: int = 50,
    before: str | None = None,
) -> RunPage:
    """A page of the flow's runs the caller may read, newest first (see the module docstring)."""
    await _readable_flow(session, authz, actor, flow_id)
    size = min(max(limit, 1), MAX_PAGE)
    feedback = and_(RunFeedback.run_id == Run.id, RunFeedback.user_id == Run.started_by)
    query = (
        select(
            Run.id,
            Run.flow_id,
            Run.version_number,
            Run.status,
            Run.is_test,
            Run.created_at,
            Run.started_at,
            Run.finished_at,
            Run.total_tokens,
            User.display_name,
            User.username,
            RunFeedback.rating,
            RunFeedback.correction.is_not(None).label("has_correction"),
        )
        .outerjoin(User, User.id == Run.started_by)
        .outerjoin(RunFeedback, feedback)
        .where(Run.flow_id == flow_id, readable_runs(actor))
        .order_by(Run.created_at.desc(), Run.id.desc())
        .limit(size)
    )
    if statuses := _statuses(filters.statuses):
        query = query.where(Run.status.in_(statuses))
    if filters.since:
        query = query.where(Run.created_at >= parse_moment("since", filters.since, end_of_day=False))
    if filters.until:
        query = query.where(Run.created_at < parse_moment("until", filters.until, end_of_day=True))
    if filters.has_feedback is not None:
        query = query.where(RunFeedback.id.is_not(None) if filters.has_feedback else RunFeedback.id.is_(None))
    if filters.has_correction is not None:
        has = RunFeedback.correction.is_not(None)
        query = query.where(has if filters.has_correction else ~has | RunFeedback.id.is_(None))
    if not filters.include_tests:
        query = query.where(Run.is_test.is_(False))
    if before:
        at_cursor = select(Run.created_at, Run.id).where(Run.id == before, readable_runs(actor))
        cursor = (await session.execute(at_cursor)).first()
        if cursor is None:
            raise BadRequest(
                f"'before' must be the id of a run you can see, not '{before}'", code="invalid_cursor"
            )
        query = query.where(tuple_(Run.created_at, Run.id) < tuple_(cursor.created_at, cursor.id))
    rows = (await session.execute(query)).all()
    runs = [
        RunRow(
            id=row.id,
            flow_id=row.flow_id,
            version=row.version_number,
            status=row.status,
            is_test=row.is_test,
            started_by=_person(row.display_name, row.username),
            created_at=iso(row.created_at),
            started_at=iso(row.started_at),
            finished_at=iso(row.finished_at),
            duration_ms=_duration_ms(row.created_at, row.finished_at),
            total_tokens=row.total_tokens or 0,
            feedback=row.rating,
            has_correction=bool(row.has_correction),
        )
        for row in rows
    ]
    return RunPage(runs=runs, next_before=runs[-1].id if len(runs) == size else None)


async def readable_run(session: AsyncSession, authz: Authorizer, actor: Actor, run_id: str) -> Run:
    """The stored run, if the caller may read it (404 otherwise)."""
    run = await session.get(Run, run_id)
    if run is None:
        raise NotFound("run not found", code="not_found", resource="run")
    authz.authorize(actor, "read", await run_view(session, run))
    return run


async def _starter_feedback(session: AsyncSession, run: Run, starter: str | None) -> RunFeedbackOut | None:
    if run.started_by is None:
        return None
    row = (
        await session.execute(
            select(RunFeedback).where(RunFeedback.run_id == run.id, RunFeedback.user_id == run.started_by)
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    rating = "up" if row.rating == "up" else "down"
    return RunFeedbackOut(
        rating=rating, correction=row.correction, by=starter, updated_at=iso(row.updated_at)
    )


def _titles(document: dict[str, Any] | None) -> dict[str, str]:
    nodes = (document or {}).get("nodes") or []
    return {
        str(node.get("id")): str(node.get("title") or node.get("id"))
        for node in nodes
        if isinstance(node, dict) and node.get("id")
    }


def _step_trace(step: RunStep, titles: dict[str, str]) -> StepTrace:
    inputs, inputs_cut = bounded(step.inputs)
    outputs, outputs_cut = bounded(step.outputs)
    return StepTrace(
        node_id=step.node_id,
        node_type=step.node_type,
        title=titles.get(step.node_id, step.node_id),
        status=step.status,
        started_at=iso(step.started_at),
        finished_at=iso(step.finished_at),
        duration_ms=step.duration_ms,
        tokens=int((step.usage or {}).get("total_tokens") or 0),
        inputs=inputs,
        outputs=outputs,
        error=step.error,
        truncated=inputs_cut or outputs_cut,
    )


async def run_trace(
    session: AsyncSession, authz: Authorizer, actor: Actor, run_id: str
) -> tuple[Run, RunTrace]:
    """The run, its steps in the order they started, and the asker's feedback."""
    run = await readable_run(session, authz, actor, run_id)
    flow = await session.get(Flow, run.flow_id)
    version = await session.get(FlowVersion, run.version_id)
    starter = await session.get(User, run.started_by) if run.started_by else None
    starter_name = _person(starter.display_name, starter.username) if starter else None
    steps = (await session.execute(select(RunStep).where(RunStep.run_id == run.id))).scalars().all()
    ordered = sorted(steps, key=lambda step: (step.started_at is None, step.started_at or run.created_at))
    titles = _titles(version.document if version else None)
    inputs, inputs_cut = bounded(run.inputs)
    outputs, outputs_cut = bounded(run.outputs)
    return run, RunTrace(
        id=run.id,
        flow_id=run.flow_id,
        flow_name=flow.name if flow else "",
        version=run.version_number,
        content_hash=run.content_hash,
        status=run.status,
        is_test=run.is_test,
        started_by=starter_name,
        created_at=iso(run.created_at),
        started_at=iso(run.started_at),
        finished_at=iso(run.finished_at),
        duration_ms=_duration_ms(run.created_at, run.finished_at),
        total_tokens=run.total_tokens or 0,
        inputs=inputs,
        outputs=outputs,
        error=run.error,
        truncated=inputs_cut or outputs_cut,
        steps=[_step_trace(step, titles) for step in ordered],
        feedback=await _starter_feedback(session, run, starter_name),
        can_make_test_case=flow is not None and authz.is_allowed(actor, "edit", flow_view(flow)),
    )


async def step_in_full(
    session: AsyncSession, authz: Authorizer, actor: Actor, run_id: str, node_id: str
) -> tuple[Run, StepFull]:
    run = await readable_run(session, authz, actor, run_id)
    step = (
        await session.execute(select(RunStep).where(RunStep.run_id == run.id, RunStep.node_id == node_id))
    ).scalar_one_or_none()
    if step is None:
        raise NotFound(f"run {run_id} has no step of node '{node_id}'", code="not_found", resource="step")
    return run, StepFull(
        run_id=run.id,
        node_id=step.node_id,
        node_type=step.node_type,
        status=step.status,
        inputs=step.inputs,
        outputs=step.outputs,
        error=step.error,
    )


async def audit_read_of_others(db: Database, actor: Actor, run: Run, what: str) -> None:
    """`run.viewed` when the caller read the content of a run someone else started (or a
    run without a person: a webhook's, a schedule's). Its own transaction, after the read:
    the entry names the reader and the run, never what it held."""
    if run.started_by == actor.id:
        return
    async with db.write() as session:
        await audit(
            session,
            actor=actor.username,
            action="run.viewed",
            resource_type="run",
            resource_id=run.id,
            version_hash=run.content_hash,
            detail={"what": what, "started_by": run.started_by, "flow_id": run.flow_id},
        )
