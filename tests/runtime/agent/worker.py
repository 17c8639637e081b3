"""A runtime process for the agent durability tests: `python -m tests.runtime.agent.worker ACTION ...`

Like a restarted runtime, it builds its own `Database`, `ConnectionService`, LLM service
(`DIRIGENT_LLM_URL`: the Messages API double of the test process) and `RunManager` on
`DIRIGENT_DATABASE_URL`, and does the actions in order:

    start:VERSION_ID   starts a run (inputs from `DIRIGENT_TEST_INPUTS`), waits until it
                       waits for a person, says so, and stays alive until it is killed
    sweep              one `sweep()` pass (resume decided runs, adopt orphans), then waits
                       for every run it resumed

With `DIRIGENT_TEST_CRASH_AFTER_SEND=1` the process dies (exit code 9) the moment a
connection call returns: the call is made and journaled, the loop has not gone on.
Every result is one JSON line on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from nodes.connector import ConnectorRequest, ConnectorResult
from nodes.registry import DEFAULT_REGISTRY
from runtime.connections.service import ConnectionService
from runtime.db.database import Database
from runtime.db.models import FlowVersion
from runtime.engine.compiled import FlowCache
from runtime.engine.executor import Engine
from runtime.llm import HFChatModel, ModelEndpoints
from runtime.runs.manager import RunManager
from runtime.settings import Settings

WAIT_S = 30.0


def say(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, default=str), flush=True)


def crash_after_send(service: ConnectionService) -> None:
    call = service.call

    async def call_then_die(request: ConnectorRequest) -> ConnectorResult:
        await call(request)
        say({"action": "crash", "after": request.action})
        os._exit(9)

    service.call = call_then_die  # type: ignore[method-assign]


async def main(actions: list[str]) -> None:
    settings = Settings()
    db = Database(settings.resolved_database_url())
    connections = ConnectionService(settings, db)
    if os.environ.get("DIRIGENT_TEST_CRASH_AFTER_SEND"):
        crash_after_send(connections)
    llm = HFChatModel(ModelEndpoints.from_settings(settings), guard=connections.guard)
    engine = Engine({"connections": connections, "llm": llm})
    manager = RunManager(db, settings, engine, FlowCache(DEFAULT_REGISTRY))
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
            elif name == "sweep":
                resumed = await manager.sweep()
                for run_id in resumed:
                    await manager.wait(run_id, WAIT_S)
                say({"action": "sweep", "resumed": resumed, "pid": os.getpid()})
            else:
                raise SystemExit(f"unknown action {action!r}; actions: start:VERSION_ID, sweep")
    finally:
        await manager.stop()
        await llm.aclose()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
