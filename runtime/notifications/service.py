"""Writing notifications for events, and a person's inbox.

The event functions are called inside the event's own write transaction, once per
event (the lifecycle in `runtime.flows.service`, tasks in `runtime.approvals.service`):

    await notifications.version_submitted(session, flow, version, actor)

They write in a SAVEPOINT: a notification that cannot be written (a defect here) is
logged and leaves the event itself intact — governance never waits for the inbox.
Idempotent: a second call for the same event (same resource and revision) adds nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.database import Database
from runtime.db.models import ApprovalTask, Flow, FlowVersion, Run, User, new_id, utcnow
from runtime.errors import BadRequest, NotFound
from runtime.notifications import recipients
from runtime.notifications.mails import MAX_TITLE, one_line
from runtime.notifications.models import SETTINGS_ROW, Notification, NotificationMail, NotificationSettings
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.resources import Notification as NotificationView

log = logging.getLogger("dirigent.notifications")
MAX_COMMENT = 500
MAX_PAGE = 100


@functools.cache
def _shared_policy() -> Authorizer:
    """The policy for callers that hold none (the sweep, the run writer): loaded once per
    process; it is a pure function of the views it is asked about."""
    return Authorizer()


async def _guarded(session: AsyncSession, what: str, write: Callable[[], Awaitable[int]]) -> int:
    try:
        async with session.begin_nested():
            return await write()
    except Exception:  # the event stands; its notifications are missing, and we say so
        log.exception("could not write the notifications of %s", what)
        return 0


# -- events ---------------------------------------------------------------------------
async def version_submitted(
    session: AsyncSession,
    flow: Flow,
    version: FlowVersion,
    submitter: Actor,
    authz: Authorizer | None = None,
) -> int:
    """Tell the board members who may approve `version` (not its author or submitter)."""

    async def write() -> int:
        policy = authz or _shared_policy()
        return await _record(
            session,
            kind="version_submitted",
            event_key=f"version.submitted:{version.id}:{version.revision}",
            user_ids=await recipients.version_deciders(session, policy, flow, version),
            params={**_version_params(flow, version), "by": submitter.username},
            target=("version", version.id),
        )

    return await _guarded(session, f"version {version.id} submitted", write)


async def version_reviewed(
    session: AsyncSession, flow: Flow, version: FlowVersion, reviewer: Actor, comment: str
) -> int:
    """Once a review decided `version` (approved at quorum, or rejected): tell its author,
    and its submitter if that is someone else. A review short of the quorum tells nobody."""
    if version.state not in ("approved", "rejected"):
        return 0

    async def write() -> int:
        return await _record(
            session,
            kind=f"version_{version.state}",
            event_key=f"version.{version.state}:{version.id}:{version.revision}",
            user_ids=[version.author_id, version.submitted_by],
            params={
                **_version_params(flow, version),
                "by": reviewer.username,
                "comment": (comment or "").strip()[:MAX_COMMENT],
            },
            target=("version", version.id),
        )

    return await _guarded(session, f"version {version.id} {version.state}", write)


async def task_raised(session: AsyncSession, task: ApprovalTask) -> int:
    """Tell the assignees who may decide `task` (four eyes: never the run's requester)."""

    async def write() -> int:
        return await _record(
            session,
            kind="task_assigned",
            event_key=f"task.assigned:{task.id}",
            user_ids=await recipients.task_deciders(session, _shared_policy(), task),
            params=await _task_params(session, task),
            target=("task", task.id),
        )

    return await _guarded(session, f"task {task.id} raised", write)


async def task_overdue(session: AsyncSession, task: ApprovalTask) -> int:
    """`task` expired undecided: tell those who could have decided it and the requester."""

    async def write() -> int:
        deciders = await recipients.task_deciders(session, _shared_policy(), task)
        params = await _task_params(session, task)
        if task.due_at is not None:
            params["due_at"] = task.due_at.isoformat()
        return await _record(
            session,
            kind="task_overdue",
            event_key=f"task.overdue:{task.id}",
            user_ids=[*deciders, task.requested_by],
            params=params,
            target=("task", task.id),
        )

    return await _guarded(session, f"task {task.id} overdue", write)


def _version_params(flow: Flow, version: FlowVersion) -> dict[str, Any]:
    return {"flow_id": flow.id, "flow": flow.name, "number": version.number}


async def _task_params(session: AsyncSession, task: ApprovalTask) -> dict[str, Any]:
    flow_name = (
        await session.execute(
            select(Flow.name).join(Run, Run.flow_id == Flow.id).where(Run.id == task.run_id)
        )
    ).scalar_one_or_none()
    return {
        "task_id": task.id,
        "run_id": task.run_id,
        "title": one_line(task.title, MAX_TITLE),
        "flow": flow_name or "",
    }


async def _record(
    session: AsyncSession,
    *,
    kind: str,
    event_key: str,
    user_ids: Iterable[str | None],
    params: dict[str, Any],
    target: tuple[str, str],
) -> int:
    """One notification per recipient (none twice for one event), and an outbox row for
    each new one whose recipient has an e-mail address, if mails are switched on."""
    people = sorted({user_id for user_id in user_ids if user_id})
    if not people:
        return 0
    now = utcnow()
    insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    rows = [
        {
            "id": new_id(),
            "user_id": user_id,
            "kind": kind,
            "event_key": event_key,
            "params": params,
            "target_type": target[0],
            "target_id": target[1],
            "created_at": now,
        }
        for user_id in people
    ]
    created = (
        await session.execute(
            insert(Notification)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["user_id", "event_key"])
            .returning(Notification.id, Notification.user_id)
        )
    ).all()
    if created and await _mails_on(session):
        reachable = set(
            (
                await session.execute(
                    select(User.id).where(
                        User.id.in_([user_id for _, user_id in created]),
                        User.email.is_not(None),
                        User.active.is_(True),
                    )
                )
            ).scalars()
        )
        mails = [
            {
                "id": new_id(),
                "notification_id": notification_id,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for notification_id, user_id in created
            if user_id in reachable
        ]
        if mails:
            await session.execute(insert(NotificationMail).values(mails))
    return len(created)


async def _mails_on(session: AsyncSession) -> bool:
    chosen = (
        await session.execute(
            select(NotificationSettings.connection_id).where(NotificationSettings.id == SETTINGS_ROW)
        )
    ).scalar_one_or_none()
    return chosen is not None


# -- the inbox ------------------------------------------------------------------------
def view_of(row: Notification) -> NotificationView:
    return NotificationView(id=row.id, recipient_id=row.user_id)


def _cursor_of(row: Notification) -> str:
    return f"{row.created_at.isoformat()}|{row.id}"


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    at, _, notification_id = cursor.partition("|")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not notification_id:
        raise BadRequest(
            "the cursor is not one this API gave out; pass next_cursor of the previous page",
            code="invalid_cursor",
        )
    return moment, notification_id


async def inbox_page(
    session: AsyncSession,
    authz: Authorizer,
    actor: Actor,
    *,
    unread_only: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Notification], str | None]:
    """The caller's notifications, newest first; the cursor of the next page or None."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Notification).where(Notification.user_id == actor.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if cursor:
        at, notification_id = _parse_cursor(cursor)
        query = query.where(
            (Notification.created_at < at)
            | ((Notification.created_at == at) & (Notification.id < notification_id))
        )
    rows = list(
        (
            await session.execute(
                query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
            )
        ).scalars()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    readable = {view.id for view in authz.filter_allowed(actor, "read", [view_of(row) for row in rows])}
    shown = [row for row in rows if row.id in readable]
    return shown, (_cursor_of(rows[-1]) if more and rows else None)


# Built once (its compiled form is cached): the studio asks this every 20 s per open page.
_UNREAD = (
    select(func.count())
    .select_from(Notification)
    .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))
)


async def unread_count(session: AsyncSession, actor: Actor) -> int:
    """How many of the caller's notifications are unread."""
    return int((await session.execute(_UNREAD, {"user_id": actor.id})).scalar_one())


async def unread_count_quick(db: Database, actor: Actor) -> int:
    """`unread_count` for the poll: on a SQLite file a point read without a session."""
    rows = await db.rows(_UNREAD, {"user_id": actor.id})
    return int(rows[0][0])


async def get_notification(
    session: AsyncSession, authz: Authorizer, actor: Actor, notification_id: str, action: str = "read"
) -> Notification:
    row = await session.get(Notification, notification_id)
    if row is None:
        raise NotFound("notification not found", code="not_found", resource="notification")
    authz.authorize(actor, action, view_of(row))
    return row


async def mark_read(
    session: AsyncSession, authz: Authorizer, actor: Actor, notification_id: str
) -> Notification:
    """Mark one of the caller's notifications read (again: it keeps its first read time)."""
    row = await get_notification(session, authz, actor, notification_id, "mark_read")
    if row.read_at is None:
        row.read_at = utcnow()
        await session.flush()
    return row


async def mark_all_read(session: AsyncSession, actor: Actor) -> int:
    """Mark every unread notification of the caller read; how many were."""
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
