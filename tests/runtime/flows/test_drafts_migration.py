"""Migration 0009_working_copies: flows that exist get a working copy equal to their newest
version; down and up again."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import inspect, select

from runtime.db.database import Database
from runtime.db.migrate import alembic_config, upgrade
from runtime.db.models import Flow, FlowVersion, User, Workspace
from runtime.flows.models import FlowDraft
from runtime.users.service import add_user
from tests.support.scenario import template_flow


def _to(connection: Any, revision: str, down: bool) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


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

        async with db.write() as session:
            await add_user(session, "ada", "correct-horse-battery", "champion", "sales")
            workspace = (await session.execute(select(Workspace))).scalar_one()
            ada = (await session.execute(select(User).where(User.username == "ada"))).scalar_one()
            flow = Flow(workspace_id=workspace.id, name="Gruss", slug="gruss", created_by=ada.id)
            session.add(flow)
            await session.flush()
            for number in (1, 2):
                session.add(
                    FlowVersion(
                        flow_id=flow.id,
                        number=number,
                        content_hash=f"{number:064d}",
                        document=template_flow(marker=f"v{number}"),
                        author_id=ada.id,
                    )
                )
            flow_id = flow.id

        await upgrade(db.write_engine)
        async with db.read() as session:
            draft = await session.get(FlowDraft, flow_id)
            assert draft is not None
            assert (draft.base_version, draft.revision, draft.updated_by) == (2, 1, ada.id)
            assert draft.document == template_flow(marker="v2")

        async with db.write_engine.begin() as connection:
            await connection.run_sync(_to, "0009_working_copies-1", True)
        assert "flow_drafts" not in await tables(db) and "flows" in await tables(db)
        await upgrade(db.write_engine)
        assert "flow_drafts" in await tables(db)
    finally:
        await db.dispose()
