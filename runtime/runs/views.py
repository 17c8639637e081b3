"""The JSON shape of a run (`GET /api/runs/{id}`), built from rows or from memory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.approvals.service import task_as_json
from runtime.db.models import ApprovalTask, Run, RunStep, iso

RUN_FIELDS = (
    "id",
    "flow_id",
    "version_number",
    "content_hash",
    "status",
    "is_test",
    "inputs",
    "outputs",
    "error",
    "total_tokens",
    "created_at",
    "started_at",
    "finished_at",
    "parent_run_id",
)


def step_as_json(step: Any) -> dict[str, Any]:
    """A step: a `RunStep` row and an engine `StepRecord` have the same attributes."""
    return {
        "node_id": step.node_id,
        "node_type": step.node_type,
        "status": step.status,
        "inputs": step.inputs,
        "outputs": step.outputs,
        "error": step.error,
        "usage": step.usage,
        "started_at": iso(step.started_at),
        "finished_at": iso(step.finished_at),
        "duration_ms": step.duration_ms,
    }


def run_as_json(run: Mapping[str, Any], steps: Iterable[Any], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(steps, key=lambda step: (step.started_at is None, step.started_at or run["created_at"]))
    return {
        "id": run["id"],
        "flow_id": run["flow_id"],
        "version": run["version_number"],
        "content_hash": run["content_hash"],
        "status": run["status"],
        "is_test": run["is_test"],
        "inputs": run["inputs"],
        "outputs": run.get("outputs"),
        "error": run.get("error"),
        "total_tokens": run.get("total_tokens") or 0,
        "created_at": iso(run["created_at"]),
        "started_at": iso(run.get("started_at")),
        "finished_at": iso(run.get("finished_at")),
        # A sub-run (an `assistant` or `map` node's): the run whose node started it.
        "parent_run_id": run.get("parent_run_id"),
        "steps": [step_as_json(step) for step in ordered],
        "tasks": tasks,
    }


async def load_run_json(session: AsyncSession, run: Run) -> dict[str, Any]:
    steps = (await session.execute(select(RunStep).where(RunStep.run_id == run.id))).scalars().all()
    tasks = (await session.execute(select(ApprovalTask).where(ApprovalTask.run_id == run.id))).scalars().all()
    return run_as_json(
        {name: getattr(run, name) for name in RUN_FIELDS}, steps, [task_as_json(task) for task in tasks]
    )
