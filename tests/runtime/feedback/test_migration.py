"""Migration 0005_feedback_monitoring: up, down to the revision before it, up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from runtime.db.database import Database
from runtime.db.migrate import alembic_config, upgrade

INDEXES = {"ix_runs_monitoring", "ix_run_steps_connector"}


async def schema(db: Database) -> tuple[set[str], set[str]]:
    """The tables, and the indexes of `runs` and `run_steps`."""

    def read(sync: object) -> tuple[set[str], set[str]]:
        inspector = inspect(sync)
        indexes = {index["name"] for table in ("runs", "run_steps") for index in inspector.get_indexes(table)}
        return set(inspector.get_table_names()), indexes

    async with db.write_engine.connect() as connection:
        return await connection.run_sync(read)


async def test_the_migration_goes_down_and_up_again(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db.write_engine)
        tables, indexes = await schema(db)
        assert "run_feedback" in tables and indexes >= INDEXES

        def downgrade(connection) -> None:  # type: ignore[no-untyped-def]
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0005_feedback_monitoring-1")

        async with db.write_engine.begin() as connection:
            await connection.run_sync(downgrade)
        tables, indexes = await schema(db)
        assert "run_feedback" not in tables and not INDEXES & indexes
        assert "runs" in tables
        await upgrade(db.write_engine)
        tables, indexes = await schema(db)
        assert "run_feedback" in tables and indexes >= INDEXES
    finally:
        await db.dispose()
