"""`TaskService`: what `/api/tasks` does, bound to the database, the policy and the run
manager (which resumes a run once its task is decided). The rules of deciding are in
`runtime.approvals.service`; this module reads the inbox and sequences a decision."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select

from runtime.approvals import service
from runtime.db.database import Database
from runtime.db.models import ApprovalTask, Flow, Run
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import task_view

INBOX_LIMIT = 500


class Resumer(Protocol):
    """What a decision needs of the run manager (`runtime.runs.manager.RunManager`, which
    imports this slice: named by its shape here, not imported)."""

    async def resume(self, run_id: str) -> bool: ...

    async def wait(self, run_id: str, timeout_s: float) -> None: ...


@dataclass(frozen=True, slots=True)
class Decided:
    """A decided task and how its run went on."""

    task: ApprovalTask
    run_status: str | None  # None: the run is gone
    resumed: bool


class TaskService:
    __slots__ = ("authz", "db", "manager")

    def __init__(self, db: Database, authz: Authorizer, manager: Resumer) -> None:
        self.db = db
        self.authz = authz
        self.manager = manager

    async def inbox(self, actor: Actor, status: str) -> list[dict[str, Any]]:
        """The newest tasks (`status`, or "all") `actor` may read, each with its flow's name
        and slug and whether `actor` may decide it (`TaskListItemOut`'s keys)."""
        async with self.db.read() as session:
            query = (
                select(ApprovalTask, Flow.name, Flow.slug)
                .join(Run, Run.id == ApprovalTask.run_id)
                .join(Flow, Flow.id == Run.flow_id)
                .order_by(ApprovalTask.created_at.desc())
                .limit(INBOX_LIMIT)
            )
            if status != "all":
                query = query.where(ApprovalTask.status == status)
            result = []
            for task, flow_name, flow_slug in (await session.execute(query)).tuples():
                view = await task_view(session, task)
                if self.authz.is_allowed(actor, "read", view):
                    result.append(
                        {
                            **service.task_as_json(task),
                            "flow": {"name": flow_name, "slug": flow_slug},
                            "can_decide": self.authz.is_allowed(actor, "decide", view),
                        }
                    )
        return result

    async def get(self, actor: Actor, task_id: str) -> tuple[ApprovalTask, bool]:
        """The task and whether `actor` may decide it."""
        async with self.db.read() as session:
            task = await service.get_task(session, self.authz, actor, task_id)
            view = await task_view(session, task)
        return task, self.authz.is_allowed(actor, "decide", view)

    async def decide(self, actor: Actor, task_id: str, decision: str, comment: str, payload: Any) -> Decided:
        """Record the decision; a task it closes resumes its run here, which a quick flow
        may finish before the answer (up to half a second)."""
        async with self.db.write() as session:
            task = await service.decide(session, self.authz, actor, task_id, decision, comment, payload)
        resumed = False
        if task.status != "open":
            resumed = await self.manager.resume(task.run_id)
            if resumed:  # give a quick flow the chance to finish before answering
                await self.manager.wait(task.run_id, 0.5)
        await asyncio.sleep(0)
        async with self.db.read() as session:
            run = await session.get(Run, task.run_id)
        return Decided(task, run.status if run else None, resumed)
