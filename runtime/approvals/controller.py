"""`/api/tasks`: approval tasks assigned to me, and decisions on them."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import select

from runtime.api.deps import Caller, Rt
from runtime.api.schemas import DecisionRequest
from runtime.approvals import service
from runtime.db.models import ApprovalTask, Flow, Run
from runtime.policy.views import task_view


class TaskController(Controller):
    path = "/api/tasks"
    tags = ["approvals"]

    @get("/")
    async def list_tasks(
        self, rt: Rt, actor: Caller, status: FromQuery[str] = "open"
    ) -> list[dict[str, Any]]:
        async with rt.db.read() as session:
            query = (
                select(ApprovalTask, Flow.name, Flow.slug)
                .join(Run, Run.id == ApprovalTask.run_id)
                .join(Flow, Flow.id == Run.flow_id)
                .order_by(ApprovalTask.created_at.desc())
                .limit(500)
            )
            if status != "all":
                query = query.where(ApprovalTask.status == status)
            rows = (await session.execute(query)).tuples().all()
            result = []
            for task, flow_name, flow_slug in rows:
                view = await task_view(session, task)
                if rt.authz.is_allowed(actor, "read", view):
                    result.append(
                        {
                            **service.task_as_json(task),
                            "flow": {"name": flow_name, "slug": flow_slug},
                            "can_decide": rt.authz.is_allowed(actor, "decide", view),
                        }
                    )
        return result

    @get("/{task_id:str}")
    async def get_task(self, rt: Rt, actor: Caller, task_id: FromPath[str]) -> dict[str, Any]:
        async with rt.db.read() as session:
            task = await service.get_task(session, rt.authz, actor, task_id)
            view = await task_view(session, task)
        return {**service.task_as_json(task), "can_decide": rt.authz.is_allowed(actor, "decide", view)}

    @post("/{task_id:str}/decision", status_code=200)
    async def decide(
        self, rt: Rt, actor: Caller, task_id: FromPath[str], data: JSONBody[DecisionRequest]
    ) -> dict[str, Any]:
        async with rt.db.write() as session:
            task = await service.decide(
                session, rt.authz, actor, task_id, data.decision, data.comment, data.payload
            )
        resumed = False
        if task.status != "open":
            resumed = await rt.runs.resume(task.run_id)
            if resumed:  # give a quick flow the chance to finish before answering
                await rt.runs.wait(task.run_id, 0.5)
        await asyncio.sleep(0)
        async with rt.db.read() as session:
            run = await session.get(Run, task.run_id)
        return {**service.task_as_json(task), "run_status": run.status if run else None, "resumed": resumed}
