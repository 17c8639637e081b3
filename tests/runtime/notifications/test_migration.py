"""Migration 0014_notifications: up, down to the revision before it, up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from runtime.db.database import Database
from runtime.db.migrate import alembic_config, upgrade

TABLES = {"notifications", "notification_mails", "notification_settings"}


async def schema(db: Database) -> tuple[set[str], set[str]]:
    """The tables, and the columns of `users`."""

    def read(sync: object) -> tuple[set[str], set[str]]:
        inspector = inspect(sync)
        return set(inspector.get_table_names()), {column["name"] for column in inspector.get_columns("users")}

    async with db.write_engine.connect() as connection:
        return await connection.run_sync(read)


async def test_the_migration_goes_down_and_up_again(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db.write_engine)
        tables, user_columns = await schema(db)
        assert tables >= TABLES and "email" in user_columns

        def downgrade(connection) -> None:  # type: ignore[no-untyped-def]
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0014_notifications-1")

        async with db.write_engine.begin() as connection:
            await connection.run_sync(downgrade)
        tables, user_columns = await schema(db)
        assert not TABLES & tables and "email" not in user_columns and "users" in tables
        await upgrade(db.write_engine)
        tables, user_columns = await schema(db)
        assert tables >= TABLES and "email" in user_columns
    finally:
        await db.dispose()
