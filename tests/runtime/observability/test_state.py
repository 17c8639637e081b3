"""The shared-state gauges when the database does not answer: `dirigent_state_up 0` and no
other gauge (never stale numbers, never an error page)."""

from __future__ import annotations

import socket
import time

from runtime.db.database import Database
from runtime.monitoring.metrics_state import SharedState
from tests.runtime.observability.scrape import family_names, samples, value


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nobody listens


async def test_a_database_that_does_not_answer_gives_state_up_0() -> None:
    db = Database(f"postgresql+asyncpg://dirigent:secret@127.0.0.1:{_closed_port()}/dirigent")
    try:
        text = (await SharedState(db, ttl_s=0).exposition()).decode()
    finally:
        await db.dispose()
    assert value(samples(text), "dirigent_state_up") == 0
    assert family_names(text) == {"dirigent_state_up"}
    assert "secret" not in text


async def test_a_database_that_hangs_gives_state_up_0_within_the_timeout() -> None:
    """A server that accepts connections and never answers (a hung database)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        db = Database(f"postgresql+asyncpg://dirigent:secret@127.0.0.1:{port}/dirigent")
        began = time.monotonic()
        try:
            text = (await SharedState(db, ttl_s=0, timeout_s=0.5).exposition()).decode()
        finally:
            await db.dispose()
    assert time.monotonic() - began < 5
    assert value(samples(text), "dirigent_state_up") == 0
