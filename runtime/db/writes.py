"""Writes spelled once, run by either of two drivers.

Some writes are hot enough to have two ways to the database: SQLAlchemy's `AsyncSession`
(every backend), and on a SQLite file the plain sqlite3 connection of the writer thread
(`Database.sqlite_writer`: one hop to its thread per transaction instead of several per
statement, the write-behind of runs). Each such write is written once, as a *plan*: a
generator that yields the statements to run and is sent back each one's rows. It does no
I/O of its own, so it runs unchanged on either driver:

    run_plan(plan, session)             awaits each statement on the caller's session
    run_plan_sqlite(plan, transaction)  runs each one on the writer thread's transaction

A plan yields `(statement, params)` for one execution (it is sent the rows, `[]` for
none) or `Many(statement, rows)` for one executemany (it is sent `[]`), and may return a
value, which the driver returns. Rows come back as tuples on SQLite and as `Row`s on the
session; plans index them by position, which both support.

The plans: the audit chain's append (`runtime.audit.service`), a batch of run records
(`runtime.runs.writer`), a run's admission guard (`runtime.runs.admission`).
`tests/runtime/test_write_drivers.py` runs the same plans through both drivers and
compares the stored rows.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.database import SqliteTransaction

T = TypeVar("T")


@dataclass(frozen=True)
class Many:
    """One statement executed once per parameter set (an executemany)."""

    statement: Executable
    rows: list[dict[str, Any]]


# One execution: a statement and its parameters.
Statement = tuple[Executable, dict[str, Any]]
Plan = Generator[Statement | Many, list[Any], T]


async def run_plan(plan: Plan[T], session: AsyncSession) -> T:
    """Drive `plan` on an async session's transaction (the session flushes pending ORM
    changes before each statement, as its own `execute` does)."""
    rows: list[Any] | None = None
    while True:
        try:
            step = plan.send(rows)  # type: ignore[arg-type]
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if isinstance(step, Many):
            await session.execute(step.statement, step.rows)
            rows = []
        else:
            statement, params = step
            result = await session.execute(statement, params)
            # DELETE and UPDATE return no rows (reading them would raise); a SELECT of the
            # ORM answers with a result that always has rows.
            rows = list(result.all()) if getattr(result, "returns_rows", True) else []


def run_plan_sqlite(plan: Plan[T], transaction: SqliteTransaction) -> T:
    """Drive `plan` in a transaction of the SQLite writer thread."""
    rows: list[Any] | None = None
    while True:
        try:
            step = plan.send(rows)  # type: ignore[arg-type]
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if isinstance(step, Many):
            transaction.executemany(step.statement, step.rows)
            rows = []
        else:
            rows = transaction.execute(*step)
