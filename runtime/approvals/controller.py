"""`/api/tasks`: approval tasks assigned to me, and decisions on them."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from runtime.api.deps import Caller
from runtime.api.schemas import DecisionRequest
from runtime.approvals.deps import TASKS_DEPENDENCIES, Tasks
from runtime.approvals.responses import DecidedTaskOut, TaskDetailOut, TaskListItemOut
from runtime.approvals.service import task_as_json


class TaskController(Controller):
    path = "/api/tasks"
    tags = ["approvals"]
    dependencies = TASKS_DEPENDENCIES

    @get("/")
    async def list_tasks(
        self, tasks: Tasks, actor: Caller, status: FromQuery[str] = "open"
    ) -> list[TaskListItemOut]:
        """The newest 500 tasks (in `status`, or `all`) the caller may read."""
        return [TaskListItemOut.model_validate(item) for item in await tasks.inbox(actor, status)]

    @get("/{task_id:str}")
    async def get_task(self, tasks: Tasks, actor: Caller, task_id: FromPath[str]) -> TaskDetailOut:
        task, can_decide = await tasks.get(actor, task_id)
        return TaskDetailOut.model_validate({**task_as_json(task), "can_decide": can_decide})

    @post("/{task_id:str}/decision", status_code=200)
    async def decide(
        self, tasks: Tasks, actor: Caller, task_id: FromPath[str], data: JSONBody[DecisionRequest]
    ) -> DecidedTaskOut:
        decided = await tasks.decide(actor, task_id, data.decision, data.comment, data.payload)
        return DecidedTaskOut.model_validate(
            {**task_as_json(decided.task), "run_status": decided.run_status, "resumed": decided.resumed}
        )
