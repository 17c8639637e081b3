"""Every migration since the last release goes down and up again on a database with data in it.

Each migration has its own up-down-up test on an empty database; this one catches what only
data shows: on SQLite a batch-mode column change recreates the table, which foreign keys
refuse once other tables' rows refer to it.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import func, select

from runtime.db.database import Database
from runtime.db.migrate import alembic_config, upgrade
from runtime.db.models import Flow, FlowVersion, User, Workspace
from runtime.users.service import add_user
from tests.support.scenario import template_flow

LAST_RELEASE = "0005_feedback_monitoring"


def _downgrade(connection: Any, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_migrations_go_down_to_the_last_release_and_up_again_with_data(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db.write_engine)
        async with db.write() as session:
            ada = await add_user(session, "ada", "correct-horse-battery", "champion", "sales")
            workspace = (await session.execute(select(Workspace))).scalar_one()
            flow = Flow(workspace_id=workspace.id, name="Gruss", slug="gruss", created_by=ada.id)
            session.add(flow)
            await session.flush()
            session.add(
                FlowVersion(
                    flow_id=flow.id,
                    number=1,
                    content_hash="1" * 64,
                    document=template_flow(),
                    author_id=ada.id,
                )
            )

        async with db.write_engine.begin() as connection:
            await connection.run_sync(_downgrade, LAST_RELEASE)
        await upgrade(db.write_engine)

        async with db.read() as session:
            assert (await session.execute(select(func.count()).select_from(User))).scalar_one() == 1
            assert (await session.execute(select(FlowVersion.number))).scalars().all() == [1]
    finally:
        await db.dispose()
