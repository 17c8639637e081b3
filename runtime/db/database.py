"""The database handle: async engine, sessions, and the SQLite settings that make the
embedded default robust (WAL, busy timeout, foreign keys, `BEGIN IMMEDIATE` for writes).

Two session kinds:

* `db.read()` — a session for queries (on SQLite each statement is its own snapshot).
* `db.write()` — a transaction that commits on success and rolls back on any error, so
  nothing is ever half-written. On SQLite it starts with `BEGIN IMMEDIATE`: the write
  lock is taken up front, so two writers queue (busy timeout) instead of one failing
  with "database is locked" when it upgrades a read lock.

For the hot paths, on a SQLite file: `db.rows(query)` runs short indexed reads on a
plain connection of the calling thread (`SqlitePointReader`), and for writes of a lot
in one go (runs and their audit entries),
`db.sqlite_writer`: on a SQLite file, one dedicated thread with its own plain sqlite3
connection that runs a whole transaction per call. aiosqlite hops to its thread and
back for every cursor operation — three or four hops per statement, each costly on a
busy machine — where the dedicated writer hops once per transaction. `None` on other
backends (asyncpg needs no thread) and for in-memory databases or URLs with options (a
second connection could see another database).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import ClauseElement, Engine, Executable, Insert, Update, event
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.compiler import SQLCompiler

from runtime.private_files import private_sqlite

T = TypeVar("T")
Row = tuple[Any, ...]
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)


def _configure_sqlite(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver; we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    if immediate:

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    # Reads run without BEGIN: each SELECT is its own snapshot (WAL), which is all a read
    # session needs, and it saves two round trips to SQLite's thread per request.


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None)
    _configure_sqlite(engine.sync_engine, immediate=immediate)
    return engine


class _Prepared:
    """A Core statement compiled for SQLite: its SQL and, per positional parameter, how a
    value is made (given, bound in the statement, or the column's default) and stored
    (the type's bind processor — so values land exactly as SQLAlchemy would store them)."""

    def __init__(self, statement: ClauseElement, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        table = getattr(statement, "table", None)
        columns = table.c if isinstance(statement, Insert) and table is not None else {}
        # (name, value when not given — None: SQL NULL, how a value is stored)
        self.parameters: list[tuple[str, Callable[[], Any] | None, Callable[[Any], Any] | None]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            fallback = _constant(bind.value) if bind.value is not None else _default_of(columns.get(name))
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            # Most values are None (no error, no usage): process that once.
            self.parameters.append((name, fallback, _none_once(process) if process is not None else None))
        # For queries: how each selected column is read back (JSON decoded, booleans, times).
        selected = getattr(statement, "selected_columns", ())
        self.results = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected
        ]

    def row(self, values: dict[str, Any]) -> tuple[Any, ...]:
        row: list[Any] = []
        for name, fallback, processor in self.parameters:
            if name not in values and fallback is None:
                # SQLAlchemy leaves such a column out of its INSERT: SQL NULL, which for a
                # JSON column is not the JSON text 'null' that storing None would give.
                row.append(None)
                continue
            value = values[name] if name in values else fallback()  # type: ignore[misc]
            row.append(value if processor is None else processor(value))
        return tuple(row)

    def result(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        pairs = zip(row, self.results, strict=True)
        return tuple(value if process is None else process(value) for value, process in pairs)


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def _none_once(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    stored_none = processor(None)
    return lambda value: stored_none if value is None else processor(value)


def _default_of(column: Any) -> Callable[[], Any] | None:
    """How the column's Python-side default is made; None when it has none (SQL NULL)."""
    default = getattr(column, "default", None)
    if default is None:
        return None
    if default.is_callable:
        return lambda: default.arg(None)  # SQLAlchemy wraps it to take an execution context
    if default.is_scalar:
        return lambda: default.arg
    raise ValueError(f"column {column} has a default that needs the database; give its value")


class SqliteTransaction:
    """What `SqliteWriter.run` hands its work: Core statements run on one transaction of
    a plain sqlite3 connection. Each statement is compiled once per writer; SQLAlchemy's
    per-execution work, which costs more than SQLite's own, is skipped."""

    def __init__(self, connection: sqlite3.Connection, prepared: dict[Executable, _Prepared]) -> None:
        self.connection = connection
        self._prepared = prepared

    def _prepare(self, statement: Executable) -> _Prepared:
        prepared = self._prepared.get(statement)
        if prepared is None:
            prepared = self._prepared[statement] = _Prepared(statement, _SQLITE_DIALECT)  # type: ignore[arg-type]
        return prepared

    def executemany(self, statement: Executable, params: list[dict[str, Any]]) -> None:
        """`statement` once per parameter set; a missing INSERT value takes the column default."""
        prepared = self._prepare(statement)
        self.connection.executemany(prepared.sql, [prepared.row(values) for values in params])

    def execute(self, statement: Executable, params: dict[str, Any] | None = None) -> list[Any]:
        """`statement` once; returns its rows as the driver gives them (no result types)."""
        prepared = self._prepare(statement)
        return self.connection.execute(prepared.sql, prepared.row(params or {})).fetchall()


_SQLITE_DIALECT = SQLiteDialect_pysqlite()


class SqliteWriter:
    """One thread with one plain sqlite3 connection (WAL, synchronous=NORMAL, as the
    engines' connections); `run(work)` runs `work(SqliteTransaction)` there inside
    `BEGIN IMMEDIATE` ... `COMMIT` (rollback when `work` raises).

    The thread takes work from a queue and hands results back with
    `call_soon_threadsafe`: the least a hop can cost (a `ThreadPoolExecutor` adds an
    idle-worker semaphore and work-item bookkeeping to every call)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._prepared: dict[Executable, _Prepared] = {}
        self._queue: queue.SimpleQueue[_WriteCall | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def run(self, work: Callable[[SqliteTransaction], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="dirigent-sqlite-writer", daemon=True
                )
                self._thread.start()
            self._queue.put((work, loop, future))
        return await future

    def _serve(self) -> None:
        while (call := self._queue.get()) is not None:
            work, loop, future = call
            result, error = None, None
            try:
                result = self._transaction(work)
            except BaseException as exc:  # handed to the caller, whatever it is
                error = exc
            with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle, future, result, error)
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        for pragma in SQLITE_PRAGMAS:
            connection.execute(pragma)
        return connection

    def _transaction(self, work: Callable[[SqliteTransaction], T]) -> T:
        if self._connection is None:
            self._connection = self._connect()
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(SqliteTransaction(connection, self._prepared))
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return result

    def close(self) -> None:
        """Finish what was handed in, close the connection (`run` starts afresh)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join()


_WriteCall = tuple[Callable[["SqliteTransaction"], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller went away (cancelled)
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class SqlitePointReader:
    """Short, indexed reads (a user and their roles, an assistant's live version) on a
    plain sqlite3 connection of the calling thread, without leaving it.

    In WAL mode a reader never waits for writers, and such a read takes a few dozen
    microseconds: less than one hop to aiosqlite's thread and back, of which a query
    through it makes three or four. The connection is read-only and waits at most
    `busy_timeout_ms` for a lock (possible only around a checkpoint or a recovery);
    `rows` then raises `sqlite3.OperationalError` and the caller reads the usual way.
    """

    busy_timeout_ms = 20

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._prepared: dict[Executable, _Prepared] = {}

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA query_only=ON")
            connection.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
            self._local.connection = connection
        return connection

    def rows(self, statement: Executable, params: dict[str, Any] | None = None) -> list[Row]:
        prepared = self._prepared.get(statement)
        if prepared is None:
            prepared = self._prepared[statement] = _Prepared(statement, _SQLITE_DIALECT)  # type: ignore[arg-type]
        cursor = self._connection().execute(prepared.sql, prepared.row(params or {}))
        return [prepared.result(row) for row in cursor.fetchall()]

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


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
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        self.sqlite_writer: SqliteWriter | None = None
        self._point_reader: SqlitePointReader | None = None
        if self.dialect == "sqlite":
            self.read_engine = _sqlite_engine(url, immediate=False)
            self.write_engine = _sqlite_engine(url, immediate=True)
            if parsed.database and parsed.database != ":memory:" and not parsed.query:
                # 0600 before SQLite opens it: its WAL and SHM files get the same mode.
                if Path(parsed.database).parent.is_dir():
                    private_sqlite(parsed.database)
                self.sqlite_writer = SqliteWriter(parsed.database)
                self._point_reader = SqlitePointReader(parsed.database)
        else:
            self.read_engine = create_async_engine(url, pool_pre_ping=True, pool_size=10)
            self.write_engine = self.read_engine
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    async def rows(self, statement: Executable, params: dict[str, Any] | None = None) -> list[Row]:
        """The rows of a short, indexed query (hot paths: every request reads its caller).

        On a SQLite file it runs right here (`SqlitePointReader`); elsewhere, or when
        SQLite is busy, through a read session.
        """
        if self._point_reader is not None:
            try:
                return self._point_reader.rows(statement, params)
            except sqlite3.OperationalError:  # locked around a checkpoint: the usual way
                pass
        async with self.read() as session:
            return [tuple(row) for row in (await session.execute(statement, params or {})).all()]

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with self._write_sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        if self._point_reader is not None:
            self._point_reader.close()
        if self.sqlite_writer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.sqlite_writer.close)
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()
