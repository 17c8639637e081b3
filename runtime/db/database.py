"""The database handle: async engine, sessions, and the SQLite settings that make the
embedded default robust (WAL, busy timeout, foreign keys, `BEGIN IMMEDIATE` for writes).

Two session kinds:

* `db.read()` — a session for queries (on SQLite each statement is its own snapshot).
* `db.write()` — a transaction that commits on success and rolls back on any error, so
  nothing is ever half-written. On SQLite it starts with `BEGIN IMMEDIATE`: the write
  lock is taken up front, so two writers queue (busy timeout) instead of one failing
  with "database is locked" when it upgrades a read lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Update, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver; we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    if immediate:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    # Reads run without BEGIN: each SELECT is its own snapshot (WAL), which is all a read
    # session needs, and it saves two round trips to SQLite's thread per request.

    return engine


async def update_exactly_one(session: AsyncSession, statement: Update, conflict: str, code: str) -> None:
    """A compare-and-set: `statement` (an UPDATE whose WHERE names the expected state)
    must change exactly one row; otherwise someone else changed it first -> `Conflict`."""
    from runtime.errors import Conflict

    result = await session.execute(statement.execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(conflict, code=code)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        if self.dialect == "sqlite":
            self.read_engine = _sqlite_engine(url, immediate=False)
            self.write_engine = _sqlite_engine(url, immediate=True)
        else:
            self.read_engine = create_async_engine(url, pool_pre_ping=True, pool_size=10)
            self.write_engine = self.read_engine
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with self._write_sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()
