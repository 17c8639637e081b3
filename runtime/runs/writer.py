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

On a SQLite file the batch is written by `Database.sqlite_writer` — one hop to its thread
per transaction instead of several per statement. Write sets that bring `extra` writes of
their own (approval tasks: rare) go through the async session, in a transaction of their
own, so that they do not slow down the rest of the batch. A run's admission guard (an
idempotency key, a webhook's replay guard: `runtime/runs/admission.py`) runs on either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, Update, bindparam, exists, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import Event, append_many, append_plan
from runtime.db.database import Database, SqliteTransaction
from runtime.db.models import Run, RunStep
from runtime.db.writes import Many, Plan, run_plan, run_plan_sqlite
from runtime.runs.admission import Admission, run_guard

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
    # Guard rows that must commit with the run's first row (after it), or refuse the run.
    admission: Admission | None = None


RUNS: Table = Run.__table__  # type: ignore[assignment]
STEPS: Table = RunStep.__table__  # type: ignore[assignment]
# Statement objects built once keep their compiled form cached (cheap to execute again).
_INSERT_RUNS = insert(RUNS)
_INSERT_STEPS = insert(STEPS)
_UPDATES: dict[tuple[str, tuple[str, ...]], Update] = {}


def _update_statement(table: Table, keys: tuple[str, ...], owned: bool = False) -> Update:
    """UPDATE of `keys` for a run (by id) or a step (by run and node), for executemany.

    `owned`: only while the run is claimed by `k_owner` (this process). A process whose
    claim was taken over (its heartbeats came too late) may still have a write under way;
    without this, its older state (say `waiting`) could overwrite what the process that
    drives the run now wrote (`succeeded`), and the run would wait for ever."""
    statement = _UPDATES.get((table.name + (":owned" if owned else ""), keys))
    if statement is None:
        owner = RUNS.c.worker_id == bindparam("k_owner")
        if table is RUNS:
            where = RUNS.c.id == bindparam("k_run")
            where = where & owner if owned else where
        else:
            where = (STEPS.c.run_id == bindparam("k_run")) & (STEPS.c.node_id == bindparam("k_node"))
            if owned:
                where = where & exists().where(RUNS.c.id == bindparam("k_run"), owner)
        statement = update(table).where(where).values({key: bindparam(f"v_{key}") for key in keys})
        _UPDATES[(table.name + (":owned" if owned else ""), keys)] = statement
    return statement


def _statements(batch: list[WriteSet], owner: str | None = None) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The batch's row writes as (statement, parameter sets): one executemany each; with
    `owner`, updates only of runs that `owner` holds (see `_update_statement`)."""
    statements: list[tuple[Any, list[dict[str, Any]]]] = []
    runs: dict[frozenset[str], list[dict[str, Any]]] = {}  # executemany needs the same keys
    for item in batch:
        if item.insert_run:
            runs.setdefault(frozenset(item.insert_run), []).append(item.insert_run)
    statements += [(_INSERT_RUNS, rows) for rows in runs.values()]
    steps = [row for item in batch for row in item.insert_steps]
    if steps:
        statements.append((_INSERT_STEPS, steps))
    groups: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
    for item in batch:
        for values in item.update_steps:
            keys = tuple(sorted(key for key in values if key != "node_id"))
            params = {"k_run": item.run_id, "k_node": values["node_id"]}
            if owner is not None:
                params["k_owner"] = owner
            params.update((f"v_{key}", values[key]) for key in keys)
            groups.setdefault((STEPS.name, keys), []).append(params)
    for item in batch:
        if item.update_run:
            keys = tuple(sorted(item.update_run))
            params = {"k_run": item.run_id, **{f"v_{key}": value for key, value in item.update_run.items()}}
            if owner is not None:
                params["k_owner"] = owner
            groups.setdefault((RUNS.name, keys), []).append(params)
    for (table_name, keys), rows in groups.items():
        table = RUNS if table_name == RUNS.name else STEPS
        statements.append((_update_statement(table, keys, owned=owner is not None), rows))
    return statements


def _rows_plan(batch: list[WriteSet], owner: str | None = None) -> Plan[None]:
    for statement, params in _statements(batch, owner):
        yield Many(statement, params)


def batch_plan(batch: list[WriteSet], dialect: str, owner: str | None = None) -> Plan[None]:
    """The batch's writes as one plan (`runtime.db.writes`): its rows, its admission
    guards, its audit entries; the same on either driver. `extra` writes are not in it:
    they need the session (`_write_batch`). `owner`: rows of runs are changed only while
    this process holds their claim."""
    yield from _rows_plan(batch, owner)
    for item in batch:
        if item.admission is not None:
            yield from item.admission.guard(item.run_id, dialect)
    yield from append_plan([event for item in batch for event in item.events], dialect)


async def _write_batch(
    session: AsyncSession, batch: list[WriteSet], dialect: str, owner: str | None = None
) -> None:
    if all(item.extra is None for item in batch):
        await run_plan(batch_plan(batch, dialect, owner), session)
        return
    # Each run's extra writes follow its admission guard, before the audit entries.
    await run_plan(_rows_plan(batch, owner), session)
    for item in batch:
        if item.admission is not None:
            await run_guard(item.admission.guard(item.run_id, dialect), session)
        if item.extra is not None:
            await item.extra(session)
    await append_many(session, [event for item in batch for event in item.events])


def _write_batch_sqlite(
    transaction: SqliteTransaction, batch: list[WriteSet], owner: str | None = None
) -> None:
    """`_write_batch` in a transaction of `Database.sqlite_writer` (no `extra` writes)."""
    run_plan_sqlite(batch_plan(batch, "sqlite", owner), transaction)


class RunWriter:
    def __init__(self, db: Database, owner: str | None = None) -> None:
        """`owner`: this process's worker id; runs and steps are then updated only while
        this process holds the run's claim."""
        self.db = db
        self.owner = owner
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
        sqlite = self.db.sqlite_writer
        if sqlite is not None and len(batch) > 1:
            plain = [pair for pair in batch if pair[0].extra is None]
            if plain and len(plain) < len(batch):  # the quick path for most, the session for the rest
                await self._commit(plain)
                await self._commit([pair for pair in batch if pair[0].extra is not None])
                return
        items = [item for item, _ in batch]
        try:
            if sqlite is not None and all(item.extra is None for item in items):
                await sqlite.run(lambda transaction: _write_batch_sqlite(transaction, items, self.owner))
            else:
                async with self.db.write() as session:
                    await _write_batch(session, items, self.db.dialect, self.owner)
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
