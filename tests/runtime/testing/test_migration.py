"""Migration 0004_test_reports: up, down to the revision before it, up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from runtime.db.database import Database
from runtime.db.migrate import alembic_config, upgrade


async def tables(db: Database) -> set[str]:
    async with db.write_engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def indexes(db: Database) -> set[str]:
    async with db.write_engine.connect() as connection:
        found = await connection.run_sync(lambda sync: inspect(sync).get_indexes("test_reports"))
    return {index["name"] for index in found}


async def test_the_migration_goes_down_and_up_again(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db.write_engine)
        assert "test_reports" in await tables(db)
        assert {"ix_test_reports_flow_id", "ix_test_reports_version_mode_created"} <= await indexes(db)

        def downgrade(connection) -> None:  # type: ignore[no-untyped-def]
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0004_test_reports-1")

        async with db.write_engine.begin() as connection:
            await connection.run_sync(downgrade)
        remaining = await tables(db)
        assert "test_reports" not in remaining and {"connections", "flow_versions"} <= remaining
        await upgrade(db.write_engine)
        assert "test_reports" in await tables(db)
    finally:
        await db.dispose()
