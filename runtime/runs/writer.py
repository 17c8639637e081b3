"""Group commit for run records: many runs' writes in one transaction.

Every run ends with a write (its row, its steps, its final state, two audit entries).
Done one transaction per run, the database round trips — not the flows — set the
throughput of a busy runtime. So recorders hand their writes (`WriteSet`s) to one
`RunWriter` per process, which writes everything that has queued up while the previous
transaction ran in a single transaction: one multi-row INSERT for runs, one for steps,
one chain append for all audit entries. Under load a transaction carries dozens of
runs; alone, a run waits for nothing.

Each submitter awaits its own future, which is resolved only after the commit: a run
is never reported done before it is durable. If a batch fails, its write sets are
retried one by one, so one bad write fails only its own run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import Event, append_many
from runtime.db.database import Database
from runtime.db.models import Run, RunStep

log = logging.getLogger("dirigent.runs.writer")
MAX_BATCH = 256


@dataclass
class WriteSet:
    """What one recorder wants written, atomically with its run's other writes."""

    run_id: str
    insert_run: dict[str, Any] | None = None
    update_run: dict[str, Any] | None = None
    insert_steps: list[dict[str, Any]] = field(default_factory=list)
    update_steps: list[dict[str, Any]] = field(default_factory=list)  # {"node_id": ..., **values}
    events: list[Event] = field(default_factory=list)
    # Further writes in the same transaction (e.g. approval tasks of a waiting run).
    extra: Callable[[AsyncSession], Awaitable[None]] | None = None


async def _write_batch(session: AsyncSession, batch: list[WriteSet]) -> None:
    runs = [item.insert_run for item in batch if item.insert_run]
    if runs:
        await session.execute(insert(Run), runs)
    steps = [row for item in batch for row in item.insert_steps]
    if steps:
        await session.execute(insert(RunStep), steps)
    for item in batch:
        for values in item.update_steps:
            values = dict(values)
            node_id = values.pop("node_id")
            await session.execute(
                update(RunStep)
                .where(RunStep.run_id == item.run_id, RunStep.node_id == node_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
    await _update_runs(session, [item for item in batch if item.update_run])
    for item in batch:
        if item.extra is not None:
            await item.extra(session)
    await append_many(session, [event for item in batch for event in item.events])


async def _update_runs(session: AsyncSession, items: list[WriteSet]) -> None:
    """One executemany per set of columns (usually all runs set the same ones)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for item in items:
        assert item.update_run is not None
        keys = tuple(sorted(item.update_run))
        groups.setdefault(keys, []).append(
            {"run_key": item.run_id, **{f"v_{k}": v for k, v in item.update_run.items()}}
        )
    for keys, params in groups.items():
        statement = (
            update(Run.__table__)
            .where(Run.__table__.c.id == bindparam("run_key"))
            .values({key: bindparam(f"v_{key}") for key in keys})
        )
        connection = await session.connection()
        await connection.execute(statement, params)


class RunWriter:
    def __init__(self, db: Database) -> None:
        self.db = db
        # `None` in the queue asks the writer to stop once what is before it is written.
        self._queue: asyncio.Queue[tuple[WriteSet, asyncio.Future[None]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def submit(self, item: WriteSet) -> asyncio.Future[None]:
        """Queue `item`; the future resolves once it is committed (or fails with its error)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="run-writer")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            batch = [first] if first is not None else []
            stopping = first is None
            while not self._queue.empty() and len(batch) < MAX_BATCH:
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[WriteSet, asyncio.Future[None]]]) -> None:
        try:
            async with self.db.write() as session:
                await _write_batch(session, [item for item, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0][1], error)
                return
            log.warning("a batch of %d run writes failed (%s); writing them one by one", len(batch), error)
            for pair in batch:
                await self._commit([pair])
            return
        for _, future in batch:
            _settle(future, None)

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None or self._task.done():
            return
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
