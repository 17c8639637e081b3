"""Persisting a run while it executes (write-behind with durability points).

A trivial node takes microseconds, a database commit hundreds of them; committing at
every step would make persistence the bottleneck of every flow. So the run's row and its
finished steps are buffered and written:

* at once when a step is `durable` (it had effects outside Dirigent, e.g. a connector
  call, or it suspended the run) — after a crash such a step must not run again, and
  the run that did it is on record before anything else happens;
* when the run has been going for `visible_after_s` (the run manager calls
  `persist_start`), so other processes can see and, after a crash, adopt it;
* when the last flush is older than `flush_interval_s` (a crash loses at most that
  much pure work);
* when the run concludes: one transaction writes whatever is still buffered — for a
  quick run that is its row, its steps, its final state and both audit entries.

A step that was lost in a crash was a pure computation; it simply runs again on resume.
A run that was lost entirely had not done anything outside Dirigent yet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import Event, append_many
from runtime.db.database import Database
from runtime.db.models import Run, RunStep, new_id, utcnow
from runtime.engine.records import StepRecord

STEP_FIELDS = ("node_type", "status", "inputs", "outputs", "error", "usage", "started_at",
               "finished_at", "duration_ms")


def step_row_values(step: StepRecord) -> dict[str, Any]:
    return {name: getattr(step, name) for name in STEP_FIELDS}


async def write_steps(session: AsyncSession, run_id: str, steps: Iterable[StepRecord],
                      stored: set[str]) -> None:
    """Insert new steps (one statement), update those already stored (a resumed step)."""
    new_rows = []
    for step in steps:
        if step.node_id in stored:
            await session.execute(
                update(RunStep).where(RunStep.run_id == run_id, RunStep.node_id == step.node_id)
                .values(**step_row_values(step)).execution_options(synchronize_session=False)
            )
        else:
            new_rows.append({"id": new_id(), "run_id": run_id, "node_id": step.node_id,
                             **step_row_values(step)})
            stored.add(step.node_id)
    if new_rows:
        await session.execute(insert(RunStep), new_rows)


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


@dataclass
class RunStart:
    """A run's row and its `run.started` audit entry, not yet written."""

    values: dict[str, Any]
    event: Event


class SqlRecorder:
    def __init__(self, db: Database, run_id: str, stored: set[str] | None = None, *,
                 start: RunStart | None = None, flush_interval_s: float = 0.25) -> None:
        self.db = db
        self.run_id = run_id
        self.stored: set[str] = set(stored or ())
        self.start = start
        self.pending: list[StepRecord] = []
        self.flush_interval_s = flush_interval_s
        self._last_flush = time.monotonic()
        self._lock = asyncio.Lock()  # the start task and the engine may both write
        self.cancelled = False

    @property
    def started(self) -> bool:
        """True once the run's row is in the database."""
        return self.start is None

    async def record_steps(self, steps: list[StepRecord]) -> None:
        self.pending.extend(steps)
        if any(step.durable for step in steps) or (
            time.monotonic() - self._last_flush >= self.flush_interval_s
        ):
            await self.flush()

    async def persist_start(self) -> None:
        """Make the run visible to other processes (and adoptable after a crash)."""
        if not self.started:
            await self.flush()

    async def flush(self) -> None:
        await self.write(None)

    async def write(self, finish: Callable[[AsyncSession], Awaitable[list[Event]]] | None) -> None:
        """One transaction: the start if still buffered, buffered steps, then `finish`.

        Shielded: a cancellation (of the run, or of the start timer) must not cut a write
        between its commit and our bookkeeping, or the run would be inserted twice.
        """
        await asyncio.shield(self._write(finish))

    async def _write(self, finish: Callable[[AsyncSession], Awaitable[list[Event]]] | None) -> None:
        async with self._lock, self.db.write() as session:
            events: list[Event] = []
            already_started = self.started
            if self.start is not None:
                await session.execute(insert(Run).values(**self.start.values))
                events.append(self.start.event)
            pending, self.pending = self.pending, []
            stored_before = set(self.stored)
            try:
                latest = {step.node_id: step for step in pending}  # waiting, then resumed: keep the last
                await write_steps(session, self.run_id, latest.values(), self.stored)
                if finish is not None:
                    events += await finish(session)
                elif already_started:
                    await session.execute(update(Run).where(Run.id == self.run_id).values(heartbeat_at=utcnow())
                                          .execution_options(synchronize_session=False))
                await append_many(session, events)
            except BaseException:  # rolled back: keep everything buffered for the next try
                self.pending = pending + self.pending
                self.stored = stored_before
                raise
        self.start = None
        self._last_flush = time.monotonic()

    async def cancel_requested(self) -> bool:
        return self.cancelled
