"""The approvals slice's dependency: `tasks: Tasks` (a `TaskService`).

The provider names `actor` so that it is resolved after it, alone on its level (see
`runtime.runs.deps`)."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide

from runtime.api.deps import Caller, Rt
from runtime.approvals.tasks import TaskService


def provide_tasks(rt: Rt, actor: Caller) -> TaskService:
    return TaskService(rt.db, rt.authz, rt.runs)


TASKS_DEPENDENCIES = {"tasks": Provide(provide_tasks, sync_to_thread=False)}
Tasks = NamedDependency[TaskService]
