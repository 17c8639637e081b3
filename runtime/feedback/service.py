"""Giving and reading feedback on runs.

Who may give it is the policy's `feedback` permission on the run (whoever started it);
whoever may only read the run gets 403, everybody else 404. A run is rated once it has
ended (succeeded, failed, cancelled, expired): before that there is no answer to rate.
Every post, first or replacing, is one `run.feedback` audit entry; the correction text
stays out of the audit trail (it may quote personal data), its presence is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import append as audit
from runtime.db.database import Database
from runtime.db.models import Run, User, iso, new_id, utcnow
from runtime.engine.records import TERMINAL_RUN_STATES
from runtime.errors import BadRequest, Conflict, NotFound
from runtime.feedback.models import RunFeedback
from runtime.policy import resources
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import run_view

Rating = Literal["up", "down"]
MAX_CORRECTION = 4000


def feedback_as_json(row: RunFeedback, username: str | None) -> dict[str, Any]:
    return {
        "run_id": row.run_id,
        "rating": row.rating,
        "correction": row.correction,
        "by": username,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def clean_correction(rating: str, correction: str | None) -> str | None:
    """The correction to store: stripped, None when empty; refused with a thumbs up."""
    text = (correction or "").strip()
    if not text:
        return None
    if rating != "down":
        raise BadRequest(
            'a correction goes with the rating "down" only; send {"rating": "down", "correction": ...} '
            "or leave the correction out",
            code="correction_needs_down",
        )
    if len(text) > MAX_CORRECTION:
        raise BadRequest(
            f"the correction has {len(text)} characters; at most {MAX_CORRECTION} are allowed",
            code="correction_too_long",
            length=len(text),
            max_length=MAX_CORRECTION,
        )
    return text


async def give_feedback(
    session: AsyncSession,
    authz: Authorizer,
    actor: Actor,
    run: Run,
    rating: Rating,
    correction: str | None,
) -> tuple[dict[str, Any], bool]:
    """Store (or replace) `actor`'s feedback on `run`; returns its JSON and whether it is new.

    Call inside `db.write()`. Raises NotFound/Forbidden (policy), BadRequest (input),
    Conflict (the run has not ended).
    """
    authz.authorize(actor, "feedback", await run_view(session, run))
    text = clean_correction(rating, correction)
    if run.status not in TERMINAL_RUN_STATES:
        raise Conflict(
            f"the run is {run.status}; feedback is possible once it has ended "
            f"({', '.join(sorted(TERMINAL_RUN_STATES))})",
            code="run_not_finished",
            status=run.status,
        )
    previous = (
        await session.execute(
            select(RunFeedback.rating).where(RunFeedback.run_id == run.id, RunFeedback.user_id == actor.id)
        )
    ).scalar_one_or_none()
    now = utcnow()
    # An upsert, so that two quick clicks cannot trip over the unique key on PostgreSQL.
    insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    values = {"rating": rating, "correction": text, "updated_at": now}
    await session.execute(
        insert(RunFeedback)
        .values(id=new_id(), run_id=run.id, user_id=actor.id, created_at=now, **values)
        .on_conflict_do_update(index_elements=["run_id", "user_id"], set_=values)
    )
    await audit(
        session,
        actor=actor.username,
        action="run.feedback",
        resource_type="run",
        resource_id=run.id,
        version_hash=run.content_hash,
        detail={
            "rating": rating,
            "with_correction": text is not None,
            "replaced": previous,
        },
    )
    row = (
        await session.execute(
            select(RunFeedback).where(RunFeedback.run_id == run.id, RunFeedback.user_id == actor.id)
        )
    ).scalar_one()
    return feedback_as_json(row, actor.username), previous is None


async def starter_feedback(session: AsyncSession, run: Run) -> dict[str, Any] | None:
    """The feedback of whoever started `run` (the only person who may give it), or None."""
    if run.started_by is None:
        return None
    found = (
        await session.execute(
            select(RunFeedback, User.username)
            .join(User, User.id == RunFeedback.user_id)
            .where(RunFeedback.run_id == run.id, RunFeedback.user_id == run.started_by)
        )
    ).first()
    return feedback_as_json(found[0], found[1]) if found else None


class FeedbackService:
    """`POST /api/runs/{id}/feedback` bound to the database, the policy and `running_here`:
    the row values of a run this process started and has not written yet (the run
    manager's `facts`; passed as a function, since the runs slice imports this one)."""

    __slots__ = ("authz", "db", "running_here")

    def __init__(
        self,
        db: Database,
        authz: Authorizer,
        running_here: Callable[[str], dict[str, Any] | None],
    ) -> None:
        self.db = db
        self.authz = authz
        self.running_here = running_here

    async def give(
        self, actor: Actor, run_id: str, rating: Rating, correction: str | None
    ) -> tuple[dict[str, Any], bool]:
        """`give_feedback` on the run `run_id`: its JSON and whether it is new."""
        async with self.db.write() as session:
            run = await session.get(Run, run_id)
            if run is None:
                facts = self.running_here(run_id)
                if facts is None:
                    raise NotFound("run not found", code="not_found", resource="run")
                # Started here moments ago and not written yet: it has not ended.
                view = resources.Run(
                    id=run_id, workspace_id=facts["workspace_id"], started_by=facts["started_by"]
                )
                self.authz.authorize(actor, "feedback", view)
                raise Conflict(
                    "the run is running; feedback is possible once it has ended",
                    code="run_not_finished",
                    status="running",
                )
            return await give_feedback(session, self.authz, actor, run, rating, correction)
