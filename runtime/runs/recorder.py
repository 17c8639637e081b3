"""Persisting a run while it executes (write-behind with durability points).

A trivial node takes microseconds, a database commit hundreds of them; committing at
every step would make persistence the bottleneck of every flow. So the run's row and its
finished steps are buffered and written:

* at once when a step is `durable` (it had effects outside Dirigent, e.g. a connector
  call; it suspended the run; it was costly — an LLM call — or took over a second) —
  after a crash such a step must not run again, and the run that did it is on record
  before anything else happens;
* before the runtime answers that it accepted a run without its result (202, a webhook
  delivery, an `Idempotency-Key`): the run manager calls `persist_start`, or writes the
  start together with a guard row (`RunManager.start(admission=...)`);
* when the run has been going for `visible_after_s` (the run manager calls
  `persist_start`), so other processes can see and, after a crash, adopt it;
* when the last flush is older than `flush_interval_s` (a crash loses at most that
  much pure work);
* when the run concludes: one transaction writes whatever is still buffered — for a
  quick run that is its row, its steps, its final state and both audit entries.

A step that was lost in a crash was a cheap, pure computation; it simply runs again on
resume. A run that was lost entirely had not done anything outside Dirigent yet, and its
caller had not been told that it exists (a quick synchronous run answers only after its
conclusion is written).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import Event
from runtime.db.models import RunStep, new_id, utcnow
from runtime.engine.records import StepRecord
from runtime.runs.admission import Admission
from runtime.runs.writer import RunWriter, WriteSet

STEP_FIELDS = (
    "node_type",
    "status",
    "inputs",
    "outputs",
    "error",
    "usage",
    "started_at",
    "finished_at",
    "duration_ms",
)


def step_row_values(step: StepRecord) -> dict[str, Any]:
    return {name: getattr(step, name) for name in STEP_FIELDS}


async def load_steps(session: AsyncSession, run_id: str) -> dict[str, StepRecord]:
    rows = (await session.execute(select(RunStep).where(RunStep.run_id == run_id))).scalars()
    return {
        row.node_id: StepRecord(
            node_id=row.node_id,
            node_type=row.node_type,
            status=row.status,  # type: ignore[arg-type]
            inputs=row.inputs,
            outputs=row.outputs,
            error=row.error,
            usage=row.usage,
            started_at=row.started_at,
            finished_at=row.finished_at,
            duration_ms=row.duration_ms,
        )
        for row in rows
    }


@dataclass
class RunStart:
    """A run's row and its `run.started` audit entry, not yet written."""

    values: dict[str, Any]
    event: Event


class SqlRecorder:
    """Buffers one run's writes and hands them to the process's `RunWriter`."""

    def __init__(
        self,
        writer: RunWriter,
        run_id: str,
        stored: set[str] | None = None,
        *,
        start: RunStart | None = None,
        flush_interval_s: float = 0.25,
    ) -> None:
        self.writer = writer
        self.run_id = run_id
        self.stored: set[str] = set(stored or ())
        self.start = start
        self.pending: list[StepRecord] = []
        self.flush_interval_s = flush_interval_s
        self._last_flush = time.monotonic()
        self._lock = asyncio.Lock()  # the start timer and the engine may both write
        self.cancelled = False
        # Set when another process took the run over: what this process still does with it
        # (the interrupted steps as `cancelled`) is dropped, not written beside the adopter.
        self.detached = False
        # True once a transaction with the run's row committed (`started` turns True as
        # soon as a write takes the row, before that write is done).
        self.start_committed = start is None

    @property
    def started(self) -> bool:
        """True once the run's row is written or being written."""
        return self.start is None

    async def record_steps(self, steps: list[StepRecord]) -> None:
        if self.detached:
            return
        self.pending.extend(steps)
        if any(step.durable for step in steps) or (
            time.monotonic() - self._last_flush >= self.flush_interval_s
        ):
            await self.flush()

    async def persist_start(self) -> None:
        """Make the run visible to other processes (and adoptable after a crash); returns
        once its row is committed, also when another write of it was under way."""
        while not self.start_committed:
            if self.start is not None:
                await self.flush()
            else:  # a write under way carries the row: wait for it (it may fail and put it back)
                async with self._lock:
                    pass

    async def flush(self) -> None:
        if self.detached:
            self.pending.clear()
            return
        await self.write()

    async def write(
        self,
        values: dict[str, Any] | None = None,
        events: list[Event] | None = None,
        extra: Callable[[AsyncSession], Awaitable[None]] | None = None,
        admission: Admission | None = None,
    ) -> None:
        """Write the start if still buffered, buffered steps, the run's `values`, `events`,
        `extra` and the `admission`'s guard in one transaction (shared with other runs' writes)."""
        async with self._lock:
            item, start, pending, stored_before = self._take(values, events or [], extra)
            item.admission = admission
            future = self.writer.submit(item)
            try:
                await asyncio.shield(future)
                if start is not None:
                    self.start_committed = True
            except asyncio.CancelledError:
                # Our caller was cancelled, the write goes on: wait for it so that our
                # bookkeeping stays true (else the run could be inserted twice).
                with contextlib.suppress(Exception):
                    await future
                self._settle(future, start, pending, stored_before)
                raise
            except Exception:
                self._settle(future, start, pending, stored_before)
                raise
        self._last_flush = time.monotonic()

    def _take(
        self,
        values: dict[str, Any] | None,
        events: list[Event],
        extra: Callable[[AsyncSession], Awaitable[None]] | None,
    ) -> tuple[WriteSet, RunStart | None, list[StepRecord], set[str]]:
        item = WriteSet(self.run_id, extra=extra)
        start, self.start = self.start, None
        if start is not None:  # a quick run: its row goes in once, already in its final state
            item.insert_run = {**start.values, **(values or {})}
            item.events.append(start.event)
        else:
            item.update_run = values or {"heartbeat_at": utcnow()}
        pending, self.pending = self.pending, []
        stored_before = set(self.stored)
        latest = {step.node_id: step for step in pending}  # waiting, then resumed: keep the last
        for step in latest.values():
            if step.node_id in self.stored:
                item.update_steps.append({"node_id": step.node_id, **step_row_values(step)})
            else:
                item.insert_steps.append(
                    {"id": new_id(), "run_id": self.run_id, "node_id": step.node_id, **step_row_values(step)}
                )
                self.stored.add(step.node_id)
        item.events += events
        return item, start, pending, stored_before

    def _settle(
        self,
        future: asyncio.Future[None],
        start: RunStart | None,
        pending: list[StepRecord],
        stored_before: set[str],
    ) -> None:
        """After a failed write, everything is buffered again for the next try."""
        if future.done() and not future.cancelled() and future.exception() is None:
            if start is not None:
                self.start_committed = True
            return
        if start is not None:
            self.start = start
        self.pending = pending + self.pending
        self.stored = stored_before

    async def cancel_requested(self) -> bool:
        return self.cancelled
