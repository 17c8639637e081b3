"""A second runtime process for durability tests: `python -m tests.support.worker ACTION ...`.

It builds its own `Database` and `RunManager` on `DIRIGENT_DATABASE_URL` (the SQLite file
or the PostgreSQL database of the test), the way a restarted runtime or another replica
would, compiles flows with `tests.support.flows.TEST_REGISTRY`, and does the actions in
order:

    resume:RUN_ID       `resume(run_id)`, then waits until the run stops being driven here
    sweep               one `sweep()` pass, then waits for every run it resumed
    start:VERSION_ID    starts a run of that version (inputs from `DIRIGENT_TEST_INPUTS`,
                        JSON), prints its events, and keeps the process alive with the
                        background sweep (heartbeats) until it is killed

Every result is one JSON line on stdout: `{"action": "resume", "run_id": ..., "resumed":
true}`, `{"action": "sweep", "resumed": [...]}`, `{"action": "started", "run_id": ...}`,
then `{"event": {...}}` per event of a started run. Settings come from the environment
(`DIRIGENT_ORPHAN_AFTER_S`, `DIRIGENT_SWEEP_INTERVAL_S`, `DIRIGENT_WORKER_ID`, ...); the
`sleep` test node sleeps `DIRIGENT_TEST_SLEEP_SCALE` times its configured seconds, and `llm`
nodes ask the model at `DIRIGENT_LLM_URL` (the Messages API double of the test) when it is set.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from runtime.db.database import Database
from runtime.db.models import FlowVersion
from runtime.engine.compiled import FlowCache
from runtime.engine.executor import Engine
from runtime.llm.client import HFChatModel, ModelEndpoints
from runtime.runs.manager import RunManager
from runtime.settings import Settings
from tests.support.flows import TEST_REGISTRY

WAIT_S = 30.0


def say(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, default=str), flush=True)


async def _start(manager: RunManager, version_id: str) -> None:
    async with manager.db.read() as session:
        version = await session.get(FlowVersion, version_id)
    assert version is not None, f"no flow version {version_id}"
    inputs = json.loads(os.environ.get("DIRIGENT_TEST_INPUTS", "{}"))
    run_id, queue = await manager.start(
        None, version, os.environ["DIRIGENT_TEST_WORKSPACE_ID"], inputs, listen=True
    )
    say({"action": "started", "run_id": run_id, "pid": os.getpid(), "worker": manager.worker_id})
    manager.start_background()  # keeps the run's heartbeat fresh while this process lives
    assert queue is not None
    async for event in manager.events(queue):
        say({"event": event})
    await asyncio.Event().wait()  # a started run's process lives until it is killed


async def main(actions: list[str]) -> None:
    settings = Settings()
    db = Database(settings.resolved_database_url())
    scale = float(os.environ.get("DIRIGENT_TEST_SLEEP_SCALE", "1"))
    services: dict[str, Any] = {"sleep_scale": scale}
    if settings.llm_url:
        services["llm"] = HFChatModel(ModelEndpoints.from_settings(settings))
    manager = RunManager(db, settings, Engine(services), FlowCache(TEST_REGISTRY))
    try:
        for action in actions:
            name, _, argument = action.partition(":")
            if name == "resume":
                resumed = await manager.resume(argument)
                await manager.wait(argument, WAIT_S)
                say({"action": "resume", "run_id": argument, "resumed": resumed, "pid": os.getpid()})
            elif name == "sweep":
                resumed_ids = await manager.sweep()
                for run_id in resumed_ids:
                    await manager.wait(run_id, WAIT_S)
                say({"action": "sweep", "resumed": resumed_ids, "pid": os.getpid()})
            elif name == "start":
                await _start(manager, argument)
            else:
                raise SystemExit(
                    f"unknown action {action!r}; actions: resume:RUN_ID, sweep, start:VERSION_ID"
                )
    finally:
        await manager.stop()
        if "llm" in services:
            await services["llm"].aclose()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
