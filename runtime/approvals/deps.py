"""The approvals slice's dependency: `tasks: Tasks` (a `TaskService`).

The provider names `actor` so that it is resolved after it, alone on its level (see
`runtime.runs.deps`)."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide

from runtime.api.deps import Caller, Root
from runtime.approvals.tasks import TaskService


def provide_tasks(root: Root, actor: Caller) -> TaskService:
    return TaskService(root.db, root.authz, root.runs)


TASKS_DEPENDENCIES = {"tasks": Provide(provide_tasks, sync_to_thread=False)}
Tasks = NamedDependency[TaskService]
