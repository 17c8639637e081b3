"""Read-only SQL with bound parameters, a row limit and a timeout.

Read-only is enforced by the database, not by looking at the statement:

* SQLite: only files inside `DIRIGENT_SQL_SQLITE_DIR` (default `<data_dir>-demo`) and
  never Dirigent's own data; the path is resolved first (`..`, symlinks), when the
  connection is saved and again at every call, and the resolved file is what is opened.
  The file is opened read-only (`mode=ro`, which also holds for ATTACHed files),
  `PRAGMA query_only` is on, and an authorizer admits only reads (SELECT, reading columns,
  functions, recursive CTEs) — so ATTACH, PRAGMA and writes are refused before they run.
  A progress handler interrupts a statement at its timeout.
* PostgreSQL: every session has `default_transaction_read_only = on` and a
  `statement_timeout`, and each query runs in a transaction begun `READ ONLY` (which a
  later statement cannot switch back). The server's address goes through the egress guard,
  and the URL's query may not name another host or port (`?host=` would replace the
  checked address): only `ssl`/`sslmode` are passed on.

The statement is fixed in the flow (not a template); values come in as bound parameters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import sqlite3
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, ResourceClosedError, SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from runtime.connections.egress import EgressGuard
from runtime.connections.errors import ActionNotAllowed, RemoteFailure, SqliteOutsideDir
from runtime.connections.kinds import POSTGRES_QUERY_KEYS, SqlSettings

_READS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}


def _plain(value: Any) -> Any:
    """A JSON-friendly value for a result cell."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value) if value % 1 else int(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    return str(value)


def sqlite_file(database: str, sqlite_dir: Path | None, forbidden: tuple[Path, ...] = ()) -> Path:
    """The file a SQLite URL's `database` names, resolved (`..` and symlinks followed; a
    relative name is relative to `sqlite_dir`) and checked: inside `sqlite_dir`, never in
    one of the `forbidden` places (Dirigent's data dir and database)."""
    if sqlite_dir is None:
        raise SqliteOutsideDir("SQLite files are not allowed: no directory for them is configured")
    allowed = sqlite_dir.expanduser().resolve()
    path = (allowed / Path(database).expanduser()).resolve()
    for place in forbidden:
        resolved = place.resolve()
        if path == resolved or resolved in path.parents or allowed == resolved or resolved in allowed.parents:
            raise SqliteOutsideDir(
                f"the SQLite file {path.name} is in Dirigent's own data; connections may not read it"
            )
    if allowed not in path.parents:
        raise SqliteOutsideDir(
            f"SQLite files must be inside {allowed} (DIRIGENT_SQL_SQLITE_DIR); "
            f"{database} is not, once links and '..' are followed"
        )
    return path


class SqlReader:
    def __init__(
        self,
        name: str,
        settings: SqlSettings,
        secrets: Mapping[str, str],
        guard: EgressGuard,
        *,
        forbidden: tuple[Path, ...] = (),
        own_database: URL | None = None,
        sqlite_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.secrets = secrets
        self.guard = guard
        self.url = make_url(settings.url)
        self.forbidden = forbidden
        self.own_database = own_database
        self.sqlite_dir = sqlite_dir

    @property
    def host(self) -> str:
        return self.url.host or ("sqlite" if self.url.get_backend_name() == "sqlite" else "")

    async def query(
        self, statement: str, params: Mapping[str, Any], max_rows: int | None = None
    ) -> dict[str, Any]:
        if not statement.strip():
            raise ActionNotAllowed("the SQL statement is empty", code="sql_empty")
        limit = min(max_rows or self.settings.max_rows, self.settings.max_rows)
        if self.url.get_backend_name() == "sqlite":
            return await asyncio.to_thread(self._sqlite, statement, dict(params), limit)
        return await self._postgres(statement, dict(params), limit)

    # -- SQLite -----------------------------------------------------------------------
    def _sqlite_path(self) -> Path:
        try:
            path = sqlite_file(self.url.database or "", self.sqlite_dir, self.forbidden)
        except SqliteOutsideDir as refused:
            raise SqliteOutsideDir(f"connection '{self.name}': {refused.message}") from None
        if not path.is_file():
            raise RemoteFailure(
                f"the SQLite file of connection '{self.name}' does not exist",
                code="sqlite_missing",
                connection=self.name,
            )
        return path

    def _sqlite(self, statement: str, params: dict[str, Any], limit: int) -> dict[str, Any]:
        path = self._sqlite_path()
        deadline = time.monotonic() + self.settings.timeout_s
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=self.settings.timeout_s)
        try:
            connection.execute("PRAGMA query_only = ON")
            connection.set_authorizer(
                lambda action, *_: sqlite3.SQLITE_OK if action in _READS else sqlite3.SQLITE_DENY
            )
            connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
            try:
                cursor = connection.execute(statement, params)
                rows = cursor.fetchmany(limit + 1)
            except sqlite3.DatabaseError as error:
                message = str(error)
                if "interrupted" in message:
                    raise RemoteFailure(
                        f"the query took longer than {self.settings.timeout_s:g} s",
                        code="sql_timeout",
                        timeout_s=self.settings.timeout_s,
                    ) from None
                if "not authorized" in message or "readonly" in message or "read-only" in message:
                    raise ActionNotAllowed(
                        f"connection '{self.name}' is read-only: {message}",
                        code="sql_read_only",
                        connection=self.name,
                        detail=message,
                    ) from None
                raise ActionNotAllowed(
                    f"the query failed: {message}", code="sql_failed", detail=message
                ) from None
            columns = [column[0] for column in cursor.description or ()]
        finally:
            connection.close()
        return self._result(columns, rows, limit)

    # -- PostgreSQL -------------------------------------------------------------------
    async def _postgres(self, statement: str, params: dict[str, Any], limit: int) -> dict[str, Any]:
        host, port = self.url.host or "localhost", self.url.port or 5432
        address = str((await self.guard.addresses(host, port))[0])
        if await self._is_own_database(host, port, address):
            raise ActionNotAllowed(
                f"connection '{self.name}' points at Dirigent's own database; that is not allowed",
                code="sql_own_database",
                connection=self.name,
            )
        url: URL = self.url.set(
            drivername="postgresql+asyncpg",
            host=address,
            port=port,
            password=self.secrets.get("password"),
            query={key: value for key, value in self.url.query.items() if key in POSTGRES_QUERY_KEYS},
        )
        timeout_ms = int(self.settings.timeout_s * 1000)
        engine = create_async_engine(
            url,
            poolclass=NullPool,
            connect_args={
                "timeout": self.settings.timeout_s,
                "server_settings": {
                    "default_transaction_read_only": "on",
                    "statement_timeout": str(timeout_ms),
                    "application_name": "dirigent-connector",
                },
            },
        )
        try:
            async with asyncio.timeout(self.settings.timeout_s + 2), engine.connect() as connection:
                await connection.execute(text("SET TRANSACTION READ ONLY"))
                # A first query takes the snapshot: from now on no statement can switch the
                # transaction to READ WRITE ("must be called before any query").
                await connection.execute(text("SELECT 1"))
                result = await connection.stream(text(statement), params)
                rows = await result.fetchmany(limit + 1)
                columns = list(result.keys())
                await connection.rollback()
        except TimeoutError:
            raise RemoteFailure(
                f"the query took longer than {self.settings.timeout_s:g} s",
                code="sql_timeout",
                timeout_s=self.settings.timeout_s,
            ) from None
        except (DBAPIError, asyncpg.PostgresError) as error:
            raise self._postgres_error(host, error) from None
        except ResourceClosedError:
            raise ActionNotAllowed(
                "the statement returned no rows; sql connections run queries (SELECT)", code="sql_no_rows"
            ) from None
        except (SQLAlchemyError, OSError, asyncpg.InterfaceError) as error:
            raise RemoteFailure(
                f"cannot query {host} ({type(error).__name__})",
                code="sql_cannot_query",
                host=host,
                detail=type(error).__name__,
            ) from None
        finally:
            await engine.dispose()
        return self._result(columns, [tuple(row) for row in rows], limit)

    def _postgres_error(self, host: str, error: Exception) -> Exception:
        """A server's refusal in words: read-only and bad statements are the flow's doing."""
        original = getattr(error, "orig", None) or error
        message = (str(original).splitlines() or [type(original).__name__])[0]
        if "read-only" in message:
            return ActionNotAllowed(
                f"connection '{self.name}' is read-only: {message}",
                code="sql_read_only",
                connection=self.name,
                detail=message,
            )
        if "statement timeout" in message:
            return RemoteFailure(
                f"the query took longer than {self.settings.timeout_s:g} s",
                code="sql_timeout",
                timeout_s=self.settings.timeout_s,
            )
        if isinstance(
            original,
            asyncpg.PostgresConnectionError
            | asyncpg.InvalidAuthorizationSpecificationError
            | asyncpg.InvalidPasswordError,
        ):
            return RemoteFailure(
                f"cannot connect to {host}: {message}", code="sql_cannot_connect", host=host, detail=message
            )
        return ActionNotAllowed(f"the query failed: {message}", code="sql_failed", detail=message)

    async def _is_own_database(self, host: str, port: int, address: str) -> bool:
        own = self.own_database
        if (
            own is None
            or own.get_backend_name() != "postgresql"
            or own.database != self.url.database
            or (own.port or 5432) != port
        ):
            return False
        own_host = own.host or "localhost"
        if own_host == host:
            return True
        try:
            return address in {raw.split("%", 1)[0] for raw in await self.guard.resolver(own_host, port)}
        except Exception:  # unresolvable: it cannot be the address we are about to use
            return False

    @staticmethod
    def _result(columns: list[str], rows: list[Any], limit: int) -> dict[str, Any]:
        truncated = len(rows) > limit
        records = [
            {column: _plain(value) for column, value in zip(columns, row, strict=False)}
            for row in rows[:limit]
        ]
        return {"columns": columns, "rows": records, "row_count": len(records), "truncated": truncated}
