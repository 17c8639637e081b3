"""A second runtime process for the e-mail durability tests:
`python -m tests.runtime.connections.worker ACTION ...`

It builds its own `Database`, `ConnectionService` and `RunManager` on `DIRIGENT_DATABASE_URL`
the way a restarted runtime would (secret key from `DIRIGENT_SECRET_KEY`, egress allow list
from `DIRIGENT_EGRESS_ALLOW`), and does the actions in order:

    start:VERSION_ID   starts a run (inputs from `DIRIGENT_TEST_INPUTS`), waits until it
                       waits for its approval, says so, and stays alive until it is killed
    sweep              one `sweep()` pass (resume decided runs, adopt orphans), then waits
                       for every run it resumed
    fire               one pass over due schedule triggers, at `DIRIGENT_TEST_FIRE_AT` (unix
                       time, so that two processes race), then waits for the runs it started

With `DIRIGENT_TEST_CRASH_AFTER_SEND=1` the process dies (exit code 9, no clean-up) the
moment a connector call returns: the mail is out and journaled, the engine has not
recorded the step yet — the worst moment for a crash.

Every result is one JSON line on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from nodes.connector import ConnectorRequest, ConnectorResult
from nodes.registry import DEFAULT_REGISTRY
from runtime.connections.service import ConnectionService
from runtime.db.database import Database
from runtime.db.models import FlowVersion
from runtime.engine.compiled import FlowCache
from runtime.engine.executor import Engine
from runtime.runs.manager import RunManager
from runtime.runs.triggers import TriggerService
from runtime.settings import Settings

WAIT_S = 30.0


def say(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, default=str), flush=True)


def crash_after_send(service: ConnectionService) -> None:
    call = service.call

    async def call_then_die(request: ConnectorRequest) -> ConnectorResult:
        await call(request)
        say({"action": "crash", "after": request.node_id})
        os._exit(9)

    service.call = call_then_die  # type: ignore[method-assign]


async def main(actions: list[str]) -> None:
    settings = Settings()
    db = Database(settings.resolved_database_url())
    connections = ConnectionService(settings, db)
    if os.environ.get("DIRIGENT_TEST_CRASH_AFTER_SEND"):
        crash_after_send(connections)
    manager = RunManager(db, settings, Engine({"connections": connections}), FlowCache(DEFAULT_REGISTRY))
    try:
        for action in actions:
            name, _, argument = action.partition(":")
            if name == "start":
                async with db.read() as session:
                    version = await session.get(FlowVersion, argument)
                assert version is not None, f"no flow version {argument}"
                inputs = json.loads(os.environ.get("DIRIGENT_TEST_INPUTS", "{}"))
                run_id, _ = await manager.start(
                    None, version, os.environ["DIRIGENT_TEST_WORKSPACE_ID"], inputs
                )
                await manager.wait(run_id, WAIT_S)
                say({"action": "waiting", "run_id": run_id, "pid": os.getpid()})
                await asyncio.Event().wait()  # lives until it is killed
            elif name == "fire":  # one pass over due schedules, at DIRIGENT_TEST_FIRE_AT (unix time)
                await asyncio.sleep(
                    max(0.0, float(os.environ.get("DIRIGENT_TEST_FIRE_AT", "0")) - time.time())
                )
                started = await TriggerService(db, connections.box, connections.authz).fire_due(manager)
                for run_id in started:
                    await manager.wait(run_id, WAIT_S)
                say({"action": "fire", "started": started, "pid": os.getpid()})
            elif name == "sweep":
                resumed = await manager.sweep()
                for run_id in resumed:
                    await manager.wait(run_id, WAIT_S)
                say({"action": "sweep", "resumed": resumed, "pid": os.getpid()})
            else:
                raise SystemExit(f"unknown action {action!r}; actions: start:VERSION_ID, sweep, fire")
    finally:
        await manager.stop()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
