"""Runs viewer: how long an assistant's run list and one run's trace take over many runs.

Prints figures; asserts nothing. Seeds (SQLite in a temp dir by default, or
`--database-url`) one flow with `--runs` runs (default 20,000) by 40 people over 90 days,
3 steps each, every fifth with feedback and every fifteenth with a correction, and as many
runs of 7 other flows of the same workspace (which the list must skip); one run carries
steps with 200 KB payloads. Then it times, as a champion of the workspace (the policy's SQL
filter included) and as one end user (their own runs only), the best and median wall time
of `--repeat` calls of the service, JSON encoding included:

    first page      50 runs, newest first
    corrections     50 runs with a correction (`has_correction=true`)
    page 20         the 20th page of 50 (its cursor found beforehand)
    trace           one run whose steps carry 200 KB each (cut to the trace's bounds)

    .venv/bin/python bench/runs_viewer.py
    .venv/bin/python bench/runs_viewer.py --runs 100000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from runtime.db.database import Database  # noqa: E402
from runtime.db.migrate import upgrade  # noqa: E402
from runtime.db.models import Flow, FlowVersion, Membership, Run, RunStep, User, Workspace, new_id, utcnow  # noqa: E402
from runtime.feedback.models import RunFeedback  # noqa: E402
from runtime.policy.authorizer import Authorizer  # noqa: E402
from runtime.policy.resources import Actor  # noqa: E402
from runtime.runs.viewer import RunFilters, list_flow_runs, run_trace  # noqa: E402

BIG = 200_000


async def seed(db: Database, runs: int) -> tuple[str, str, Actor, Actor]:
    rng = random.Random(7)
    now = utcnow()
    async with db.write() as session:
        workspace = Workspace(slug="bench", name="bench")
        session.add(workspace)
        people = [User(username=f"p{i}", password_hash="-", global_roles=[]) for i in range(40)]
        session.add_all(people)
        await session.flush()
        session.add_all(
            Membership(user_id=person.id, workspace_id=workspace.id, role="champion" if i == 0 else "user")
            for i, person in enumerate(people)
        )
        flows = []
        for i in range(8):
            flow = Flow(workspace_id=workspace.id, name=f"A{i}", slug=f"a{i}", created_by=people[0].id)
            session.add(flow)
            await session.flush()
            version = FlowVersion(
                flow_id=flow.id,
                number=1,
                content_hash="h" * 64,
                document={},
                state="published",
                author_id=people[0].id,
            )
            session.add(version)
            await session.flush()
            flow.live_version_id = version.id  # live: its audience (the end user) may list runs
            flows.append((flow.id, version.id))
        run_rows, step_rows, feedback_rows = [], [], []
        big_run = ""
        for n in range(2 * runs):
            flow_id, version_id = flows[0] if n < runs else flows[1 + n % 7]
            created = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
            person = people[n % len(people)]
            run_id = new_id()
            big = n == 0
            big_run = run_id if big else big_run
            run_rows.append(
                {
                    "id": run_id,
                    "flow_id": flow_id,
                    "version_id": version_id,
                    "version_number": 1,
                    "content_hash": "h" * 64,
                    "workspace_id": workspace.id,
                    "started_by": person.id,
                    "status": "succeeded",
                    "is_test": n % 50 == 0,
                    "inputs": {"question": "Wann?"},
                    "outputs": {"answer": "Morgen."},
                    "total_tokens": rng.randint(50, 900),
                    "cancel_requested": False,
                    "created_at": created,
                    "started_at": created,
                    "finished_at": created + timedelta(milliseconds=rng.lognormvariate(7, 1)),
                }
            )
            for node, node_type in (("start", "input"), ("answer", "llm"), ("end", "output")):
                payload = {"text": "x" * BIG} if big else {"text": "Morgen."}
                step_rows.append(
                    {
                        "id": new_id(),
                        "run_id": run_id,
                        "node_id": node,
                        "node_type": node_type,
                        "status": "succeeded",
                        "inputs": payload,
                        "outputs": payload,
                        "usage": {"total_tokens": 19},
                    }
                )
            if n % 5 == 0:
                down = n % 15 == 0
                feedback_rows.append(
                    {
                        "id": new_id(),
                        "run_id": run_id,
                        "user_id": person.id,
                        "rating": "down" if down else "up",
                        "correction": "Besser so." if down else None,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
        for table, rows in ((Run, run_rows), (RunStep, step_rows), (RunFeedback, feedback_rows)):
            for start in range(0, len(rows), 2000):
                await session.execute(insert(table), rows[start : start + 2000])
    champion = Actor(id=people[0].id, username="p0", workspace_roles={workspace.id: frozenset({"champion"})})
    user = Actor(id=people[1].id, username="p1", workspace_roles={workspace.id: frozenset({"user"})})
    return flows[0][0], big_run, champion, user


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float, int]:
    timings, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = await call()
        size = len(result.model_dump_json())
        timings.append((time.perf_counter() - started) * 1000)
    return min(timings), statistics.median(timings), size


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--without-index",
        action="store_true",
        help="drop ix_runs_flow_created (migration 0017) first: the baseline",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        db = Database(url)
        await upgrade(db.write_engine)
        flow_id, big_run, champion, user = await seed(db, args.runs)
        if args.without_index:
            async with db.write() as session:
                await session.execute(text("DROP INDEX IF EXISTS ix_runs_flow_created"))
        authz = Authorizer()

        async def page(actor: Actor, filters: RunFilters, before: str | None = None) -> Any:
            async with db.read() as session:
                return await list_flow_runs(session, authz, actor, flow_id, filters, before=before)

        cursor = None
        for _ in range(19):
            cursor = (await page(champion, RunFilters(), cursor)).next_before

        async def trace() -> Any:
            async with db.read() as session:
                return (await run_trace(session, authz, champion, big_run))[1]

        index = "without" if args.without_index else "with"
        print(
            f"{args.runs:,} runs of the flow, {args.runs:,} of others; {db.dialect}, {index} "
            "ix_runs_flow_created; ms best / median"
        )
        cases = [
            ("first page (champion)", lambda: page(champion, RunFilters())),
            ("first page (end user)", lambda: page(user, RunFilters())),
            ("corrections (champion)", lambda: page(champion, RunFilters(has_correction=True))),
            ("page 20 (champion)", lambda: page(champion, RunFilters(), cursor)),
            ("trace, 200 KB steps", trace),
        ]
        for name, call in cases:
            best, median, size = await timed(call, args.repeat)
            print(f"  {name:<26} {best:8.1f} {median:8.1f}   answer {size / 1024:7.1f} KiB")
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
