"""`dirigent serve --workers N`: N server processes on one port, each with its own worker id.

The test starts the real command (uvicorn's worker processes, each calling the app factory
and running the lifespan: migrations are done once, by the command, before), asks
`/health` with an admin's token until two different processes have answered, and stops the
command with SIGTERM: it ends cleanly (exit 0) and leaves no process behind.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime.db.database import Database
from runtime.db.migrate import upgrade
from runtime.users.service import add_user
from tests.support.runtime_processes import RuntimeProcess

pytestmark = pytest.mark.slow
PASSWORD = "correct-horse-battery"


async def _seed_admin(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db.write_engine)
        async with db.write() as session:
            await add_user(session, "root", PASSWORD, "admin", None)
    finally:
        await db.dispose()


def _health_requests(exposition: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == "dirigent_http_requests"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels.get("route") == "/health"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("worker_id", [None, "replica-a"])
def test_serve_with_two_workers_answers_from_two_processes_and_stops_cleanly(
    database_url: str, tmp_path: Path, worker_id: str | None
) -> None:
    asyncio.run(_seed_admin(database_url))
    env = {
        "DIRIGENT_DATABASE_URL": database_url,
        "DIRIGENT_DATA_DIR": str(tmp_path / "data"),
        "DIRIGENT_JWT_SECRET": "serve-workers-" + "w" * 40,
    }
    if worker_id:  # one id for the deployment: each process must still claim under its own
        env["DIRIGENT_WORKER_ID"] = worker_id
    # Each of uvicorn's processes imports the runtime afresh: slow on a busy machine.
    server = RuntimeProcess(env, workers=2, start_timeout_s=300)
    with server:
        login = httpx.post(
            f"{server.url}/api/auth/login", json={"username": "root", "password": PASSWORD}, timeout=30
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        before = _health_requests(httpx.get(f"{server.url}/metrics", timeout=30).text)
        seen: set[str] = set()
        asked = 0
        deadline = time.monotonic() + 60
        while len(seen) < 2 and time.monotonic() < deadline:
            # A new connection each time, so the kernel may hand it to either process.
            answer = httpx.get(f"{server.url}/health", headers=headers, timeout=30)
            asked += 1
            assert answer.status_code == 200, answer.text
            seen.add(answer.json()["worker"])
        assert len(seen) == 2, f"only {seen} answered"
        # Either process's /metrics counts the requests of both (a fresh multiprocess
        # directory per start): one process alone answered fewer than `asked`.
        scrape = httpx.get(f"{server.url}/metrics", timeout=30)
        assert scrape.status_code == 200, scrape.text
        assert _health_requests(scrape.text) - before == asked
        pids = {int(name.split(":")[-2 if worker_id is None else -1]) for name in seen}
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
        if worker_id:
            assert all(name.startswith(f"{worker_id}:") for name in seen), seen
        process = server.process
        assert process is not None
    assert process.returncode == 0, server.output[-3000:]
    assert "Application shutdown complete" in server.output
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids), "a worker process outlived `dirigent serve`"
