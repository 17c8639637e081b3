"""What the HTTP benchmarks share (bench/api.py, bench/load.py): a free port, and a database
with people and one assistant published the way a company publishes one — tested and
submitted by a champion, approved by a board member (four eyes), published."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def publish_assistant(
    settings: Any,
    document: dict[str, Any],
    slug: str,
    password: str,
    *,
    end_users: Iterable[str] = ("user",),
    comment: str = "benchmark",
) -> None:
    """Migrate `settings`' database; add `champion`, `board1` and `end_users` (workspace
    `sales`, all with `password`); take `document` as `slug` through the lifecycle."""
    from runtime.db.database import Database
    from runtime.db.migrate import upgrade
    from runtime.engine.compiled import FlowCache
    from runtime.flows import service as flows
    from runtime.policy.authorizer import Authorizer
    from runtime.testing.service import run_and_store_tests
    from runtime.users.service import add_user, load_actor

    db = Database(settings.resolved_database_url())
    authz = Authorizer()
    try:
        await upgrade(db.write_engine)
        async with db.write() as session:
            champion = await add_user(session, "champion", password, "champion", "sales")
            board = await add_user(session, "board1", password, "board")
            for person in end_users:
                await add_user(session, person, password, "user", "sales")
        async with db.write() as session:
            as_champion = await load_actor(session, champion.id)
            as_board = await load_actor(session, board.id)
            assert as_champion is not None and as_board is not None
            flow, version = await flows.create_flow(
                session, authz, as_champion, "sales", document["name"], slug, document
            )
        report = await run_and_store_tests(db, authz, FlowCache(), {}, as_champion, flow.id, version.number)
        assert report.passed, report  # only a tested version can be submitted
        async with db.write() as session:
            await flows.submit_version(session, authz, as_champion, flow.id, version.number)
        async with db.write() as session:
            await flows.review_version(
                session, authz, settings, as_board, flow.id, version.number, "approve", comment
            )
        async with db.write() as session:
            published = await flows.publish_version(session, authz, as_champion, flow.id, version.number)
            assert published.state == "published", published.state
    finally:
        await db.dispose()
