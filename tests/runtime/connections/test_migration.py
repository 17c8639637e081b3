"""Migration 0003_connections: up, down to the revision before it, up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from runtime.db.database import Database
from runtime.db.migrate import alembic_config, upgrade

TABLES = {"connections", "connection_calls", "triggers", "trigger_deliveries"}


async def tables(db: Database) -> set[str]:
    async with db.write_engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_the_migration_goes_down_and_up_again(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db.write_engine)
        assert await tables(db) >= TABLES

        def downgrade(connection) -> None:  # type: ignore[no-untyped-def]
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0003_connections-1")

        async with db.write_engine.begin() as connection:
            await connection.run_sync(downgrade)
        assert not TABLES & await tables(db)
        await upgrade(db.write_engine)
        assert await tables(db) >= TABLES
    finally:
        await db.dispose()
