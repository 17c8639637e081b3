"""Model endpoints across two real runtime processes on one database (SQLite here,
PostgreSQL when the suite runs with `DIRIGENT_TEST_DATABASE_URL`).

An admin registers, changes and removes an endpoint at process A; process B (its own
memory, its own cached clients) runs a flow with it within one sweep interval: the change
bumps a counter in the database, and B's sweep reloads when the counter moved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.db.database import Database
from runtime.db.migrate import upgrade
from runtime.users.service import add_user
from tests.support.messages_api_double import MessagesApiDouble
from tests.support.runtime_processes import RuntimeProcess
from tests.support.scenario import _module_database, qa_flow

# timing: the bound of one sweep interval (plus scheduling room) is wall-clock; run alone,
# as latency tests are. How many runs reach a removed endpoint *before* the sweep is not
# asserted (that depends on the machine's load); that none does *after* it, is.
pytestmark = [pytest.mark.slow, pytest.mark.timing]

PASSWORD = "correct-horse-battery"
SWEEP_S = 0.5
# One sweep interval, plus room for a busy two-core machine to schedule the sweep and the run.
BOUND_S = SWEEP_S + 4.0
KEY = "sk-replica-test-4d1f"


async def _seed(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db.write_engine)
        async with db.write() as session:
            await add_user(session, "root", PASSWORD, "admin")
            await add_user(session, "ada", PASSWORD, "champion", "sales")
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def runtimes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RuntimeProcess, RuntimeProcess]]:
    tmp: Path = tmp_path_factory.mktemp("two-runtimes-models")
    with _module_database(tmp) as url:
        asyncio.run(_seed(url))
        env = {
            "DIRIGENT_DATABASE_URL": url,
            "DIRIGENT_DATA_DIR": str(tmp / "data"),  # one secret.key: both seal and open API keys
            "DIRIGENT_JWT_SECRET": "two-processes-" + "s" * 40,
            "DIRIGENT_SWEEP_INTERVAL_S": str(SWEEP_S),
            "DIRIGENT_EGRESS_ALLOW": "127.0.0.1",  # the model servers of this test
        }
        with RuntimeProcess(env) as first, RuntimeProcess(env) as second:
            yield first, second


class Caller:
    def __init__(self, runtime: RuntimeProcess, username: str) -> None:
        self.runtime = runtime
        answer = httpx.post(
            f"{runtime.url}/api/auth/login", json={"username": username, "password": PASSWORD}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        self.headers = {"Authorization": f"Bearer {answer.json()['token']}"}

    def call(self, method: str, path: str, status: int, body: Any = None) -> Any:
        answer = httpx.request(
            method, f"{self.runtime.url}{path}", headers=self.headers, json=body, timeout=60
        )
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()


def test_every_process_follows_an_admins_endpoint_changes_within_a_sweep(
    runtimes: tuple[RuntimeProcess, RuntimeProcess],
) -> None:
    a, b = runtimes
    admin_at_a, champion_at_b = Caller(a, "root"), Caller(b, "ada")
    document = qa_flow()
    document["nodes"][1]["config"]["model"] = "gpu"
    flow = Caller(a, "ada").call(
        "POST", "/api/workspaces/sales/flows", 201, {"name": "GPU", "slug": "gpu-flow", "document": document}
    )

    def test_run() -> dict[str, Any]:
        return champion_at_b.call(  # type: ignore[no-any-return]
            "POST", f"/api/flows/{flow['id']}/versions/1/runs", 200, {"inputs": {"question": "?"}}
        )

    def first_run_where(check: Any) -> tuple[dict[str, Any], float]:
        began = time.monotonic()
        while True:
            run = test_run()
            if check(run) or time.monotonic() - began > BOUND_S:
                return run, time.monotonic() - began
            time.sleep(0.05)

    with (
        MessagesApiDouble("first/model", api_key=KEY) as first,
        MessagesApiDouble("second/model") as second,
    ):
        first.reply("Antwort vom ersten Server.")
        second.reply("Antwort vom zweiten Server.")

        before = test_run()
        assert before["status"] == "failed" and before["error"]["code"] == "no_model_endpoint"

        # Registered at A: B serves it (with its key) within one sweep.
        admin_at_a.call(
            "POST", "/api/model-endpoints", 201, {"name": "gpu", "base_url": first.url, "api_key": KEY}
        )
        run, took = first_run_where(lambda run: run["status"] == "succeeded")
        assert run["status"] == "succeeded", run
        assert run["outputs"]["answer"] == "Antwort vom ersten Server." and took <= BOUND_S
        assert first.headers[-1]["authorization"] == f"Bearer {KEY}"

        # Changed at A (another server, no key): B follows.
        admin_at_a.call("PATCH", "/api/model-endpoints/gpu", 200, {"base_url": second.url, "api_key": None})
        run, took = first_run_where(
            lambda run: (run.get("outputs") or {}).get("answer", "").startswith("Antwort vom zweiten")
        )
        assert run["outputs"]["answer"] == "Antwort vom zweiten Server." and took <= BOUND_S
        assert "authorization" not in second.headers[-1]

        # Removed at A: B stops using it, and once it has, it never goes back to it.
        admin_at_a.call("DELETE", "/api/model-endpoints/gpu", 200)
        run, took = first_run_where(lambda run: run["status"] == "failed")
        assert run["error"]["code"] == "no_model_endpoint" and run["error"]["model"] == "gpu", run
        assert took <= BOUND_S
        calls_when_b_saw_it = len(second.requests)
        for _ in range(3):
            time.sleep(SWEEP_S)
            assert test_run()["error"]["code"] == "no_model_endpoint"
        assert len(second.requests) == calls_when_b_saw_it
