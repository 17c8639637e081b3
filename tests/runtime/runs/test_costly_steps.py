"""Steps that cost money or time are stored the moment they finish, so a run adopted after a
crash does not pay for them again: an `llm` step (and any node type that says it is costly),
and any step that took longer than a second — also while a sibling in the same generation
still runs.

The runs are driven by `tests.support.worker` processes (killed with SIGKILL) on the test's
SQLite file or PostgreSQL database; the LLM is the Messages API double, which counts calls.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.db.database import Database
from runtime.db.models import Flow, FlowVersion, Run, RunStep, User
from runtime.engine import executor
from runtime.engine.compiled import FlowCache
from runtime.engine.executor import Engine
from runtime.engine.records import StepRecord
from runtime.engine.validation import validate_document
from runtime.llm.client import HFChatModel, ModelEndpoints
from runtime.users.service import get_or_create_workspace
from tests.support.flows import TEST_REGISTRY, chain, edge, flow, node
from tests.support.messages_api_double import MessagesApiDouble, Reply

ROOT = Path(__file__).resolve().parents[3]
ORPHAN_AFTER_S = 1.0


class Place:
    """A workspace with one author in the test's database, and worker processes on it."""

    def __init__(self, db: Database, database_url: str, tmp_path: Path) -> None:
        self.db, self.database_url, self.tmp_path = db, database_url, tmp_path
        self.workspace_id = ""
        self.author_id = ""

    async def prepare(self) -> Place:
        async with self.db.write() as session:
            workspace = await get_or_create_workspace(session, "sales")
            author = User(username="author", display_name="author", password_hash="!", global_roles=[])
            session.add(author)
            await session.flush()
            self.workspace_id, self.author_id = workspace.id, author.id
        return self

    async def version(self, document: dict[str, Any], slug: str) -> str:
        report = validate_document(document, TEST_REGISTRY)
        assert report.valid and report.document is not None and report.content_hash, report.errors
        async with self.db.write() as session:
            row = Flow(workspace_id=self.workspace_id, name=slug, slug=slug, created_by=self.author_id)
            session.add(row)
            await session.flush()
            version = FlowVersion(
                flow_id=row.id,
                number=1,
                content_hash=report.content_hash,
                document=report.document.as_json(),
                state="published",
                author_id=self.author_id,
            )
            session.add(version)
            await session.flush()
            return version.id

    def env(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("DIRIGENT_")}
        env.update(
            DIRIGENT_DATABASE_URL=self.database_url,
            DIRIGENT_DATA_DIR=str(self.tmp_path / "worker"),
            DIRIGENT_TEST_WORKSPACE_ID=self.workspace_id,
            PYTHONPATH=str(ROOT),
            **extra,
        )
        return env

    async def doomed(self, version_id: str, **env: str) -> asyncio.subprocess.Process:
        """A worker that starts a run of `version_id`, prints its events and lives until killed."""
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.worker",
            f"start:{version_id}",
            cwd=ROOT,
            env=self.env(DIRIGENT_SWEEP_INTERVAL_S="0.1", **env),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def adopt(self, **env: str) -> dict[str, Any]:
        """Another worker process: one sweep (adopting orphans), its runs driven to their end."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.worker",
            "sweep",
            cwd=ROOT,
            env=self.env(
                DIRIGENT_ORPHAN_AFTER_S=str(ORPHAN_AFTER_S), DIRIGENT_TEST_SLEEP_SCALE="0.01", **env
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, stderr.decode()
        [result] = [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]
        return result  # type: ignore[no-any-return]

    async def steps(self, run_id: str) -> dict[str, RunStep]:
        async with self.db.read() as session:
            rows = (await session.execute(select(RunStep).where(RunStep.run_id == run_id))).scalars()
            return {row.node_id: row for row in rows}

    async def run(self, run_id: str) -> Run:
        async with self.db.read() as session:
            run = await session.get(Run, run_id)
            assert run is not None, "the run is not stored"
            return run


@pytest.fixture
async def place(db: Database, database_url: str, tmp_path: Path) -> Place:
    return await Place(db, database_url, tmp_path).prepare()


async def read_until(process: asyncio.subprocess.Process, wanted: Any) -> list[dict[str, Any]]:
    assert process.stdout is not None
    lines: list[dict[str, Any]] = []
    while True:
        raw = await asyncio.wait_for(process.stdout.readline(), 60)
        assert raw, f"the worker ended early: {lines}"
        lines.append(json.loads(raw))
        if wanted(lines[-1]):
            return lines


def event_of(node_id: str, kind: str, status: str | None = None) -> Any:
    def matches(line: dict[str, Any]) -> bool:
        event = line.get("event") or {}
        return bool(
            event.get("type") == kind
            and event.get("node") == node_id
            and (status is None or event.get("status") == status)
        )

    return matches


async def kill(process: asyncio.subprocess.Process) -> float:
    process.kill()  # SIGKILL: no shutdown, no release, no last write
    await process.wait()
    return time.monotonic()


async def until_orphaned(killed_at: float) -> None:
    """The dead process's last heartbeat is older than ORPHAN_AFTER_S from here on."""
    await asyncio.sleep(max(0.0, killed_at + ORPHAN_AFTER_S + 0.3 - time.monotonic()))


async def test_an_llm_step_is_stored_when_it_ends_and_not_asked_again_after_a_crash(
    place: Place, messages_api: MessagesApiDouble
) -> None:
    # The answer comes after the run became visible (0.1 s) and well within the write-behind
    # interval after that (0.25 s): a step buffered then was lost with the process.
    messages_api.reply(Reply("Guten Tag, Ada.", delay_s=0.15))
    document = flow(
        [
            node("answer", "llm", prompt="Begrüße {{ inputs.name }}", max_tokens=32),
            node("long", "sleep", seconds=30, timeout_s=120, text="{{ answer.text }}"),
            node("end", "output"),
        ],
        chain("start", "answer", "long", "end"),
        outputs={"answer": "{{ answer.text }}", "seen": "{{ long.text }}", "long_pid": "{{ long.pid }}"},
    )
    version_id = await place.version(document, "begruessung")
    doomed = await place.doomed(
        version_id, DIRIGENT_LLM_URL=messages_api.url, DIRIGENT_TEST_INPUTS=json.dumps({"name": "Ada"})
    )
    try:
        lines = await read_until(doomed, event_of("long", "sleeping"))
        run_id, doomed_pid = lines[0]["run_id"], lines[0]["pid"]
        killed_at = await kill(doomed)
    finally:
        if doomed.returncode is None:
            await kill(doomed)

    steps = await place.steps(run_id)
    assert "answer" in steps, "the llm step was lost with the process"
    assert steps["answer"].status == "succeeded"
    assert steps["answer"].outputs is not None and steps["answer"].outputs["text"] == "Guten Tag, Ada."
    assert "long" not in steps
    assert len(messages_api.requests) == 1

    await until_orphaned(killed_at)
    result = await place.adopt(DIRIGENT_LLM_URL=messages_api.url)
    assert result["resumed"] == [run_id] and result["pid"] != doomed_pid

    run = await place.run(run_id)
    assert run.status == "succeeded", run.error
    assert run.outputs == {"answer": "Guten Tag, Ada.", "seen": "Guten Tag, Ada.", "long_pid": result["pid"]}
    assert len(messages_api.requests) == 1  # the adopting process did not ask the model again
    assert run.total_tokens == 19  # the stored step's usage counts


async def test_a_step_over_a_second_is_stored_while_its_sibling_still_runs(place: Place) -> None:
    document = flow(
        [
            node("quick", "sleep", seconds=1.2),
            node("long", "sleep", seconds=30, timeout_s=120),
            node("end", "output"),
        ],
        [edge("start", "quick"), edge("start", "long"), edge("quick", "end"), edge("long", "end")],
        outputs={"quick_pid": "{{ quick.pid }}", "long_pid": "{{ long.pid }}"},
    )
    version_id = await place.version(document, "geschwister")
    doomed = await place.doomed(version_id, DIRIGENT_TEST_INPUTS=json.dumps({"name": "Ada"}))
    try:
        lines = await read_until(doomed, event_of("quick", "step", "succeeded"))
        run_id, doomed_pid = lines[0]["run_id"], lines[0]["pid"]
        # The engine hands the step over right after this event; the write takes a moment.
        deadline = time.monotonic() + 5
        while "quick" not in await place.steps(run_id):
            assert time.monotonic() < deadline, "a step of 1.2 s was not stored while its sibling ran on"
            await asyncio.sleep(0.05)
        killed_at = await kill(doomed)
    finally:
        if doomed.returncode is None:
            await kill(doomed)

    await until_orphaned(killed_at)
    result = await place.adopt()
    assert result["resumed"] == [run_id]
    run = await place.run(run_id)
    assert run.status == "succeeded", run.error
    # `quick` is not run again; `long`, which never finished, is.
    assert run.outputs == {"quick_pid": doomed_pid, "long_pid": result["pid"]}


class Collected:
    """A recorder that keeps what it is handed, in order (for the durable flags)."""

    def __init__(self) -> None:
        self.handed: list[list[StepRecord]] = []

    async def record_steps(self, steps: list[StepRecord]) -> None:
        self.handed.append(list(steps))

    async def cancel_requested(self) -> bool:
        return False


@pytest.mark.parametrize(
    ("config", "fixed", "durable"),
    [
        pytest.param({"type": "llm", "config": {"prompt": "{{ inputs.name }}"}}, False, True, id="llm"),
        pytest.param({"type": "llm", "config": {"prompt": "{{ inputs.name }}"}}, True, False, id="llm-fixed"),
        pytest.param({"type": "template", "config": {"template": "x"}}, False, False, id="template"),
        pytest.param(
            {"type": "router", "config": {"classes": ["a", "b"], "text": "{{ inputs.name }}"}},
            False,
            True,
            id="router-classifying",
        ),
        pytest.param(
            {"type": "router", "config": {"condition": "true"}}, False, False, id="router-condition"
        ),
    ],
)
async def test_which_steps_are_durable(
    messages_api: MessagesApiDouble,
    config: Mapping[str, Any],
    fixed: bool,
    durable: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The kind of node decides here, not the clock: on a busy machine even a condition can
    # take over a second (test_a_slow_step_is_durable covers the clock).
    monkeypatch.setattr(executor, "SLOW_STEP_MS", 3_600_000.0)
    messages_api.reply('{"label": "a", "confidence": 0.9}')
    document = flow([{"id": "step", **config}], chain("start", "step"))
    compiled = FlowCache(TEST_REGISTRY).get(document)
    # The double listens on 127.0.0.1: model endpoints pass the egress guard, so allow it.
    model = HFChatModel(
        ModelEndpoints([("default", messages_api.url, "tiny-chat", None)]),
        guard=EgressGuard(EgressPolicy.parse("127.0.0.1")),
    )
    recorder = Collected()
    try:
        outcome = await Engine({"llm": model}).execute(
            compiled,
            "run-1",
            {"name": "Ada"},
            recorder=recorder,
            fixed_outputs={"step": {"text": "t", "json": None, "usage": {}}} if fixed else None,
        )
    finally:
        await model.aclose()
    assert outcome.status == "succeeded", outcome.error
    [step] = [step for handed in recorder.handed for step in handed if step.node_id == "step"]
    assert step.durable is durable


async def test_a_slow_step_is_durable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any step over `SLOW_STEP_MS` is persisted at once, whatever its kind (a fixed output
    is not: it repeats nothing)."""
    monkeypatch.setattr(executor, "SLOW_STEP_MS", 0.0)
    document = flow(
        [{"id": "step", "type": "router", "config": {"condition": "true"}}], chain("start", "step")
    )
    recorder = Collected()
    outcome = await Engine({}).execute(
        FlowCache(TEST_REGISTRY).get(document), "run-1", {"name": "Ada"}, recorder=recorder
    )
    assert outcome.status == "succeeded", outcome.error
    [step] = [step for handed in recorder.handed for step in handed if step.node_id == "step"]
    assert step.durable is True
