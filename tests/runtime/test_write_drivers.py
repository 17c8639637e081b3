"""The two write drivers of `runtime.db.writes`, tested against each other.

The same writes — a batch of run records with an idempotency guard and audit entries
(`runtime.runs.writer.batch_plan`), then audit appends after the chain's head row was
deleted (the restore path of `runtime.audit.service.append_plan`) — go through the
SQLAlchemy session on one SQLite file and through the writer thread's plain sqlite3
connection on a copy of it. Every stored row must be the same, byte for byte; with the
clock of the audit entries held still, the hashes of the chain too.

It found one difference: a JSON column left out of an INSERT was SQL NULL through the
session and the JSON text 'null' through the sqlite3 driver (`_Prepared.row` now leaves
it NULL, as SQLAlchemy does).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import runtime.audit.service as audit_service
import runtime.runs.admission as admission
from runtime.audit.service import Event, append_plan, verify
from runtime.db.database import Database, SqliteTransaction
from runtime.db.migrate import upgrade
from runtime.db.models import FlowVersion
from runtime.db.writes import Plan, run_plan, run_plan_sqlite
from runtime.runs.admission import key_admission
from runtime.runs.writer import WriteSet, batch_plan
from tests.runtime.runs.test_costly_steps import Place
from tests.support.flows import chain, flow, template

TABLES = ("runs", "run_steps", "idempotency_keys", "audit_entries", "audit_head")
NOW = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC)


class StillClock(datetime):
    """The audit's clock, held at NOW (entries hash their time)."""

    @classmethod
    def now(cls, tz: Any = None) -> StillClock:  # type: ignore[override]
        return cls.fromtimestamp(NOW.timestamp(), tz)


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables the plans write, as SQLite stores them."""
    with sqlite3.connect(path) as connection:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in TABLES
        }


def write_sets(version: FlowVersion, workspace_id: str, author_id: str) -> list[WriteSet]:
    def run(run_id: str, **values: Any) -> dict[str, Any]:
        return {
            "id": run_id,
            "flow_id": version.flow_id,
            "version_id": version.id,
            "version_number": 1,
            "content_hash": version.content_hash,
            "workspace_id": workspace_id,
            "started_by": author_id,
            "status": "running",
            "is_test": False,
            "inputs": {"name": "Jürgen", "nested": [1, 2.5, None, {"ok": True}]},
            "worker_id": "test",
            "heartbeat_at": NOW,
            "started_at": NOW,
            "created_at": NOW,
            **values,
        }

    def step(run_id: str, node_id: str, **values: Any) -> dict[str, Any]:
        return {
            "id": f"{run_id}-{node_id}",
            "run_id": run_id,
            "node_id": node_id,
            "node_type": "template",
            **values,
        }

    later = NOW + timedelta(milliseconds=40)
    return [
        WriteSet(
            "run-a",
            insert_run=run("run-a"),
            insert_steps=[step("run-a", "start", status="succeeded", started_at=NOW, finished_at=later)],
            events=[Event(author_id, "run.started", "run", "run-a", version.content_hash, {"inputs": 2})],
            admission=key_admission(author_id, "key-1", "d" * 64),
        ),
        WriteSet(
            "run-b",
            insert_run=run("run-b", is_test=True),
            insert_steps=[step("run-b", "greet", status="running", started_at=NOW, finished_at=None)],
            update_steps=[{"node_id": "greet", "status": "succeeded", "outputs": {"text": "Grüß Gott"}}],
            update_run={"status": "succeeded", "outputs": {"text": "Grüß Gott"}, "total_tokens": 12},
            events=[
                Event(None, "run.started", "run", "run-b"),
                Event(None, "run.succeeded", "run", "run-b", detail={"duration_ms": 40.5}),
            ],
        ),
    ]


async def write_both_ways(
    tmp_path: Path, writes: Callable[[Database], Awaitable[list[Callable[[str], Plan[Any]]]]]
) -> tuple[Path, Path]:
    """A migrated SQLite file and a copy; each plan from `writes` runs on the first
    through the session, on the copy through the sqlite3 writer thread."""
    by_session, by_sqlite = tmp_path / "session.db", tmp_path / "sqlite.db"
    db = Database(f"sqlite+aiosqlite:///{by_session}")
    await upgrade(db.write_engine)
    plans = await writes(db)
    with sqlite3.connect(by_session) as source:
        source.execute("VACUUM INTO ?", (str(by_sqlite),))
    copy = Database(f"sqlite+aiosqlite:///{by_sqlite}")
    assert copy.sqlite_writer is not None
    try:
        for plan in plans:
            async with db.write() as session:
                await run_plan(plan("sqlite"), session)

            def on_thread(transaction: SqliteTransaction, plan: Callable[[str], Plan[Any]] = plan) -> None:
                run_plan_sqlite(plan("sqlite"), transaction)

            await copy.sqlite_writer.run(on_thread)
        for database in (db, copy):
            async with database.read() as session:
                assert (await verify(session)).ok
    finally:
        await db.dispose()
        await copy.dispose()
    return by_session, by_sqlite


async def test_both_drivers_store_the_same_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_service, "datetime", StillClock)
    # The guard's own row gets an id and times when it is written: the same on both sides.
    monkeypatch.setattr(admission, "new_id", lambda: "key-row-1")
    monkeypatch.setattr(admission, "utcnow", lambda: NOW)

    async def writes(db: Database) -> list[Callable[[str], Plan[Any]]]:
        place = await Place(db, f"sqlite+aiosqlite:///{tmp_path / 'session.db'}", tmp_path).prepare()
        version_id = await place.version(
            flow([template("greet", "Hallo")], chain("start", "greet")), "drivers"
        )
        async with db.read() as session:
            version = await session.get(FlowVersion, version_id)
        assert version is not None
        batch = write_sets(version, place.workspace_id, place.author_id)

        def delete_head(dialect: str) -> Plan[None]:
            yield text("DELETE FROM audit_head"), {}

        def after_restore(dialect: str) -> Plan[Any]:
            return append_plan([Event("board1", "version.approved", "flow_version", version_id)], dialect)

        return [lambda dialect: batch_plan(batch, dialect), delete_head, after_restore]

    by_session, by_sqlite = await write_both_ways(tmp_path, writes)

    stored = dump(by_session)
    assert len(stored["runs"]) == 2 and len(stored["run_steps"]) == 2 and len(stored["idempotency_keys"]) == 1
    actions = [row[3] for row in stored["audit_entries"]]
    assert actions[-5:] == [
        "run.started",
        "run.started",
        "run.succeeded",
        "audit.head.restored",
        "version.approved",
    ]
    assert stored == dump(by_sqlite)


async def test_a_refused_plan_writes_nothing_on_either_driver(tmp_path: Path) -> None:
    """Bad input is refused before the first statement, the same way on both drivers."""
    secret = [Event(None, "run.started", detail={"api_key": "x"})]
    by_session, by_sqlite = await write_both_ways(tmp_path, _no_writes)
    for path in (by_session, by_sqlite):
        database = Database(f"sqlite+aiosqlite:///{path}")
        try:
            with pytest.raises(ValueError, match="must not hold secrets"):
                async with database.write() as session:
                    await run_plan(append_plan(secret, "sqlite"), session)
            assert database.sqlite_writer is not None
            with pytest.raises(ValueError, match="must not hold secrets"):
                await database.sqlite_writer.run(
                    lambda transaction: run_plan_sqlite(append_plan(secret, "sqlite"), transaction)
                )
        finally:
            await database.dispose()
        assert dump(path)["audit_entries"] == []


async def _no_writes(db: Database) -> list[Callable[[str], Plan[Any]]]:
    return []
