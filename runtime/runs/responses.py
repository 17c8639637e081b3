"""What the run endpoints answer (`runtime.runs.controller`); the viewer's answers are in
`runtime.runs.viewer_schemas`.

A run's JSON is built as a dict by `runtime.runs.views.run_as_json` (the run manager
keeps a finished run in that shape for the invocation that waits for it); the models here
validate that dict as it is. They refuse keys they do not know, so that a key the views
add or drop fails in the tests rather than changing the wire unnoticed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runtime.approvals.responses import RunStatus, TaskOut
from runtime.db.models import Flow, FlowVersion, Run, iso
from runtime.feedback.responses import FeedbackOut


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepOut(_Strict):
    """One node's execution (`runtime.runs.views.step_as_json`)."""

    node_id: str
    node_type: str
    status: str = Field(description="running | succeeded | failed | skipped | waiting | cancelled | expired")
    inputs: dict[str, Any] | None
    outputs: dict[str, Any] | None
    error: dict[str, Any] | None
    usage: dict[str, Any] | None = Field(description="Tokens the node used (LLM nodes)")
    started_at: str | None
    finished_at: str | None
    duration_ms: float | None


class RunOut(_Strict):
    """A run with its steps and approval tasks: what an invocation answers with 200, once
    the run has ended or waits for a person."""

    id: str
    flow_id: str
    version: int
    content_hash: str
    status: RunStatus
    is_test: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    error: dict[str, Any] | None
    total_tokens: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    parent_run_id: str | None = Field(
        None, description="A sub-run (of an assistant or map node): the run whose node started it"
    )
    steps: list[StepOut]
    tasks: list[TaskOut]

    @classmethod
    def of(cls, body: dict[str, Any]) -> RunOut:
        return cls.model_validate(body)


class RunStartedOut(RunOut):
    """A run that is stored and still going after `wait_s` (202): poll `GET /api/runs/{id}`
    or the steps so far. Another process adopts it if this one ends meanwhile."""

    status: Literal["queued", "running"]

    @classmethod
    def of(cls, body: dict[str, Any]) -> RunStartedOut:
        return cls.model_validate(body)


class RunWithFeedbackOut(RunOut):
    """`GET /api/runs/{id}`: the run and the rating of whoever started it."""

    feedback: FeedbackOut | None = Field(description="The starter's feedback, if given")

    @classmethod
    def of(cls, body: dict[str, Any]) -> RunWithFeedbackOut:
        return cls.model_validate(body)


class RunListItemOut(_Strict):
    """A run in `GET /api/runs`: what it was, without inputs, outputs and steps."""

    id: str
    flow_id: str
    version: int
    status: RunStatus
    is_test: bool
    created_at: str | None
    finished_at: str | None
    total_tokens: int

    @classmethod
    def of(cls, run: Run) -> RunListItemOut:
        return cls(
            id=run.id,
            flow_id=run.flow_id,
            version=run.version_number,
            status=run.status,  # type: ignore[arg-type]  # a column of RunStatus values
            is_test=run.is_test,
            created_at=iso(run.created_at),
            finished_at=iso(run.finished_at),
            total_tokens=run.total_tokens,
        )


class CancelOut(_Strict):
    id: str
    status: Literal["cancelled", "cancelling"] = Field(
        description="cancelled; cancelling: another process drives the run and stops it at its next step"
    )


class AssistantOut(_Strict):
    """An assistant the caller may invoke, as its live version describes it."""

    slug: str
    name: str
    flow_id: str
    workspace: str = Field(description="The slug of the flow's workspace")
    description: str
    version: int = Field(description="The live version's number")
    content_hash: str
    inputs: dict[str, Any] = Field(description="The flow's declared inputs (name: type, required, ...)")
    card: dict[str, Any] = Field(description="The assistant's card: purpose, risk, owner, ...")

    @classmethod
    def of(cls, flow: Flow, live: FlowVersion, workspace_slug: str) -> AssistantOut:
        return cls(
            slug=flow.slug,
            name=flow.name,
            flow_id=flow.id,
            workspace=workspace_slug,
            description=live.document.get("description", ""),
            version=live.number,
            content_hash=live.content_hash,
            inputs=live.document.get("inputs", {}),
            card=live.document.get("card", {}),
        )
