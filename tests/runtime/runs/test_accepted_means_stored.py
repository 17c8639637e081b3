"""Accepted means stored — with real runtime processes, killed (SIGKILL) right after they answered.

Ten times in a row a fresh runtime process answers an invocation with `wait_s: 0` (202) and
a signed webhook delivery (202), and is killed the moment both answers arrived. Each time
both runs are in the database already; a runtime started afterwards adopts all of them
(their heartbeats stopped) and drives them to their end, and the sender's redeliveries are
answered with the runs that were started, not refused as replays and not started twice.

Then two runtime processes on one database get the same `Idempotency-Key` at the same
moment, ten times: one run per key.

The processes come from `tests.support.runtime_process` (forked from a process that has
imported the runtime, so each starts in a fraction of a second); the database is the test's
SQLite file or PostgreSQL database (DIRIGENT_TEST_DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from runtime.audit.service import verify
from runtime.connections.http import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from runtime.db.database import Database
from runtime.db.models import Flow, FlowVersion, Run, Workspace
from runtime.engine.validation import validate_document
from runtime.users.service import add_user
from tests.support.messages_api_double import MessagesApiDouble, Reply
from tests.support.runtime_process import RuntimeProcesses
from tests.support.scenario import qa_flow, template_flow

pytestmark = pytest.mark.slow
PASSWORD = "correct-horse-battery"
ROUNDS = 10
ANSWER = "Am Dienstag."


@dataclass
class Stage:
    db: Database
    runtimes: RuntimeProcesses
    champion_id: str


@pytest.fixture
async def stage(
    db: Database, database_url: str, tmp_path: Path, messages_api: MessagesApiDouble
) -> AsyncIterator[Stage]:
    # Slow enough that every run is still asking the model when its process is killed.
    messages_api.reply(Reply(ANSWER, delay_s=1.0))
    async with db.write() as session:
        champion = await add_user(session, "champion", PASSWORD, "champion", "sales")
        # /health names the process (the worker id) to admins only.
        await add_user(session, "admin", PASSWORD, "admin", None)
    env = {
        "DIRIGENT_DATABASE_URL": database_url,
        "DIRIGENT_DATA_DIR": str(tmp_path / "data"),
        "DIRIGENT_JWT_SECRET": "accepted-means-stored-" + "x" * 32,
        "DIRIGENT_LLM_URL": messages_api.url,
        "DIRIGENT_SWEEP_INTERVAL_S": "0.2",
        # Processes meant to die do not adopt each other's runs; the survivor sets 1 s.
        "DIRIGENT_ORPHAN_AFTER_S": "600",
    }
    async with RuntimeProcesses(env, tmp_path) as runtimes:
        yield Stage(db, runtimes, champion.id)


async def publish(stage: Stage, document: dict[str, Any], slug: str) -> str:
    """Store `document` as the live version 1 of assistant `slug`; the flow's id."""
    report = validate_document(document)
    assert report.valid and report.document is not None and report.content_hash, report.errors
    async with stage.db.write() as session:
        workspace_id = (
            await session.execute(select(Workspace.id).where(Workspace.slug == "sales"))
        ).scalar_one()
        flow = Flow(workspace_id=workspace_id, name=slug, slug=slug, created_by=stage.champion_id)
        session.add(flow)
        await session.flush()
        version = FlowVersion(
            flow_id=flow.id,
            number=1,
            content_hash=report.content_hash,
            document=report.document.as_json(),
            state="published",
            author_id=stage.champion_id,
        )
        session.add(version)
        await session.flush()
        flow.live_version_id = version.id
        return flow.id


async def login(client: httpx.AsyncClient, url: str, username: str = "champion") -> dict[str, str]:
    answer = await client.post(f"{url}/api/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def signed(secret: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


async def stored(db: Database, run_ids: list[str]) -> dict[str, Run]:
    async with db.read() as session:
        rows = (await session.execute(select(Run).where(Run.id.in_(run_ids)))).scalars()
        return {row.id: row for row in rows}


async def test_a_202_and_a_webhook_delivery_survive_a_kill_right_after_the_answer(
    stage: Stage, messages_api: MessagesApiDouble
) -> None:
    flow_id = await publish(stage, qa_flow(), "fragen")
    accepted: list[tuple[str, str]] = []  # (run id, what started it)
    deliveries: list[tuple[bytes, dict[str, str], str]] = []  # (body, headers, run id)
    async with httpx.AsyncClient(timeout=30) as client:
        first = await stage.runtimes.start()
        auth = await login(client, first.url)
        created = await client.post(
            f"{first.url}/api/assistants/fragen/triggers", json={"kind": "webhook"}, headers=auth
        )
        assert created.status_code == 201, created.text
        trigger_url, secret = created.json()["url"], created.json()["signing"]

        for round_ in range(ROUNDS):
            runtime = first if round_ == 0 else await stage.runtimes.start()
            body = json.dumps({"question": f"Lieferung {round_}?"}).encode()
            headers = signed(secret, body)
            invoked, delivered = await asyncio.gather(
                client.post(
                    f"{runtime.url}/api/assistants/fragen/runs",
                    json={"inputs": {"question": f"Frage {round_}?"}, "wait_s": 0},
                    headers=auth,
                ),
                client.post(f"{runtime.url}{trigger_url}", content=body, headers=headers),
            )
            runtime.kill()  # the moment both answers are here
            assert invoked.status_code == 202, invoked.text
            assert delivered.status_code == 202, delivered.text
            invoked_id, delivered_id = invoked.json()["id"], delivered.json()["run_id"]
            assert invoked.json()["status"] == "running"

            runs = await stored(stage.db, [invoked_id, delivered_id])
            assert set(runs) == {invoked_id, delivered_id}, f"round {round_}: a run named in a 202 is lost"
            assert {run.status for run in runs.values()} == {"running"}, round_
            accepted += [(invoked_id, "invoke"), (delivered_id, "webhook")]
            deliveries.append((body, headers, delivered_id))

        survivor = await stage.runtimes.start(DIRIGENT_ORPHAN_AFTER_S="1")
        admin = await login(client, survivor.url, "admin")
        worker = (await client.get(f"{survivor.url}/health", headers=admin)).json()["worker"]
        ids = [run_id for run_id, _ in accepted]
        deadline = time.monotonic() + 90
        while True:
            runs = await stored(stage.db, ids)
            if all(run.status == "succeeded" for run in runs.values()):
                break
            failed = {
                run.id: run.error for run in runs.values() if run.status not in ("running", "succeeded")
            }
            assert not failed, failed
            assert time.monotonic() < deadline, {run.id: run.status for run in runs.values()}
            await asyncio.sleep(0.2)
        assert {run.worker_id for run in runs.values()} == {worker}  # all adopted by the survivor
        assert {json.dumps(run.outputs) for run in runs.values()} == {json.dumps({"answer": ANSWER})}
        questions = {run.inputs["question"] for run in runs.values()}
        assert questions == {f"Frage {n}?" for n in range(ROUNDS)} | {
            f"Lieferung {n}?" for n in range(ROUNDS)
        }

        # The sender did not trust the 202s (its process died too) and delivers again.
        for body, headers, run_id in deliveries:
            again = await client.post(f"{survivor.url}{trigger_url}", content=body, headers=headers)
            assert again.status_code == 202, again.text
            assert again.json() == {"run_id": run_id, "status": "started", "replayed": True}

    async with stage.db.read() as session:
        count = (await session.execute(select(func.count()).where(Run.flow_id == flow_id))).scalar_one()
        audit = await verify(session)
    assert count == 2 * ROUNDS  # nothing started twice
    assert audit.ok, audit


async def test_two_processes_given_the_same_idempotency_key_at_once_start_one_run(stage: Stage) -> None:
    flow_id = await publish(stage, template_flow("Hallo {{ inputs.name }}"), "gruss")
    async with httpx.AsyncClient(timeout=30) as client:
        one, other = await stage.runtimes.start(), await stage.runtimes.start()
        auth = await login(client, one.url)
        run_ids = set()
        for round_ in range(ROUNDS):
            headers = {**auth, "Idempotency-Key": f"bestellung-{round_}"}
            payload = {"inputs": {"name": f"Kunde {round_}"}}
            answers = await asyncio.gather(
                *(
                    client.post(f"{runtime.url}/api/assistants/gruss/runs", json=payload, headers=headers)
                    for runtime in (one, other)
                )
            )
            assert {answer.status_code for answer in answers} <= {200, 202}, [a.text for a in answers]
            [run_id] = {answer.json()["id"] for answer in answers}
            assert sorted(answer.headers.get("idempotent-replayed", "") for answer in answers) == ["", "true"]
            run_ids.add(run_id)
    async with stage.db.read() as session:
        count = (await session.execute(select(func.count()).where(Run.flow_id == flow_id))).scalar_one()
    assert count == len(run_ids) == ROUNDS
