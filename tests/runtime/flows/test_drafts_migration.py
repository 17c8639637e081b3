"""Migration 0009_working_copies: flows that exist get a working copy equal to their newest
version; down and up again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import MetaData, insert, inspect

from runtime.db.database import Database
from runtime.db.migrate import alembic_config, upgrade
from runtime.db.models import new_id
from runtime.flows.models import FlowDraft
from tests.support.scenario import template_flow


def _to(connection: Any, revision: str, down: bool) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


def _old_rows(connection: Any) -> tuple[str, str]:
    """A workspace, a user and a flow with two versions, written into the old schema."""
    tables = MetaData()
    tables.reflect(connection, only=["workspaces", "users", "flows", "flow_versions"])
    now = datetime.now(UTC).replace(tzinfo=None)
    workspace_id, ada_id, flow_id = new_id(), new_id(), new_id()
    connection.execute(
        insert(tables.tables["workspaces"]).values(
            id=workspace_id, slug="sales", name="Sales", created_at=now
        )
    )
    connection.execute(
        insert(tables.tables["users"]).values(
            id=ada_id,
            username="ada",
            display_name="Ada",
            password_hash="x",
            global_roles=[],
            active=True,
            created_at=now,
        )
    )
    connection.execute(
        insert(tables.tables["flows"]).values(
            id=flow_id,
            workspace_id=workspace_id,
            name="Gruss",
            slug="gruss",
            created_by=ada_id,
            created_at=now,
        )
    )
    for number in (1, 2):
        connection.execute(
            insert(tables.tables["flow_versions"]).values(
                id=new_id(),
                flow_id=flow_id,
                number=number,
                content_hash=f"{number:064d}",
                document=template_flow(marker=f"v{number}"),
                author_id=ada_id,
                state="draft",
                revision=0,
                created_at=now,
            )
        )
    return flow_id, ada_id


async def tables(db: Database) -> set[str]:
    async with db.write_engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_existing_flows_get_a_working_copy_of_their_newest_version(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db.write_engine)
        async with db.write_engine.begin() as connection:
            await connection.run_sync(_to, "0009_working_copies-1", True)
        assert "flow_drafts" not in await tables(db)

        # Rows as the schema of that revision has them (reflected): the ORM models describe
        # the newest schema, whose later columns do not exist down here.
        async with db.write_engine.begin() as connection:
            flow_id, ada_id = await connection.run_sync(_old_rows)

        await upgrade(db.write_engine)
        async with db.read() as session:
            draft = await session.get(FlowDraft, flow_id)
            assert draft is not None
            assert (draft.base_version, draft.revision, draft.updated_by) == (2, 1, ada_id)
            assert draft.document == template_flow(marker="v2")

        async with db.write_engine.begin() as connection:
            await connection.run_sync(_to, "0009_working_copies-1", True)
        assert "flow_drafts" not in await tables(db) and "flows" in await tables(db)
        await upgrade(db.write_engine)
        assert "flow_drafts" in await tables(db)
    finally:
        await db.dispose()
