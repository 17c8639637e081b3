"""Approval tasks: raised by waiting runs, decided by people, expired by the clock.

Deciding is a compare-and-set on the task's `revision` inside one transaction with the
decision row, so two concurrent decisions on one task cannot both count: the loser's
transaction rolls back and it gets a `Conflict`. Resuming the run is the run manager's
job and happens after the decision has committed (see `runtime.runs.manager`).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nodes.base import Resolution
from nodes.services import WAITS_FOR_SUB_RUNS
from runtime.audit.service import append as audit
from runtime.db.database import update_exactly_one
from runtime.db.models import ApprovalTask, FlowVersion, Run, RunStep, TaskDecision, utcnow
from runtime.engine.records import StepRecord
from runtime.errors import BadRequest, Conflict, NotFound, PayloadTooLarge
from runtime.notifications import service as notifications
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import task_view

DECISIONS = {"approve": "approved", "reject": "rejected"}
RESOLVED = ("approved", "rejected", "expired")
# An edited payload is what a connector sends next (a letter, a ticket): generous for
# text, small enough that a decision cannot fill the database.
MAX_DECISION_PAYLOAD_BYTES = 256 * 1024


# The same in SQL, for the sweep that looks for decided tasks whose step still waits for them
# (`runtime.runs.manager`): the task's step, the task's round, the waiting step's round.
STEP_NODE = func.coalesce(ApprovalTask.request["step_node"].as_string(), ApprovalTask.node_id)
TASK_ROUND = func.coalesce(ApprovalTask.request["approval_round"].as_integer(), 1)
STEP_ROUND = func.coalesce(RunStep.outputs[("request", "approval_round")].as_integer(), 1)


def approval_round(request: Any) -> int:
    """Which approval of its step a request is: an agent's loop may wait several times in
    one step (`approval_round` 1, 2, ...); every other suspension is round 1."""
    value = request.get("approval_round") if isinstance(request, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 1 else 1


def task_node_id(node_id: str, round_: int) -> str:
    """The `node_id` of a step's task: the step's id for its first approval, `<id>.<round>`
    for later ones (node ids have no dots; one task per run and this id, as the table says).
    The step's id itself is kept in the task's request as `step_node`."""
    if round_ <= 1:
        return node_id
    suffix = f".{round_}"
    return node_id[: 64 - len(suffix)] + suffix


def step_node_of(task: ApprovalTask) -> str:
    """The id of the step a task belongs to (see `task_node_id`)."""
    return str((task.request or {}).get("step_node") or task.node_id)


def waiting_request(step: StepRecord) -> Any:
    """The request a waiting step stands for (its `Suspend`, or as stored with the step)."""
    return step.suspension.request if step.suspension is not None else (step.outputs or {}).get("request")


def answers(task: ApprovalTask, step: StepRecord | None) -> bool:
    """Whether `task` is the one `step` waits for now (not an earlier round's, long decided)."""
    return (
        step is not None
        and step.status == "waiting"
        and approval_round(task.request) == approval_round(waiting_request(step))
    )


async def create_tasks(
    session: AsyncSession, run_id: str, workspace_id: str, content_hash: str, waiting: list[StepRecord]
) -> list[ApprovalTask]:
    """One task per waiting approval step and round (idempotent: a task per run and task node id)."""
    existing = {
        node_id
        for (node_id,) in await session.execute(
            select(ApprovalTask.node_id).where(ApprovalTask.run_id == run_id)
        )
    }
    created = []
    requested_by, risk = await _four_eyes_facts(session, run_id)
    for step in waiting:
        # A step that began waiting in a process that died before it wrote the task comes
        # back from the database without its `suspension`; its request is in its outputs.
        stored = waiting_request(step)
        if not isinstance(stored, dict) or stored.get("waits_for") == WAITS_FOR_SUB_RUNS:
            continue  # (a step waiting for sub-runs waits for no person: runtime/runs/sub_run_waits.py)
        round_ = approval_round(stored)
        node_id = task_node_id(step.node_id, round_)
        if node_id in existing:
            continue
        request: dict[str, Any] = dict(stored)
        if round_ > 1:
            request["step_node"] = step.node_id
        timeout_s = request.get("timeout_s")
        task = ApprovalTask(
            run_id=run_id,
            node_id=node_id,
            workspace_id=workspace_id,
            title=str(request.get("title") or "Approval needed")[:500],
            request=request,
            assignees=list(request.get("assignees") or []),
            quorum=int(request.get("quorum") or 1),
            due_at=utcnow() + timedelta(seconds=float(timeout_s)) if timeout_s else None,
            requested_by=requested_by,
            risk=risk,
        )
        session.add(task)
        await session.flush()
        await notifications.task_raised(session, task)
        await audit(
            session,
            actor=None,
            action="task.created",
            resource_type="approval_task",
            resource_id=task.id,
            version_hash=content_hash,
            detail={
                "run_id": run_id,
                "node": step.node_id,
                "assignees": task.assignees,
                "quorum": task.quorum,
            },
        )
        created.append(task)
    return created


async def _four_eyes_facts(session: AsyncSession, run_id: str) -> tuple[str | None, str | None]:
    """Who started the run and the risk on its flow's card: what the policy's four-eyes
    rule on tasks reads (`dirigent.polar`), kept on the task as they were when it was raised."""
    row = (
        await session.execute(
            select(Run.started_by, FlowVersion.document)
            .join(FlowVersion, FlowVersion.id == Run.version_id)
            .where(Run.id == run_id)
        )
    ).one_or_none()
    if row is None:
        return None, None
    started_by, document = row
    risk = ((document or {}).get("card") or {}).get("risk")
    return started_by, str(risk) if risk else None


async def get_task(
    session: AsyncSession, authz: Authorizer, actor: Actor, task_id: str, action: str = "read"
) -> ApprovalTask:
    task = await session.get(ApprovalTask, task_id)
    if task is None:
        raise NotFound("approval task not found", code="not_found", resource="approval_task")
    authz.authorize(actor, action, await task_view(session, task))
    return task


async def decide(
    session: AsyncSession,
    authz: Authorizer,
    actor: Actor,
    task_id: str,
    decision: str,
    comment: str = "",
    payload: Any = None,
) -> ApprovalTask:
    if decision not in DECISIONS:
        raise BadRequest(
            f"decision must be one of {', '.join(DECISIONS)}, not '{decision}'",
            code="invalid_decision",
            decision=decision,
            decisions=", ".join(DECISIONS),
        )
    task = await get_task(session, authz, actor, task_id, "read")
    if task.status != "open":
        raise Conflict(f"this task was already {task.status}", code="task_closed", status=task.status)
    authz.authorize(actor, "decide", await task_view(session, task))
    run = await session.get(Run, task.run_id)
    if run is None or run.status != "waiting":
        raise Conflict(
            f"the run is {run.status if run else 'gone'}; it no longer waits for a decision",
            code="run_not_waiting",
            status=run.status if run else "gone",
        )
    if payload is not None and not task.request.get("editable"):
        raise BadRequest("this approval does not allow editing the payload", code="not_editable")
    if payload is not None:
        check_edited_payload(task.request.get("payload"), payload)
    session.add(
        TaskDecision(
            task_id=task.id, user_id=actor.id, decision=decision, comment=comment or "", payload=payload
        )
    )
    approvals = task.approvals + (1 if decision == "approve" else 0)
    status = "rejected" if decision == "reject" else "approved" if approvals >= task.quorum else "open"
    values: dict[str, Any] = {"status": status, "approvals": approvals, "revision": task.revision + 1}
    if status != "open":
        final_payload = payload if payload is not None else task.request.get("payload")
        decided_by = await _decided_by(session, task.id, actor.username)
        values["resolution"] = {
            "outcome": status,
            "comment": comment or "",
            "payload": final_payload,
            "decided_by": decided_by,
        }
        values["resolved_at"] = utcnow()
    await update_exactly_one(
        session,
        update(ApprovalTask)
        .where(
            ApprovalTask.id == task.id, ApprovalTask.revision == task.revision, ApprovalTask.status == "open"
        )
        .values(**values),
        "someone else decided this task at the same moment",
        "task_closed",
    )
    await session.refresh(task)
    await audit(
        session,
        actor=actor.username,
        action="task.decided",
        resource_type="approval_task",
        resource_id=task.id,
        version_hash=run.content_hash,
        detail={
            "run_id": run.id,
            "decision": decision,
            "comment": comment or "",
            "payload_edited": payload is not None,
            "status": status,
            # The policy let the run's own requester decide (four eyes waived: minimal risk).
            "by_requester": bool(task.requested_by) and task.requested_by == actor.id,
        },
    )
    return task


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _mismatch(raised: Any, edited: Any, path: str) -> tuple[str, str, str] | None:
    """(path, expected, got) of the first place where `edited` leaves the shape of `raised`."""
    expected, got = _json_type(raised), _json_type(edited)
    if expected == "null":  # nothing was proposed here: a plain value may be filled in
        return None if got in ("null", "string", "number", "boolean") else (path, "a plain value", got)
    if expected != got:
        return path, expected, got
    if isinstance(raised, dict):
        for key in raised:
            if key not in edited:
                return f"{path}.{key}", _json_type(raised[key]), "missing"
        for key in edited:
            if key not in raised:
                return f"{path}.{key}", "no such field", _json_type(edited[key])
        for key, value in raised.items():
            if (found := _mismatch(value, edited[key], f"{path}.{key}")) is not None:
                return found
    if isinstance(raised, list) and raised:
        for number, item in enumerate(edited):  # items may be added or removed, not changed in kind
            if (
                found := _mismatch(raised[min(number, len(raised) - 1)], item, f"{path}[{number}]")
            ) is not None:
                return found
    return None


def check_edited_payload(raised: Any, edited: Any) -> None:
    """Refuse an edited payload that does not fit the task it is posted to.

    The edit must keep the shape of the payload the flow raised (text stays text; an
    object keeps exactly its fields, each of the same JSON type; list items keep their
    kind) and stay under `MAX_DECISION_PAYLOAD_BYTES`: what goes out after the approval
    is this task's content, changed in wording only, never another task's."""
    size = len(json.dumps(edited, ensure_ascii=False, default=str).encode("utf-8"))
    if size > MAX_DECISION_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"the edited payload is {size} bytes; the limit is {MAX_DECISION_PAYLOAD_BYTES}",
            code="payload_too_large",
            size_bytes=size,
            limit_bytes=MAX_DECISION_PAYLOAD_BYTES,
            what="decision_payload",
        )
    found = _mismatch(raised, edited, "payload")
    if found is not None:
        path, expected, got = found
        raise BadRequest(
            f"the edited payload does not fit this task at {path}: expected {expected}, got {got}",
            code="payload_mismatch",
            path=path,
            expected=expected,
            got=got,
        )


async def _decided_by(session: AsyncSession, task_id: str, current: str) -> list[str]:
    from runtime.db.models import User

    rows = await session.execute(
        select(User.username)
        .join(TaskDecision, TaskDecision.user_id == User.id)
        .where(TaskDecision.task_id == task_id, TaskDecision.decision == "approve")
    )
    names = sorted({name for (name,) in rows} | {current})
    return names


async def expire_due(session: AsyncSession) -> list[str]:
    """Mark overdue open tasks expired; returns the ids of runs to resume."""
    now = utcnow()
    due = (
        (
            await session.execute(
                select(ApprovalTask)
                .where(
                    ApprovalTask.status == "open",
                    ApprovalTask.due_at.is_not(None),
                    ApprovalTask.due_at <= now,
                )
                .limit(100)
            )
        )
        .scalars()
        .all()
    )
    runs = []
    for task in due:
        result = await session.execute(
            update(ApprovalTask)
            .where(
                ApprovalTask.id == task.id,
                ApprovalTask.status == "open",
                ApprovalTask.revision == task.revision,
            )
            .values(
                status="expired",
                revision=task.revision + 1,
                resolved_at=now,
                resolution={
                    "outcome": "timeout",
                    "comment": "",
                    "payload": task.request.get("payload"),
                    "decided_by": [],
                },
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            await notifications.task_overdue(session, task)
            await audit(
                session,
                actor=None,
                action="task.expired",
                resource_type="approval_task",
                resource_id=task.id,
                detail={"run_id": task.run_id},
            )
            runs.append(task.run_id)
    return runs


async def resolutions_for(
    session: AsyncSession, run_id: str, steps: dict[str, StepRecord]
) -> dict[str, Resolution]:
    """Decided tasks whose step still waits: what a resume has to apply."""
    tasks = (
        await session.execute(
            select(ApprovalTask).where(ApprovalTask.run_id == run_id, ApprovalTask.status.in_(RESOLVED))
        )
    ).scalars()
    resolutions = {}
    for task in tasks:
        node_id = step_node_of(task)
        step = steps.get(node_id)
        if answers(task, step) and task.resolution:
            data = task.resolution
            resolutions[node_id] = Resolution(
                outcome=data["outcome"],
                comment=data.get("comment", ""),
                payload=data.get("payload"),
                decided_by=list(data.get("decided_by", [])),
            )
    return resolutions


def task_as_json(task: ApprovalTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "run_id": task.run_id,
        "node_id": task.node_id,
        "title": task.title,
        "status": task.status,
        "assignees": task.assignees,
        "quorum": task.quorum,
        "approvals": task.approvals,
        "instructions": task.request.get("instructions", ""),
        "payload": task.request.get("payload"),
        "editable": bool(task.request.get("editable")),
        # "side_effect_uncertain": a connector asks whether an interrupted call arrived
        # (approve = yes, it was sent; reject = no, send it once); None for approval nodes.
        "question": task.request.get("question"),
        "resolution": task.resolution,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "created_at": task.created_at.isoformat() if task.created_at else None,
        "resolved_at": task.resolved_at.isoformat() if task.resolved_at else None,
    }
