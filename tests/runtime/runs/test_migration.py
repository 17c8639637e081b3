"""Migration 0006_durable_runs: up, down to the revision before it, up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from runtime.db.database import Database
from runtime.db.migrate import alembic_config, upgrade


async def schema(db: Database) -> tuple[set[str], set[str]]:
    """The tables, and the columns of `trigger_deliveries`."""

    def read(sync: object) -> tuple[set[str], set[str]]:
        inspector = inspect(sync)
        columns = {column["name"] for column in inspector.get_columns("trigger_deliveries")}
        return set(inspector.get_table_names()), columns

    async with db.write_engine.connect() as connection:
        return await connection.run_sync(read)


async def test_the_migration_goes_down_and_up_again(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db.write_engine)
        tables, columns = await schema(db)
        assert "idempotency_keys" in tables and "run_id" in columns

        def downgrade(connection) -> None:  # type: ignore[no-untyped-def]
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0006_durable_runs-1")

        async with db.write_engine.begin() as connection:
            await connection.run_sync(downgrade)
        tables, columns = await schema(db)
        assert "idempotency_keys" not in tables and "run_id" not in columns
        assert "runs" in tables and "signature_digest" in columns
        await upgrade(db.write_engine)
        tables, columns = await schema(db)
        assert "idempotency_keys" in tables and "run_id" in columns
    finally:
        await db.dispose()
