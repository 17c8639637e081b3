"""Monitoring: how long `GET /api/monitoring`'s report takes over many runs.

Prints figures; asserts nothing. Seeds one workspace (SQLite in a temp dir by default, or
`--database-url`) with `--runs` runs (default 10,000) of 8 assistants by 40 people in 5
roles, spread over the last 90 days: 3 steps each (every third run calls a connector),
every tenth raises an approval task, every fifth has feedback; plus as many runs of a
second workspace, which the report must skip. Then it times the report (the service call
and its JSON encoding: best and median wall time of `--repeat`, and the best CPU time
of the process, which a busy machine disturbs less) for:

    30 days        the default range
    366 days       the longest range there may be
    30 days, flow  one assistant

once with the indexes migration 0005 adds (`ix_runs_monitoring`, covering what is counted
of a run, and the partial `ix_run_steps_connector`) and once with a plain index on
(workspace_id, created_at) instead (the baseline), and prints the size of the JSON answer.

    .venv/bin/python bench/monitoring.py
    .venv/bin/python bench/monitoring.py --runs 100000 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from runtime.db.database import Database  # noqa: E402
from runtime.db.migrate import upgrade  # noqa: E402
from runtime.db.models import (  # noqa: E402
    ApprovalTask,
    Flow,
    FlowVersion,
    Membership,
    Run,
    RunStep,
    User,
    Workspace,
    new_id,
    utcnow,
)
from runtime.feedback.models import RunFeedback  # noqa: E402
from runtime.monitoring.period import parse_period  # noqa: E402
from runtime.monitoring.service import monitoring  # noqa: E402

ROLES = ("user", "champion", "hr", "sales-lead", "einkauf")
STATES = ("succeeded",) * 16 + ("failed", "failed", "cancelled", "waiting")


async def seed(db: Database, runs: int) -> tuple[str, str]:
    rng = random.Random(5)
    now = utcnow()
    async with db.write() as session:
        workspaces = [Workspace(slug=slug, name=slug) for slug in ("bench", "other")]
        session.add_all(workspaces)
        people = [User(username=f"p{i}", password_hash="-", global_roles=[]) for i in range(40)]
        session.add_all(people)
        await session.flush()
        for i, person in enumerate(people):
            session.add(
                Membership(user_id=person.id, workspace_id=workspaces[0].id, role=ROLES[i % len(ROLES)])
            )
        flows = []
        for workspace in workspaces:
            for i in range(8):
                flow = Flow(
                    workspace_id=workspace.id,
                    name=f"Assistent {i}",
                    slug=f"{workspace.slug}-{i}",
                    created_by=people[0].id,
                )
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
                flow.live_version_id = version.id
                flows.append((workspace.id, flow.id, version.id))
        await session.flush()

        run_rows, step_rows, task_rows, feedback_rows = [], [], [], []
        for n in range(2 * runs):
            workspace_id, flow_id, version_id = flows[(n % 8) + (8 if n >= runs else 0)]
            created = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
            status = STATES[n % len(STATES)]
            person = people[n % len(people)]
            run_id = new_id()
            finished = (
                None if status == "waiting" else created + timedelta(milliseconds=rng.lognormvariate(7, 1))
            )
            run_rows.append(
                {
                    "id": run_id,
                    "flow_id": flow_id,
                    "version_id": version_id,
                    "version_number": 1,
                    "content_hash": "h" * 64,
                    "workspace_id": workspace_id,
                    "started_by": person.id,
                    "status": status,
                    "is_test": n % 50 == 0,
                    "inputs": {"q": "?"},
                    "total_tokens": rng.randint(50, 900),
                    "cancel_requested": False,
                    "created_at": created,
                    "started_at": created,
                    "finished_at": finished,
                }
            )
            for node, node_type in (
                ("start", "input"),
                ("answer", "llm"),
                ("crm" if n % 3 == 0 else "end", "connector" if n % 3 == 0 else "output"),
            ):
                step_rows.append(
                    {
                        "id": new_id(),
                        "run_id": run_id,
                        "node_id": node,
                        "node_type": node_type,
                        "status": "succeeded",
                    }
                )
            if n % 10 == 0:
                decided = rng.choice(("approved", "rejected", "expired", "open"))
                task_rows.append(
                    {
                        "id": new_id(),
                        "run_id": run_id,
                        "node_id": "check",
                        "workspace_id": workspace_id,
                        "title": "Freigabe",
                        "request": {},
                        "assignees": ["role:champion"],
                        "quorum": 1,
                        "status": decided,
                        "approvals": 0,
                        "revision": 0,
                        "created_at": created,
                        "resolved_at": None
                        if decided == "open"
                        else created + timedelta(minutes=rng.uniform(1, 600)),
                    }
                )
            if n % 5 == 0 and status != "waiting":
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
        for table, rows in (
            (Run, run_rows),
            (RunStep, step_rows),
            (ApprovalTask, task_rows),
            (RunFeedback, feedback_rows),
        ):
            for start in range(0, len(rows), 2000):
                await session.execute(insert(table), rows[start : start + 2000])
        return workspaces[0].id, flows[0][1]


async def time_report(
    db: Database, workspace_id: str, days: int, flow_id: str | None, repeat: int
) -> dict[str, Any]:
    now = utcnow()
    period = parse_period((now - timedelta(days=days - 1)).date().isoformat(), None, now=now)
    timings, cpu, size, total = [], [], 0, 0
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        async with db.read() as session:
            body = await monitoring(session, workspace_id, period, flow_id)
        encoded = json.dumps(body)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)  # all threads: SQLite's too
        size, total = len(encoded), body["summary"]["runs"]["total"]
    return {
        "best_ms": round(min(timings), 1),
        "median_ms": round(statistics.median(timings), 1),
        "cpu_ms": round(min(cpu), 1),
        "runs_counted": total,
        "json_kb": round(size / 1024, 1),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        try:
            await upgrade(db.write_engine)
            started = time.perf_counter()
            workspace_id, flow_id = await seed(db, args.runs)
            seeded_s = time.perf_counter() - started
            if db.dialect == "postgresql":
                async with db.write() as session:
                    await session.execute(text("ANALYZE"))
            cases = {"30 days": (30, None), "366 days": (366, None), "30 days, flow": (30, flow_id)}
            results: dict[str, Any] = {
                "database": db.dialect,
                "runs_per_workspace": args.runs,
                "seed_s": round(seeded_s, 1),
                "with_index": {},
                "without_index": {},
            }
            for name, (days, flow) in cases.items():
                results["with_index"][name] = await time_report(db, workspace_id, days, flow, args.repeat)
            async with db.write() as session:
                await session.execute(text("DROP INDEX ix_runs_monitoring"))
                await session.execute(text("DROP INDEX ix_run_steps_connector"))
                await session.execute(
                    text("CREATE INDEX bench_runs_workspace ON runs (workspace_id, created_at)")
                )
                if db.dialect == "postgresql":
                    await session.execute(text("ANALYZE runs"))
            for name, (days, flow) in cases.items():
                results["without_index"][name] = await time_report(db, workspace_id, days, flow, args.repeat)
            return results
        finally:
            await db.dispose()


def print_table(results: dict[str, Any]) -> None:
    print(
        f"monitoring report, {results['database']}, {results['runs_per_workspace']:,} runs in the workspace "
        f"(+ as many in another), seeded in {results['seed_s']} s"
    )
    header = f"{'with index: best / median / CPU ms':>38}{'baseline: best / median / CPU ms':>36}"
    print(f"{'range':<16}{'runs':>7}{header}{'JSON kB':>9}")
    for name, figures in results["with_index"].items():
        baseline = results["without_index"][name]
        ours = f"{figures['best_ms']} / {figures['median_ms']} / {figures['cpu_ms']}"
        theirs = f"{baseline['best_ms']} / {baseline['median_ms']} / {baseline['cpu_ms']}"
        print(f"{name:<16}{figures['runs_counted']:>7}{ours:>38}{theirs:>36}{figures['json_kb']:>9}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    figures = asyncio.run(main(arguments))
    if arguments.json:
        print(json.dumps(figures))
    else:
        print_table(figures)
