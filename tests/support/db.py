"""Database fixtures: a fresh, empty database for every test, and a migrated `Database` on it.

    database_url   a URL for SQLAlchemy's async engines, nothing in the database yet
    db             a `runtime.db.database.Database` on it, migrated to head, disposed after

By default the database is a new SQLite file in the test's `tmp_path`. With
`DIRIGENT_TEST_DATABASE_URL` set to a PostgreSQL URL (`scripts/postgres-test-server.sh start`
prints one), each test gets a database of its own on that server: created, from
`template0`, through the URL's database (or `postgres`, or `template1`), and dropped after
the test, even a failed one, with its connections closed by force. The role in the URL must
be allowed to create databases. Test runs that share a server do not collide: every name is
unique (`dirigent_test_<pid>_<random>`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url

from runtime.db.database import Database
from runtime.db.migrate import upgrade

ENV_VAR = "DIRIGENT_TEST_DATABASE_URL"
ADMIN_DATABASES = ("postgres", "template1")

T = TypeVar("T")


def _run_in_thread(work: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a loop of its own, away from the test's loop.

    Keeps `database_url` a plain fixture that sync and async tests can both use, without
    touching the event loop pytest-asyncio manages.
    """

    async def main() -> T:
        return await work()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def _postgres_url(raw: str) -> URL | None:
    """The URL as `postgresql+asyncpg`, or None if it names SQLite (use the default)."""
    url = make_url(raw)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return None
    if backend not in ("postgresql", "postgres"):
        raise pytest.UsageError(
            f"{ENV_VAR} must be a PostgreSQL URL (postgresql+asyncpg://user@host:port/db) "
            f"or unset for SQLite, not a {backend!r} URL"
        )
    return url.set(drivername="postgresql+asyncpg")


def _asyncpg_dsn(url: URL, database: str) -> str:
    return url.set(drivername="postgresql", database=database).render_as_string(hide_password=False)


async def _admin_connection(url: URL) -> asyncpg.Connection:
    candidates = [url.database] if url.database else []
    candidates += [name for name in ADMIN_DATABASES if name not in candidates]
    errors = []
    for database in candidates:
        try:
            return await asyncpg.connect(_asyncpg_dsn(url, database), timeout=15)
        except (TimeoutError, OSError, asyncpg.PostgresError) as error:
            errors.append(f"{database}: {error}")
    raise RuntimeError(
        f"cannot connect to the PostgreSQL server of {ENV_VAR} "
        f"({url.render_as_string(hide_password=True)}): " + "; ".join(errors)
    )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _create_database(url: URL, name: str) -> None:
    connection = await _admin_connection(url)
    try:
        # template0 never has connections, so concurrent creators cannot block each other.
        await connection.execute(f"CREATE DATABASE {_quoted(name)} TEMPLATE template0")
    finally:
        await connection.close()


async def _drop_database(url: URL, name: str) -> None:
    connection = await _admin_connection(url)
    try:
        if connection.get_server_version().major >= 13:
            await connection.execute(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")
        else:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            await connection.execute(f"DROP DATABASE IF EXISTS {_quoted(name)}")
    finally:
        await connection.close()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A URL of a new, empty database (SQLite file, or a PostgreSQL database of its own)."""
    server = _postgres_url(os.environ.get(ENV_VAR, "") or "sqlite://")
    if server is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'dirigent.db'}"
        return

    name = f"dirigent_test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    _run_in_thread(lambda: _create_database(server, name))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        last_error: Exception | None = None
        for _attempt in range(3):
            try:
                _run_in_thread(lambda: _drop_database(server, name))
                break
            except Exception as error:  # a leaked database must not fail the test
                last_error = error
        else:
            warnings.warn(f"could not drop test database {name}: {last_error}", stacklevel=1)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A `Database` on `database_url`, migrated to head; disposed after the test."""
    database = Database(database_url)
    try:
        await upgrade(database.write_engine)
        yield database
    finally:
        await database.dispose()
