"""What `/api/tasks` answers: an approval task (`runtime.approvals.service.task_as_json`),
with what the caller may do with it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TaskStatus = Literal["open", "approved", "rejected", "expired", "cancelled"]
RunStatus = Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled", "expired"]


class TaskOut(BaseModel):
    """An approval task as the service writes it (also in a run's `tasks`)."""

    # Built from the service's dict: a key it adds or drops fails here, not on the wire.
    model_config = ConfigDict(extra="forbid")

    id: str
    run_id: str
    node_id: str
    title: str
    status: TaskStatus
    assignees: list[str] = Field(description="Usernames or role:<role> entries who may decide")
    quorum: int
    approvals: int
    instructions: str
    payload: Any = Field(
        description="What the decision is about (a letter, a ticket); editable if `editable`"
    )
    editable: bool
    question: str | None = Field(
        description='"side_effect_uncertain": a connector asks whether an interrupted call arrived '
        "(approve = yes, it was sent; reject = no, send it once); null for approval nodes"
    )
    resolution: dict[str, Any] | None
    due_at: str | None
    created_at: str | None
    resolved_at: str | None

    @classmethod
    def of(cls, body: dict[str, Any]) -> TaskOut:
        return cls.model_validate(body)


class TaskFlowOut(BaseModel):
    name: str
    slug: str


class TaskListItemOut(TaskOut):
    """A task in the inbox, with the flow whose run raised it."""

    flow: TaskFlowOut
    can_decide: bool = Field(description="Whether the policy lets the caller decide it now")


class TaskDetailOut(TaskOut):
    can_decide: bool = Field(description="Whether the policy lets the caller decide it now")


class DecidedTaskOut(TaskOut):
    """The task after a decision, and how its run went on."""

    run_status: RunStatus | None = Field(description="The run's status after the decision (null: gone)")
    resumed: bool = Field(description="Whether this process resumed the run (it was no longer open)")
