"""A runtime process for the sub-run durability test: `python -m tests.runtime.compose.worker ACTION`

Like a restarted runtime, it builds a whole `Composition` (its run manager, the `assistants`
service of the nodes) on `DIRIGENT_DATABASE_URL`, without background tasks, and does:

    start:VERSION_ID:USER_ID   starts a run for that user, waits until it waits, says so,
                               and stays alive until it is killed
    finish:RUN_ID              sweeps until that run has ended (at most 60 s), says how

Every result is one JSON line on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from runtime.composition import Composition
from runtime.db.models import FlowVersion, Run
from runtime.settings import Settings
from runtime.users.service import load_actor

ENDED = ("succeeded", "failed", "cancelled", "expired")


def say(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, default=str), flush=True)


async def main(actions: list[str]) -> None:
    root = Composition.build(Settings())
    await root.startup(migrate=False, background=False)
    try:
        for action in actions:
            name, _, argument = action.partition(":")
            if name == "start":
                version_id, user_id = argument.split(":")
                async with root.db.read() as session:
                    version = await session.get(FlowVersion, version_id)
                    actor = await load_actor(session, user_id)
                assert version is not None and actor is not None
                inputs = json.loads(os.environ.get("DIRIGENT_TEST_INPUTS", "{}"))
                run_id, _ = await root.runs.start(
                    actor, version, os.environ["DIRIGENT_TEST_WORKSPACE_ID"], inputs
                )
                await root.runs.wait(run_id, 30)
                say({"action": "waiting", "run_id": run_id})
                await asyncio.Event().wait()  # lives until it is killed
            elif name == "finish":
                deadline = time.monotonic() + 60
                status = "unknown"
                while time.monotonic() < deadline:
                    for resumed in await root.runs.sweep():
                        await root.runs.wait(resumed, 30)
                    async with root.db.read() as session:
                        run = await session.get(Run, argument)
                        status = run.status if run else "unknown"
                    if status in ENDED:
                        break
                    await asyncio.sleep(0.1)
                say({"action": "finish", "status": status})
            else:
                raise SystemExit(f"unknown action {action!r}; actions: start:VERSION:USER, finish:RUN")
    finally:
        await root.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
