"""Persisting steps while a run executes (write-behind with durability points).

A trivial node takes microseconds, a database commit hundreds of them; committing after
every step would make persistence the bottleneck of every flow. So finished steps are
buffered and flushed:

* at once when a step is `durable` (it had effects outside Dirigent, e.g. a connector
  call, or it suspended the run) — after a crash such a step must not run again;
* when the last flush is older than `flush_interval_s` (long-running flows show
  progress to other processes, and a crash loses at most that much pure work);
* when the run concludes (the conclusion's transaction writes the rest together with
  the run's final state, so a finished run is never half-written).

A step that was lost in a crash was a pure computation; it simply runs again on resume.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.database import Database
from runtime.db.models import Run, RunStep, utcnow
from runtime.engine.records import StepRecord


def step_row_values(step: StepRecord) -> dict[str, object]:
    return {
        "node_type": step.node_type,
        "status": step.status,
        "inputs": step.inputs,
        "outputs": step.outputs,
        "error": step.error,
        "usage": step.usage,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
        "duration_ms": step.duration_ms,
    }


async def write_steps(session: AsyncSession, run_id: str, steps: Iterable[StepRecord],
                      stored: set[str]) -> None:
    """Insert new steps, update those already stored (a waiting step that was resumed)."""
    new_rows = []
    for step in steps:
        if step.node_id in stored:
            await session.execute(
                update(RunStep).where(RunStep.run_id == run_id, RunStep.node_id == step.node_id)
                .values(**step_row_values(step)).execution_options(synchronize_session=False)
            )
        else:
            new_rows.append(RunStep(run_id=run_id, node_id=step.node_id, **step_row_values(step)))
            stored.add(step.node_id)
    session.add_all(new_rows)


async def load_steps(session: AsyncSession, run_id: str) -> dict[str, StepRecord]:
    rows = (await session.execute(select(RunStep).where(RunStep.run_id == run_id))).scalars()
    return {
        row.node_id: StepRecord(
            node_id=row.node_id, node_type=row.node_type, status=row.status,  # type: ignore[arg-type]
            inputs=row.inputs, outputs=row.outputs, error=row.error, usage=row.usage,
            started_at=row.started_at, finished_at=row.finished_at, duration_ms=row.duration_ms,
        )
        for row in rows
    }


class SqlRecorder:
    def __init__(self, db: Database, run_id: str, stored: set[str] | None = None,
                 flush_interval_s: float = 0.25) -> None:
        self.db = db
        self.run_id = run_id
        self.stored: set[str] = set(stored or ())
        self.pending: list[StepRecord] = []
        self.flush_interval_s = flush_interval_s
        self._last_flush = time.monotonic()
        self.cancelled = False

    async def record_steps(self, steps: list[StepRecord]) -> None:
        self.pending.extend(steps)
        if any(step.durable for step in steps) or (
            time.monotonic() - self._last_flush >= self.flush_interval_s
        ):
            await self.flush()

    async def flush(self) -> None:
        if not self.pending:
            return
        async with self.db.write() as session:
            await self.write_pending(session)
            await session.execute(
                update(Run).where(Run.id == self.run_id).values(heartbeat_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        self._last_flush = time.monotonic()

    async def write_pending(self, session: AsyncSession) -> None:
        """Write buffered steps inside the caller's transaction (used by the conclusion)."""
        pending, self.pending = self.pending, []
        # A step may appear twice in the buffer (waiting, then resumed): keep the last.
        latest = {step.node_id: step for step in pending}
        await write_steps(session, self.run_id, latest.values(), self.stored)

    async def cancel_requested(self) -> bool:
        return self.cancelled
