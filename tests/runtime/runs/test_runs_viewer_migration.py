"""Migration 0017_runs_viewer: up, down to the revision before it, up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from runtime.db.database import Database
from runtime.db.migrate import alembic_config, upgrade

INDEX = "ix_runs_flow_created"


async def run_indexes(db: Database) -> dict[str, list[str]]:
    def read(sync: object) -> dict[str, list[str]]:
        return {index["name"]: index["column_names"] for index in inspect(sync).get_indexes("runs")}

    async with db.write_engine.connect() as connection:
        return await connection.run_sync(read)


async def test_the_migration_goes_down_and_up_again(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db.write_engine)
        assert (await run_indexes(db))[INDEX] == ["flow_id", "created_at", "id"]

        def downgrade(connection) -> None:  # type: ignore[no-untyped-def]
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0017_runs_viewer-1")

        async with db.write_engine.begin() as connection:
            await connection.run_sync(downgrade)
        assert INDEX not in await run_indexes(db)
        await upgrade(db.write_engine)
        assert INDEX in await run_indexes(db)
    finally:
        await db.dispose()
