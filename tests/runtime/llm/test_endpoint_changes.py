"""How a process learns of endpoint changes another process made: the change counter,
read by every sweep (`ModelEndpointRegistry.refresh`), and migration 0018 that adds it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, select

from runtime.composition import Composition
from runtime.db import change_counters
from runtime.db.database import Database
from runtime.db.migrate import alembic_config, upgrade
from runtime.db.models import ChangeCounter, ModelEndpoint
from runtime.llm.client import HFChatModel
from runtime.settings import Settings

NEW_COLUMNS = {
    "created_by",
    "updated_at",
    "last_test_at",
    "last_test_ok",
    "last_test_error",
    "last_test_latency_ms",
}


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str) -> AsyncIterator[Composition]:
    """A runtime as `dirigent worker` builds one: no HTTP, its sweep called by the test."""
    built = Composition.build(
        Settings(data_dir=tmp_path / "data", database_url=database_url, llm_url=None, jwt_secret="x" * 40)
    )
    await built.startup(migrate=True, background=False)
    try:
        yield built
    finally:
        await built.shutdown()


def served(runtime: Composition) -> Any:
    llm = runtime.services["llm"]
    assert isinstance(llm, HFChatModel)
    return llm.endpoints


async def another_process_registers(db: Database, name: str, base_url: str) -> None:
    """What an admin's request at another process writes: the row and the counter, together."""
    async with db.write() as session:
        session.add(ModelEndpoint(name=name, base_url=base_url, model="m"))
        await change_counters.bump(session, change_counters.MODEL_ENDPOINTS)


async def test_the_sweep_reloads_when_the_counter_moved_and_only_then(runtime: Composition) -> None:
    assert served(runtime).names() == []
    await another_process_registers(runtime.db, "gpu", "http://gpu.invalid:8080")
    assert served(runtime).names() == []  # nothing tells this process but the database

    await runtime.runs.sweep()
    assert served(runtime).names() == ["gpu"]
    assert served(runtime).get("gpu").base_url == "http://gpu.invalid:8080"

    unchanged = served(runtime)
    await runtime.runs.sweep()
    assert served(runtime) is unchanged  # the counter did not move: no reload, clients stay

    # A row written without bumping the counter is not how changes are made; it waits for one.
    async with runtime.db.write() as session:
        session.add(ModelEndpoint(name="sneaky", base_url="http://sneaky.invalid", model="m"))
    await runtime.runs.sweep()
    assert served(runtime) is unchanged
    await another_process_registers(runtime.db, "cpu", "http://cpu.invalid")
    await runtime.runs.sweep()
    assert served(runtime).names() == ["cpu", "gpu", "sneaky"]


async def test_a_failing_reload_does_not_stop_the_sweep(
    runtime: Composition, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(session: Any, name: str) -> int:
        raise OSError("database went away")

    monkeypatch.setattr(change_counters, "read", broken)
    assert await runtime.runs.sweep() == []  # the rest of the sweep ran
    assert "could not reload the model endpoints" in caplog.text


async def test_the_migration_goes_down_and_up_again(database_url: str) -> None:
    db = Database(database_url)

    async def schema() -> tuple[set[str], set[str]]:
        async with db.write_engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: (
                    set(inspect(sync).get_table_names()),
                    {column["name"] for column in inspect(sync).get_columns("model_endpoints")},
                )
            )

    def downgrade(connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0018_model_endpoints-1")

    try:
        await upgrade(db.write_engine)
        tables, columns = await schema()
        assert "change_counters" in tables and columns >= NEW_COLUMNS
        async with db.write_engine.begin() as connection:
            await connection.run_sync(downgrade)
        tables, columns = await schema()
        assert "change_counters" not in tables and not NEW_COLUMNS & columns
        await upgrade(db.write_engine)
        async with db.read() as session:
            counters = (await session.execute(select(ChangeCounter.name, ChangeCounter.value))).all()
        assert [tuple(row) for row in counters] == [("model_endpoints", 0)]
    finally:
        await db.dispose()
