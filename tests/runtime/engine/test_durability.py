"""Run durability on the real database: waiting runs, decisions, resumption in another
process, crash recovery (kill -9), races between deciders, quorum, expiry, the audit chain.

The second process is `tests.support.worker` (a fresh `Database` + `RunManager` on the same
SQLite file, or the same PostgreSQL database when DIRIGENT_TEST_DATABASE_URL is set).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from runtime.approvals.service import decide
from runtime.audit.service import list_entries, verify
from runtime.db.database import Database
from runtime.db.models import (
    ApprovalTask,
    Flow,
    FlowVersion,
    Membership,
    Run,
    RunStep,
    TaskDecision,
    User,
    Workspace,
)
from runtime.engine.compiled import FlowCache
from runtime.engine.executor import Engine
from runtime.engine.validation import validate_document
from runtime.errors import Conflict, Forbidden, NotFound
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.runs.manager import RunManager
from runtime.settings import Settings
from runtime.users.service import get_or_create_workspace, load_actor
from tests.support.flows import TEST_REGISTRY, approval_flow, chain, edge, flow, node, template

ROOT = Path(__file__).resolve().parents[3]
OFFER = {"customer": "ACME", "amount": 1200}
PEOPLE = {"author": "sales", "rita": "sales", "ralf": "sales", "outsider": "hr"}
AUTHZ = Authorizer()


# -- fixtures and helpers ---------------------------------------------------------------
@dataclass
class World:
    db: Database
    database_url: str
    workspace_id: str
    actors: dict[str, Actor]
    tmp_path: Path

    async def version(self, document: dict[str, Any], slug: str) -> FlowVersion:
        """Store `document` as version 1 of a new flow (validated with the test registry)."""
        report = validate_document(document, TEST_REGISTRY)
        assert report.valid and report.document is not None and report.content_hash, report.errors
        async with self.db.write() as session:
            flow_row = Flow(
                workspace_id=self.workspace_id, name=slug, slug=slug, created_by=self.actors["author"].id
            )
            session.add(flow_row)
            await session.flush()
            version = FlowVersion(
                flow_id=flow_row.id,
                number=1,
                content_hash=report.content_hash,
                document=report.document.as_json(),
                state="published",
                author_id=self.actors["author"].id,
            )
            session.add(version)
        return version

    def manager(self, *, orphan_after_s: float = 60.0, sleep_scale: float = 1.0) -> RunManager:
        settings = Settings(
            data_dir=self.tmp_path,
            database_url=self.database_url,
            sweep_interval_s=0.1,
            orphan_after_s=orphan_after_s,
        )
        return RunManager(self.db, settings, Engine({"sleep_scale": sleep_scale}), FlowCache(TEST_REGISTRY))

    async def run(self, run_id: str) -> tuple[Run, dict[str, RunStep], list[ApprovalTask]]:
        async with self.db.read() as session:
            run = await session.get(Run, run_id)
            assert run is not None
            steps = (await session.execute(select(RunStep).where(RunStep.run_id == run_id))).scalars()
            tasks = (
                await session.execute(select(ApprovalTask).where(ApprovalTask.run_id == run_id))
            ).scalars()
            return run, {step.node_id: step for step in steps}, list(tasks)

    async def task(self, run_id: str) -> ApprovalTask:
        _, _, tasks = await self.run(run_id)
        [task] = tasks
        return task

    async def decide(
        self, who: str, task_id: str, decision: str, comment: str = "", payload: Any = None
    ) -> ApprovalTask:
        async with self.db.write() as session:
            return await decide(session, AUTHZ, self.actors[who], task_id, decision, comment, payload)

    async def decisions(self, task_id: str) -> int:
        async with self.db.read() as session:
            return (
                await session.execute(
                    select(func.count()).select_from(TaskDecision).where(TaskDecision.task_id == task_id)
                )
            ).scalar_one()

    async def assert_audit_intact(self) -> None:
        async with self.db.read() as session:
            result = await verify(session)
        assert result.ok, result
        assert result.entries > 0

    async def audit_actions(self, resource_id: str) -> list[str]:
        async with self.db.read() as session:
            entries = await list_entries(session, resource_id=resource_id, limit=1000)
        return [entry.action for entry in reversed(entries)]


@pytest.fixture
async def world(db: Database, database_url: str, tmp_path: Path) -> World:
    async with db.write() as session:
        users = {}
        for name, slug in PEOPLE.items():
            # Rows instead of `add_user`: nobody logs in here, and hashing a password costs 0.4 s.
            workspace = await get_or_create_workspace(session, slug)
            users[name] = User(username=name, display_name=name, password_hash="!", global_roles=[])
            session.add(users[name])
            await session.flush()
            session.add(Membership(user_id=users[name].id, workspace_id=workspace.id, role="user"))
        await session.flush()
        workspace_id = (
            await session.execute(select(Workspace.id).where(Workspace.slug == "sales"))
        ).scalar_one()
        actors = {name: await load_actor(session, user.id) for name, user in users.items()}
    return World(db, database_url, workspace_id, actors, tmp_path)  # type: ignore[arg-type]


@pytest.fixture
async def manager(world: World) -> AsyncIterator[RunManager]:
    runs = world.manager()
    yield runs
    await runs.stop()


async def start_waiting(
    world: World, runs: RunManager, version: FlowVersion, inputs: dict[str, Any] | None = None
) -> str:
    run_id, _ = await runs.start(world.actors["author"], version, world.workspace_id, inputs or OFFER)
    await runs.wait(run_id, 10)
    run, _, _ = await world.run(run_id)
    assert run.status == "waiting", run.error
    return run_id


async def until_finished(runs: RunManager, run_id: str) -> None:
    await runs.wait(run_id, 10)


def _worker_env(world: World, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DIRIGENT_")}
    env.update(
        {
            "DIRIGENT_DATABASE_URL": world.database_url,
            "DIRIGENT_DATA_DIR": str(world.tmp_path / "worker"),
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


async def second_process(world: World, *actions: str, **env: str) -> list[dict[str, Any]]:
    """Run `tests.support.worker` with `actions` to its end; its JSON lines."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.worker",
        *actions,
        cwd=ROOT,
        env=_worker_env(world, **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


# -- a decision resumes the run in another process ------------------------------------
async def test_waiting_run_is_resumed_by_a_second_process_after_a_restart(world: World) -> None:
    version = await world.version(approval_flow(), "offers")
    first = world.manager()
    approved_run = await start_waiting(world, first, version)
    rejected_run = await start_waiting(world, first, version)

    # What the first process left behind: the run waiting, its task open, its steps stored.
    run, steps, [task] = await world.run(approved_run)
    assert run.worker_id == first.worker_id and run.finished_at is None and run.outputs is None
    assert {node_id: step.status for node_id, step in steps.items()} == {
        "start": "succeeded",
        "draft": "succeeded",
        "check": "waiting",
    }
    assert steps["check"].outputs == {"request": task.request}
    assert (task.node_id, task.status, task.quorum, task.approvals) == ("check", "open", 1, 0)
    assert task.due_at is None
    assert task.title == "Offer for ACME" and task.assignees == ["user:rita", "user:ralf"]
    assert task.request["payload"] == {"customer": "ACME", "amount": 1200}

    await first.stop()  # the first process goes away (a restart)

    edited = {"customer": "ACME GmbH", "amount": 990}
    decided = await world.decide("rita", task.id, "approve", "ok", payload=edited)
    assert decided.status == "approved" and decided.resolution == {
        "outcome": "approved",
        "comment": "ok",
        "payload": edited,
        "decided_by": ["rita"],
    }
    await world.decide("ralf", (await world.task(rejected_run)).id, "reject", "too cheap")
    run, _, _ = await world.run(approved_run)
    assert run.status == "waiting"  # nobody here resumes it

    results = await second_process(world, f"resume:{approved_run}", "sweep")

    other_pid = results[0]["pid"]
    assert other_pid != os.getpid()
    assert results == [
        {"action": "resume", "run_id": approved_run, "resumed": True, "pid": other_pid},
        {"action": "sweep", "resumed": [rejected_run], "pid": other_pid},
    ]

    run, steps, [task] = await world.run(approved_run)
    assert run.status == "succeeded", run.error
    assert f":{other_pid}:" in (run.worker_id or "")
    assert run.finished_at is not None and run.error is None
    assert run.outputs == {
        "decision": "approved",
        "payload": edited,
        "note": None,
        "escalated": None,
        "sent": "sent 990 to ACME GmbH (approved by rita: ok)",
    }
    assert {node_id: step.status for node_id, step in steps.items()} == {
        "start": "succeeded",
        "draft": "succeeded",
        "check": "succeeded",
        "send": "succeeded",
        "note": "skipped",
        "escalate": "skipped",
        "end": "succeeded",
    }
    assert steps["check"].outputs == {
        "decision": "approved",
        "comment": "ok",
        "payload": edited,
        "decided_by": ["rita"],
        "branch": "approved",
    }
    assert steps["send"].inputs is not None and steps["send"].inputs["check.payload"] == edited

    run, steps, [task] = await world.run(rejected_run)
    assert run.status == "succeeded", run.error
    assert run.outputs is not None
    assert run.outputs["note"] == "not sent: rejected" and run.outputs["sent"] is None
    assert steps["send"].status == "skipped" and steps["note"].status == "succeeded"
    assert task.status == "rejected" and task.resolution is not None
    assert task.resolution["decided_by"] == ["ralf"] and task.resolution["comment"] == "too cheap"

    assert await world.audit_actions(approved_run) == ["run.started", "run.waiting", "run.finished"]
    await world.assert_audit_intact()


# -- crash recovery --------------------------------------------------------------------
async def _events_until(process: asyncio.subprocess.Process, wanted: Any) -> list[dict[str, Any]]:
    assert process.stdout is not None
    lines: list[dict[str, Any]] = []
    while True:
        raw = await asyncio.wait_for(process.stdout.readline(), 60)
        assert raw, f"the worker ended early: {lines}"
        lines.append(json.loads(raw))
        if wanted(lines[-1]):
            return lines


async def test_a_run_of_a_killed_process_is_adopted_after_orphan_after_s(world: World) -> None:
    orphan_after_s = 1.5
    document = flow(
        # `pre` outlasts the flush interval after the run became visible (0.1 s) by far, so it
        # is stored even when that write itself is slow on a busy machine.
        [
            node("pre", "sleep", seconds=1.2),
            node("long", "sleep", seconds=30, timeout_s=120, text="{{ pre.pid }}"),
            node("end", "output"),
        ],
        chain("start", "pre", "long", "end"),
        outputs={"pre_pid": "{{ pre.pid }}", "long_pid": "{{ long.pid }}", "seen": "{{ long.text }}"},
    )
    version = await world.version(document, "naps")
    doomed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.worker",
        f"start:{version.id}",
        cwd=ROOT,
        env=_worker_env(
            world,
            DIRIGENT_TEST_INPUTS=json.dumps({"name": "Ada"}),
            DIRIGENT_TEST_WORKSPACE_ID=world.workspace_id,
            DIRIGENT_ORPHAN_AFTER_S=str(orphan_after_s),
            DIRIGENT_SWEEP_INTERVAL_S="0.1",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    survivor = world.manager(orphan_after_s=orphan_after_s, sleep_scale=0.01)
    try:
        lines = await _events_until(
            doomed,
            lambda line: line.get("event", {}).get("type") == "sleeping" and line["event"]["node"] == "long",
        )
        started = lines[0]
        run_id, doomed_pid = started["run_id"], started["pid"]
        assert doomed_pid == doomed.pid

        # Alive, the process keeps its run: its heartbeats stay fresh past orphan_after_s.
        await asyncio.sleep(orphan_after_s + 0.5)
        assert await survivor.sweep() == []
        run, steps, _ = await world.run(run_id)
        assert run.status == "running" and run.worker_id == started["worker"]
        # `pre` was flushed before `long` began (write-behind interval); `long` is in flight.
        assert {node_id: step.status for node_id, step in steps.items()} == {
            "start": "succeeded",
            "pre": "succeeded",
        }

        doomed.kill()  # SIGKILL: no shutdown, no release, no last heartbeat
        await doomed.wait()
        killed_at = time.monotonic()

        sweeps = 0
        while True:
            sweeps += 1
            if run_id in await survivor.sweep():
                break
            assert time.monotonic() - killed_at < 15, "the orphaned run was never adopted"
            await asyncio.sleep(0.1)
        waited = time.monotonic() - killed_at
        assert sweeps > 1 and waited >= orphan_after_s - 0.5, (sweeps, waited)

        await until_finished(survivor, run_id)
        run, steps, _ = await world.run(run_id)
        assert run.status == "succeeded", run.error
        assert run.worker_id == survivor.worker_id
        # `pre` is not run again; `long` is, here, and sees what `pre` stored.
        assert run.outputs == {"pre_pid": doomed_pid, "long_pid": os.getpid(), "seen": str(doomed_pid)}
        assert {step.status for step in steps.values()} == {"succeeded"}
        assert await world.audit_actions(run_id) == ["run.started", "run.finished"]
        await world.assert_audit_intact()
    finally:
        if doomed.returncode is None:
            doomed.kill()
            await doomed.wait()
        await survivor.stop()


async def _running(runs: RunManager, world: World, version: FlowVersion) -> str:
    run_id, queue = await runs.start(
        world.actors["author"], version, world.workspace_id, {"name": "Ada"}, listen=True
    )
    assert queue is not None
    async for event in runs.events(queue):
        if event.get("type") == "sleeping":
            break
    return run_id


async def test_a_run_released_at_shutdown_is_adopted_at_once_and_its_cancelled_step_runs_again(
    world: World,
) -> None:
    version = await world.version(
        flow(
            [
                node("long", "sleep", seconds=30, timeout_s=120),
                template("after", "done after {{ long.slept }}"),
            ],
            chain("start", "long", "after"),
            outputs={"text": "{{ after.text }}"},
        ),
        "release",
    )
    first = world.manager()
    run_id = await _running(first, world, version)
    await first.stop()

    run, steps, _ = await world.run(run_id)
    assert (run.status, run.worker_id, run.heartbeat_at) == ("running", None, None)
    assert {node_id: step.status for node_id, step in steps.items()} == {
        "start": "succeeded",
        "long": "cancelled",
    }

    second = world.manager(sleep_scale=0.01)  # no waiting for orphan_after_s: the run was released
    try:
        assert await second.sweep() == [run_id]
        await until_finished(second, run_id)
    finally:
        await second.stop()
    run, steps, _ = await world.run(run_id)
    assert run.status == "succeeded" and run.outputs == {"text": "done after 0.3"}
    assert steps["long"].status == "succeeded"


async def test_cancelling_a_running_run_records_the_interrupted_step(
    world: World, manager: RunManager
) -> None:
    version = await world.version(
        flow(
            [node("long", "sleep", seconds=30, timeout_s=120), template("after", "x")],
            chain("start", "long", "after"),
        ),
        "cancel",
    )
    run_id = await _running(manager, world, version)
    assert await manager.cancel(world.actors["author"], run_id) == "cancelled"
    run, steps, _ = await world.run(run_id)
    assert run.status == "cancelled" and run.finished_at is not None
    assert run.error is not None and run.error["kind"] == "Cancelled"
    assert {node_id: step.status for node_id, step in steps.items()} == {
        "start": "succeeded",
        "long": "cancelled",
    }
    with pytest.raises(Conflict):
        await manager.cancel(world.actors["author"], run_id)


# -- deciding -------------------------------------------------------------------------
async def test_two_concurrent_decisions_one_wins(world: World, manager: RunManager) -> None:
    version = await world.version(approval_flow(), "race")
    for _ in range(3):
        run_id = await start_waiting(world, manager, version)
        task = await world.task(run_id)

        results = await asyncio.gather(
            world.decide("rita", task.id, "approve", "yes"),
            world.decide("ralf", task.id, "reject", "no"),
            return_exceptions=True,
        )

        winners = [result for result in results if isinstance(result, ApprovalTask)]
        losers = [result for result in results if isinstance(result, Exception)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert isinstance(losers[0], Conflict) and losers[0].status_code == 409, losers[0]
        assert await world.decisions(task.id) == 1
        stored = await world.task(run_id)
        assert stored.status == winners[0].status in ("approved", "rejected")
        assert stored.revision == 1

        assert await manager.resume(run_id)
        await until_finished(manager, run_id)
        run, steps, _ = await world.run(run_id)
        assert run.status == "succeeded"
        assert run.outputs is not None and run.outputs["decision"] == stored.status
        assert steps["send" if stored.status == "approved" else "note"].status == "succeeded"
    await world.assert_audit_intact()


async def test_quorum_of_two_needs_two_different_approvers(world: World, manager: RunManager) -> None:
    version = await world.version(approval_flow(quorum=2), "quorum")
    run_id = await start_waiting(world, manager, version)
    task = await world.task(run_id)

    first = await world.decide("rita", task.id, "approve", "one")
    assert (first.status, first.approvals, first.resolution) == ("open", 1, None)
    assert await manager.sweep() == []  # nothing to resume yet
    with pytest.raises(Forbidden):  # an assignee decides once
        await world.decide("rita", task.id, "approve", "again")
    with pytest.raises(NotFound):  # not an assignee: does not even see the task
        await world.decide("outsider", task.id, "approve")
    run, _, _ = await world.run(run_id)
    assert run.status == "waiting"

    second = await world.decide("ralf", task.id, "approve", "two")
    assert (second.status, second.approvals) == ("approved", 2)
    assert second.resolution is not None and second.resolution["decided_by"] == ["ralf", "rita"]
    assert await world.decisions(task.id) == 2

    assert await manager.sweep() == [run_id]
    await until_finished(manager, run_id)
    run, _, _ = await world.run(run_id)
    assert run.status == "succeeded"
    assert run.outputs is not None and run.outputs["sent"] == "sent 1200 to ACME (approved by ralf,rita: two)"
    await world.assert_audit_intact()


async def test_decisions_on_finished_runs_conflict(world: World, manager: RunManager) -> None:
    version = await world.version(approval_flow(), "finished")

    finished = await start_waiting(world, manager, version)
    task = await world.task(finished)
    await world.decide("rita", task.id, "approve")
    assert await manager.resume(finished)
    await until_finished(manager, finished)
    with pytest.raises(Conflict) as raised:
        await world.decide("ralf", task.id, "reject")
    assert raised.value.code == "task_closed"

    cancelled = await start_waiting(world, manager, version)
    assert await manager.cancel(world.actors["author"], cancelled) == "cancelled"
    run, _, [task] = await world.run(cancelled)
    assert run.status == "cancelled" and task.status == "cancelled"
    with pytest.raises(Conflict):
        await world.decide("rita", task.id, "approve")

    # A run that ended some other way while its task was still open.
    failed = await start_waiting(world, manager, version)
    async with world.db.write() as session:
        await session.execute(update(Run).where(Run.id == failed).values(status="failed"))
    with pytest.raises(Conflict) as raised:
        await world.decide("rita", (await world.task(failed)).id, "approve")
    assert raised.value.code == "run_not_waiting"
    assert await world.decisions((await world.task(failed)).id) == 0
    await world.assert_audit_intact()


async def test_sequential_approvals_resume_once_per_decision(world: World, manager: RunManager) -> None:
    document = approval_flow()
    document["nodes"].insert(2, node("second", "approval", assignees=["user:ralf"], title="Second look"))
    document["edges"] = [
        item for item in document["edges"] if (item["from"], item["to"]) != ("draft", "check")
    ]
    document["edges"] += [edge("draft", "second"), edge("second", "check", "approved")]
    version = await world.version(document, "twice")
    run_id = await start_waiting(world, manager, version)

    [first_task] = (await world.run(run_id))[2]
    assert first_task.node_id == "second"
    await world.decide("ralf", first_task.id, "approve")
    assert await manager.sweep() == [run_id]
    await until_finished(manager, run_id)
    run, steps, tasks = await world.run(run_id)
    assert run.status == "waiting" and steps["check"].status == "waiting"
    assert sorted((task.node_id, task.status) for task in tasks) == [
        ("check", "open"),
        ("second", "approved"),
    ]

    # The first task stays approved; that alone is no reason to drive the run again.
    for _ in range(3):
        assert await manager.sweep() == []
    assert await world.audit_actions(run_id) == ["run.started", "run.waiting", "run.waiting"]

    check = next(task for task in tasks if task.node_id == "check")
    await world.decide("rita", check.id, "approve", "fine")
    assert await manager.sweep() == [run_id]
    await until_finished(manager, run_id)
    run, _, _ = await world.run(run_id)
    assert run.status == "succeeded" and run.outputs is not None
    assert run.outputs["sent"] == "sent 1200 to ACME (approved by rita: fine)"


# -- expiry ---------------------------------------------------------------------------
async def test_overdue_tasks_expire_in_the_sweep(world: World, manager: RunManager) -> None:
    with_edge = await world.version(approval_flow(timeout="PT1S"), "expiring")
    without_edge = await world.version(approval_flow(timeout="PT1S", timeout_edge=False), "expiring-hard")
    escalated = await start_waiting(world, manager, with_edge)
    expired = await start_waiting(world, manager, without_edge)
    task = await world.task(escalated)
    assert task.due_at is not None and task.created_at is not None
    assert 0.9 <= (task.due_at - task.created_at).total_seconds() <= 1.5

    assert await manager.sweep() == []  # not due yet
    await asyncio.sleep(1.1)
    assert sorted(await manager.sweep()) == sorted([escalated, expired])
    await until_finished(manager, escalated)
    await until_finished(manager, expired)

    run, steps, [task] = await world.run(escalated)
    assert run.status == "succeeded", run.error
    assert run.outputs is not None and run.outputs["escalated"] == "escalated after timeout"
    assert steps["escalate"].status == "succeeded" and steps["send"].status == "skipped"
    assert task.status == "expired" and task.resolution is not None
    assert task.resolution["outcome"] == "timeout"

    run, steps, [task] = await world.run(expired)
    assert run.status == "expired" and run.finished_at is not None
    assert run.error is not None and run.error["kind"] == "Expired" and run.error["node"] == "check"
    assert steps["check"].status == "expired"
    assert not {"send", "note", "end"} & set(steps)
    assert task.status == "expired"

    with pytest.raises(Conflict):
        await world.decide("rita", task.id, "approve")
    async with world.db.read() as session:
        expiries = await list_entries(session, action="task.expired")
    assert {entry.detail["run_id"] for entry in expiries} == {escalated, expired}
    await world.assert_audit_intact()


async def test_a_run_adopted_after_its_waiting_step_was_stored_but_not_its_task_gets_the_task(
    world: World, manager: RunManager
) -> None:
    """The approval step is written as soon as it waits (it is durable); the run's `waiting`
    state and its task follow in a second write. A process killed between the two leaves a
    running run whose stored approval step waits, without a task. The process that adopts
    it must raise the task from the stored request: before, it found the step waiting with
    nothing to ask (the request lives on in the step's outputs only) and parked the run as
    `waiting` with no task: nobody could ever decide it."""
    version = await world.version(approval_flow(), "half-written")
    run_id = await start_waiting(world, manager, version)
    await manager.stop()
    _, _, [task] = await world.run(run_id)
    request = task.request
    async with world.db.write() as session:  # as the killed process left it
        await session.execute(delete(ApprovalTask).where(ApprovalTask.id == task.id))
        await session.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(status="running", heartbeat_at=None, worker_id="dead:1")
        )
    survivor = world.manager(orphan_after_s=1)
    try:
        assert await survivor.sweep() == [run_id]
        await survivor.wait(run_id, 10)
        run, steps, tasks = await world.run(run_id)
        assert run.status == "waiting" and steps["check"].status == "waiting"
        assert [(t.node_id, t.status, t.request) for t in tasks] == [("check", "open", request)]
        decided = await world.decide("rita", tasks[0].id, "approve")
        assert decided.status == "approved"
        assert await survivor.resume(run_id)
        await until_finished(survivor, run_id)
        run, _, _ = await world.run(run_id)
        assert run.status == "succeeded", run.error
    finally:
        await survivor.stop()


async def test_a_process_whose_run_was_taken_over_stops_driving_it_without_a_write(world: World) -> None:
    """A process that stalled past `orphan_after_s` (an overloaded machine) has lost its
    runs to another process. At its next sweep it sees that and stops them here, writing
    nothing: before, it drove them on beside the adopter (steps written twice, a mail
    in flight here seen as "interrupted" there)."""
    version = await world.version(
        flow(
            [node("long", "sleep", seconds=30, timeout_s=120), template("after", "after {{ long.slept }}")],
            chain("start", "long", "after"),
            outputs={"text": "{{ after.text }}"},
        ),
        "taken-over",
    )
    slow = world.manager()
    try:
        run_id = await _running(slow, world, version)
        for _ in range(100):  # its row is written once it runs longer than run_visible_after_s
            async with world.db.write() as session:  # another process adopts it
                adopted = await session.execute(
                    update(Run).where(Run.id == run_id).values(worker_id="adopter:1")
                )
            if adopted.rowcount == 1:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.05)
        await slow.sweep()
        await slow.wait(run_id, 10)
        assert run_id not in slow._tasks
        run, steps, _ = await world.run(run_id)
        assert (run.status, run.worker_id, run.error) == ("running", "adopter:1", None)
        assert {node_id: step.status for node_id, step in steps.items()} == {"start": "succeeded"}
    finally:
        await slow.stop()
    run, _, _ = await world.run(run_id)
    assert (run.status, run.worker_id) == ("running", "adopter:1")  # stopping released nothing
