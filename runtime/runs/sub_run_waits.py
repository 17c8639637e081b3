"""Runs that wait for their sub-runs, and when they go on.

An `assistant` or `map` node whose sub-run waits for a person (or outlasts the node's
patience) suspends with a request that says `waits_for: sub_runs` and names the runs. No
task is raised for it; the sweep of every process (`RunManager.sweep`) looks for waiting
runs none of whose sub-runs is still going, and resumes those whose waiting step's
sub-runs have all ended — with a `Resolution` whose request names them again, so that the
node reads their outcomes from the database. Nothing is kept in memory: the parent may be
resumed by any process, after any restart.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from nodes.base import Resolution
from nodes.services import ENDED_RUN_STATES, WAITS_FOR_SUB_RUNS
from runtime.db.models import Run, RunStep
from runtime.engine.records import StepRecord

_child = aliased(Run)
_STILL_GOING = ("queued", "running", "waiting")
_WAITS_FOR = RunStep.outputs[("request", "waits_for")].as_string()


def _sub_runs_of(request: Any) -> list[str] | None:
    if not isinstance(request, dict) or request.get("waits_for") != WAITS_FOR_SUB_RUNS:
        return None
    ids = request.get("sub_runs")
    return [str(run_id) for run_id in ids] if isinstance(ids, list) else []


def _request(step: StepRecord) -> Any:
    return step.suspension.request if step.suspension else (step.outputs or {}).get("request")


async def parents_to_resume(session: AsyncSession, limit: int = 50, only: str | None = None) -> list[str]:
    """Waiting runs with a step that waits for sub-runs, none of which is still going
    (`only`: whether that one run is such a run)."""
    query = select(Run.id) if only is None else select(Run.id).where(Run.id == only)
    rows = await session.execute(
        query.join(RunStep, RunStep.run_id == Run.id)
        .where(
            Run.status == "waiting",
            RunStep.status == "waiting",
            _WAITS_FOR == WAITS_FOR_SUB_RUNS,
            ~exists().where(_child.parent_run_id == Run.id, _child.status.in_(_STILL_GOING)),
        )
        .distinct()
        .limit(limit)
    )
    return list(rows.scalars())


async def resolutions_for(session: AsyncSession, steps: dict[str, StepRecord]) -> dict[str, Resolution]:
    """For each step that waits for sub-runs which have all ended: its resolution."""
    waiting = {
        node_id: ids
        for node_id, step in steps.items()
        if step.status == "waiting" and (ids := _sub_runs_of(_request(step))) is not None
    }
    if not waiting:
        return {}
    wanted = {run_id for ids in waiting.values() for run_id in ids}
    rows = await session.execute(select(Run.id, Run.status).where(Run.id.in_(wanted)))
    statuses = dict(rows.tuples().all())
    return {
        node_id: Resolution(outcome="ended")
        for node_id, ids in waiting.items()
        # A sub-run that is not stored (it never started) will not end: the node reports it.
        if all(statuses.get(run_id, "failed") in ENDED_RUN_STATES for run_id in ids)
    }
