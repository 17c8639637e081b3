"""Many processes, one database: three runtimes and a worker on PostgreSQL, killed again and again.

Three runtime processes (`dirigent serve`'s app) and one `dirigent worker` share a
PostgreSQL database and a data directory. The test

- starts RUNS runs of a published flow (input → approval → e-mail connector → output) with
  `wait_s: 0`, each at a random runtime, each with an `Idempotency-Key` (a request whose
  process died before it answered is sent again to another process: same run);
- decides every approval task at a random runtime, as the tasks appear;
- uploads FILES small text files into an embedded knowledge index, a few per request, at
  random runtimes;
- meanwhile kills (SIGKILL) a random process KILLS times and starts a new one in its place
  each time; runs, approval tasks and ingestion jobs of a killed process are adopted by the
  others once its heartbeats are older than DIRIGENT_ORPHAN_AFTER_S.

Then: every accepted run exists and succeeded (0 lost, 0 stuck), the SMTP server (aiosmtpd
on 127.0.0.1) received each run's mail exactly once (its subject carries the run's
reference), every file's chunks are in the index exactly once, and the audit chain
verifies. The counts are printed (`pytest -s` shows them).

`make test` runs this in its PostgreSQL leg, alone (marker `multiprocess`); without
PostgreSQL it is skipped (SQLite is one process's database).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from runtime.audit.service import verify
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.connections.secrets import SecretBox
from runtime.connections.service import ConnectionService
from runtime.db.database import Database
from runtime.db.models import ApprovalTask, Flow, FlowVersion, Run, RunStep, Workspace
from runtime.engine.validation import validate_document
from runtime.knowledge.models import IngestionJob
from runtime.policy.authorizer import Authorizer
from runtime.settings import Settings
from runtime.users.service import add_user, load_actor
from tests.runtime.connections.servers import QUIET_AUTH_WARNING, SmtpTarget
from tests.support.runtime_process import RuntimeProcess, RuntimeProcesses

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow, pytest.mark.filterwarnings(QUIET_AUTH_WARNING)]

# DIRIGENT_TEST_MANY_RUNS: fewer runs for a quicker look (make test runs the full 1,000).
RUNS = int(os.environ.get("DIRIGENT_TEST_MANY_RUNS", "1000"))
FILES = 50
FILES_PER_UPLOAD = 5
KILLS = 20
RUNTIMES = 3
PASSWORD = "correct-horse-battery"
SMTP_PASSWORD = "many-processes-smtp-3f9a"
KEY = Fernet.generate_key().decode()
SLUG = "angebotsmail"
CONCURRENCY = 12
# How long the runs, decisions and ingestion may take, start-up aside (the bar: 2 busy cores).
DEADLINE_S = float(os.environ.get("DIRIGENT_TEST_MANY_DEADLINE_S", "330"))


def flow_document() -> dict[str, Any]:
    """input → approval → e-mail (subject: the run's reference) → output."""
    return {
        "schema": "dirigent.flow/v1",
        "name": "Angebotsmail",
        "inputs": {"ref": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {
                "id": "check",
                "type": "approval",
                "config": {"assignees": ["user:reviewer"], "title": "Mail {{ inputs.ref }}"},
            },
            {
                "id": "mail",
                "type": "connector",
                "config": {
                    "connection": "mailer",
                    "action": "send_offer",
                    "to": "einkauf@kunde.de",
                    "subject": "Angebot {{ inputs.ref }}",
                    "text": "Anbei das Angebot {{ inputs.ref }}.",
                },
            },
            {"id": "end", "type": "output"},
        ],
        "edges": [
            {"from": "start", "to": "check"},
            {"from": "check", "to": "mail", "when": "approved"},
            {"from": "mail", "to": "end"},
        ],
        "outputs": {"decision": "{{ check.decision }}", "sent": "{{ mail.status }}"},
    }


@dataclass
class Cluster:
    """The processes of the test; `pick()` is a random live runtime."""

    runtimes: RuntimeProcesses
    env: dict[str, str]
    live: list[RuntimeProcess] = field(default_factory=list)
    worker: RuntimeProcess | None = None
    kills: int = 0
    restarting: int = 0

    def pick(self) -> RuntimeProcess:
        return random.choice(self.live)

    async def kill_one(self) -> None:
        victims: list[RuntimeProcess | None] = [*self.live, self.worker]
        victim = random.choice([process for process in victims if process is not None])
        victim.kill()
        self.kills += 1
        if victim is self.worker:
            self.worker = await self.runtimes.start_worker()
            return
        self.live.remove(victim)
        self.live.append(await self.runtimes.start())


async def call(
    cluster: Cluster, send: Callable[[RuntimeProcess], Awaitable[httpx.Response]], attempts: int = 40
) -> httpx.Response:
    """`send` to random runtimes until one answers (a killed one does not)."""
    for _ in range(attempts):
        process = cluster.pick()
        try:
            return await send(process)
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise AssertionError("no runtime answered")


async def seed(db: Database, data_dir: Path, database_url: str, smtp: SmtpTarget) -> None:
    async with db.write() as session:
        champion = await add_user(session, "champion", PASSWORD, "champion", "sales")
        await add_user(session, "reviewer", PASSWORD, "champion", "sales")
        admin = await add_user(session, "admin", PASSWORD, "admin", None)
        admin_actor = await load_actor(session, admin.id)
    assert admin_actor is not None
    connections = ConnectionService(
        Settings(data_dir=data_dir, database_url=database_url),
        db,
        guard=EgressGuard(EgressPolicy.parse("127.0.0.1")),
        box=SecretBox(KEY.encode()),
        authz=Authorizer(),
    )
    await connections.create(
        admin_actor,
        "sales",
        "mailer",
        "email",
        {
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "none",
            "username": "mailer",
            "sender": "vertrieb@firma.de",
            "allowed_domains": ["kunde.de"],
        },
        {"password": SMTP_PASSWORD},
    )
    report = validate_document(flow_document())
    assert report.valid and report.document is not None and report.content_hash, report.errors
    async with db.write() as session:
        workspace_id = (
            await session.execute(select(Workspace.id).where(Workspace.slug == "sales"))
        ).scalar_one()
        flow = Flow(workspace_id=workspace_id, name="Angebotsmail", slug=SLUG, created_by=champion.id)
        session.add(flow)
        await session.flush()
        version = FlowVersion(
            flow_id=flow.id,
            number=1,
            content_hash=report.content_hash,
            document=report.document.as_json(),
            state="published",
            author_id=champion.id,
        )
        session.add(version)
        await session.flush()
        flow.live_version_id = version.id


@pytest.fixture
async def cluster(
    db: Database, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Cluster, SmtpTarget]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("many processes on one database: PostgreSQL only (DIRIGENT_TEST_DATABASE_URL)")
    data_dir = tmp_path / "data"
    with SmtpTarget(username="mailer", password=SMTP_PASSWORD) as smtp:
        await seed(db, data_dir, database_url, smtp)
        env = {
            "DIRIGENT_DATABASE_URL": database_url,
            "DIRIGENT_DATA_DIR": str(data_dir),
            "DIRIGENT_JWT_SECRET": "many-processes-" + "m" * 40,
            "DIRIGENT_SECRET_KEY": KEY,
            "DIRIGENT_EGRESS_ALLOW": "127.0.0.1",
            "DIRIGENT_SWEEP_INTERVAL_S": "0.5",
            "DIRIGENT_ORPHAN_AFTER_S": "5",
            "DIRIGENT_KNOWLEDGE_POLL_S": "0.5",
            "DIRIGENT_NOTIFICATION_MAIL_INTERVAL_S": "0",
            "DIRIGENT_TEMPLATE_WORKERS": "1",
            # One thread per process for torch: four processes share two cores.
            "OMP_NUM_THREADS": "1",
        }
        # The embedding model's libraries (torch) are imported once, before the processes
        # are forked; each loads the model itself when it claims its first ingestion job.
        async with RuntimeProcesses(env, tmp_path, preload=("sentence_transformers",)) as runtimes:
            group = Cluster(runtimes, env)
            for _ in range(RUNTIMES):
                group.live.append(await runtimes.start())
            group.worker = await runtimes.start_worker()
            yield group, smtp


async def login(client: httpx.AsyncClient, cluster: Cluster, username: str) -> dict[str, str]:
    answer = await call(
        cluster,
        lambda p: client.post(f"{p.url}/api/auth/login", json={"username": username, "password": PASSWORD}),
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def test_three_runtimes_and_a_worker_killed_twenty_times_lose_nothing_and_send_once(
    cluster: tuple[Cluster, SmtpTarget], db: Database, tmp_path: Path
) -> None:
    group, smtp = cluster
    began = time.monotonic()
    accepted: dict[str, str] = {}  # reference -> run id
    decided: set[str] = set()
    retries = collections.Counter[str]()
    questions = collections.Counter[str]()  # "was it sent?" tasks, by the answer given
    done = asyncio.Event()

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        champion = await login(client, group, "champion")
        reviewer = await login(client, group, "reviewer")
        admin = await login(client, group, "admin")

        created = await call(
            group,
            lambda p: client.post(
                f"{p.url}/api/workspaces/sales/knowledge", json={"name": "vertraege"}, headers=champion
            ),
        )
        assert created.status_code == 201, created.text
        index_id = created.json()["id"]

        async def start_run(number: int) -> None:
            ref = f"R{number:04d}"
            body = {"inputs": {"ref": ref}, "wait_s": 0}
            headers = {**champion, "Idempotency-Key": f"many-{ref}"}
            answer = await call(
                group,
                lambda p: client.post(f"{p.url}/api/assistants/{SLUG}/runs", json=body, headers=headers),
            )
            assert answer.status_code in (200, 202), answer.text
            accepted[ref] = answer.json()["id"]

        async def start_runs() -> None:
            gate = asyncio.Semaphore(CONCURRENCY)

            async def one(number: int) -> None:
                async with gate:
                    await start_run(number)

            await asyncio.gather(*(one(number) for number in range(RUNS)))

        async def decide(task: dict[str, Any], who: dict[str, str]) -> None:
            if task["question"] is None:  # the flow's approval node: the reviewer approves
                decision = "approve"
            else:  # "was the interrupted mail sent?": look at the mail server, as an admin would
                sent = f"<{task['run_id']}.mail@firma.de>" in {str(m["Message-ID"]) for m in smtp.messages}
                decision = "approve" if sent else "reject"
                questions[decision] += 1
            answer = await call(
                group,
                lambda p: client.post(
                    f"{p.url}/api/tasks/{task['id']}/decision", json={"decision": decision}, headers=who
                ),
            )
            if answer.status_code == 409:  # decided by an earlier attempt whose answer was lost
                retries["decision answered 409 after a lost answer"] += 1
            else:
                assert answer.status_code == 200, answer.text
            decided.add(task["id"])

        async def decide_tasks() -> None:
            """Until the end: decide what is open, as the reviewer and as the admin."""
            gate = asyncio.Semaphore(CONCURRENCY)

            async def one(task: dict[str, Any], who: dict[str, str]) -> None:
                async with gate:
                    await decide(task, who)

            while not done.is_set():
                work = []
                for who in (reviewer, admin):
                    answer = await call(group, lambda p: client.get(f"{p.url}/api/tasks", headers=who))  # noqa: B023
                    assert answer.status_code == 200, answer.text
                    work += [
                        one(task, who)
                        for task in answer.json()
                        if task["can_decide"] and task["id"] not in decided
                    ]
                if work:
                    await asyncio.gather(*work)
                else:
                    await asyncio.sleep(0.3)

        async def upload_files() -> None:
            for first in range(0, FILES, FILES_PER_UPLOAD):
                files = [
                    (
                        "files",
                        (
                            f"vertrag-{n:02d}.txt",
                            (f"Vertrag {n}. " + f"Klausel {n} regelt die Lieferung. " * 40).encode(),
                            "text/plain",
                        ),
                    )
                    for n in range(first, first + FILES_PER_UPLOAD)
                ]
                answer = await call(
                    group,
                    lambda p, files=files: client.post(  # type: ignore[misc]
                        f"{p.url}/api/knowledge/{index_id}/documents", files=files, headers=champion
                    ),
                )
                assert answer.status_code == 202, answer.text

        async def kill_repeatedly() -> None:
            while group.kills < KILLS and not done.is_set():
                await asyncio.sleep(random.uniform(2.0, 5.0))
                await group.kill_one()

        killer = asyncio.create_task(kill_repeatedly())
        decider = asyncio.create_task(decide_tasks())
        try:
            await asyncio.gather(start_runs(), upload_files())
            # Every run is accepted and every file uploaded; decide until all have ended.
            while time.monotonic() - began < DEADLINE_S:
                assert not decider.done() or decider.exception() is None, decider.exception()
                async with db.read() as session:
                    unfinished = (
                        await session.execute(
                            select(func.count())
                            .select_from(Run)
                            .where(Run.status.in_(("running", "waiting")))
                        )
                    ).scalar_one()
                    jobs_open = (
                        await session.execute(
                            select(func.count())
                            .select_from(IngestionJob)
                            .where(IngestionJob.status.in_(("queued", "running")))
                        )
                    ).scalar_one()
                if unfinished == 0 and jobs_open == 0 and group.kills >= KILLS:
                    break
                await asyncio.sleep(0.5)
        finally:
            done.set()
            for task in (killer, decider):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    elapsed = time.monotonic() - began
    async with db.read() as session:
        runs = {run.id: run for run in (await session.execute(select(Run))).scalars()}
        open_tasks = (
            await session.execute(
                select(func.count()).select_from(ApprovalTask).where(ApprovalTask.status == "open")
            )
        ).scalar_one()
        jobs = list((await session.execute(select(IngestionJob))).scalars())
        audit = await verify(session)
    statuses = collections.Counter(run.status for run in runs.values())
    lost = [ref for ref, run_id in accepted.items() if run_id not in runs]
    stuck = [run.id for run in runs.values() if run.status in ("running", "waiting")]
    failed = {
        run.id: run.error for run in runs.values() if run.status not in ("running", "waiting", "succeeded")
    }
    subjects = collections.Counter(str(message["Subject"]) for message in smtp.messages)
    twice = {subject: count for subject, count in subjects.items() if count > 1}
    missing_mail = [ref for ref in accepted if subjects.get(f"Angebot {ref}", 0) == 0]

    store_file = tmp_path / "data" / "knowledge" / "indexes" / index_id / "chunks.sqlite"
    assert store_file.exists(), f"no store at {store_file}: no file was ingested"
    store = sqlite3.connect(store_file)
    try:
        per_source = dict(
            store.execute(
                "SELECT source, COUNT(*) - COUNT(DISTINCT ordinal) FROM chunks GROUP BY source"
            ).fetchall()
        )
        documents = dict(
            store.execute("SELECT source, COUNT(DISTINCT document_id) FROM chunks GROUP BY source").fetchall()
        )
    finally:
        store.close()
    stuck_detail = []
    if stuck:
        async with db.read() as session:
            for run_id in stuck[:5]:
                steps = (await session.execute(select(RunStep).where(RunStep.run_id == run_id))).scalars()
                tasks = (
                    await session.execute(select(ApprovalTask).where(ApprovalTask.run_id == run_id))
                ).scalars()
                stuck_detail.append(
                    (
                        run_id,
                        runs[run_id].status,
                        runs[run_id].worker_id,
                        [(step.node_id, step.status) for step in steps],
                        [(task.node_id, task.status, task.request.get("question")) for task in tasks],
                    )
                )
    duplicated_chunks = {source: extra for source, extra in per_source.items() if extra}
    duplicated_documents = {source: n for source, n in documents.items() if n != 1}

    print(
        f"\nmany processes: {elapsed:.0f} s; runs accepted {len(accepted)}, stored {len(runs)}, "
        f"statuses {dict(statuses)}; lost {len(lost)}, stuck {len(stuck)}, failed {len(failed)}; "
        f"decisions {len(decided)}, open tasks {open_tasks}; mails {len(smtp.messages)}, "
        f"sent twice {len(twice)}, missing {len(missing_mail)}; kills {group.kills}; "
        f"files ingested {len(documents)} of {FILES}, duplicated chunks {len(duplicated_chunks)}, "
        f"jobs {collections.Counter(job.status for job in jobs)}; audit ok {audit.ok}; "
        f"questions 'was it sent?' {dict(questions)}; retries {dict(retries)}"
    )
    assert len(accepted) == RUNS
    assert not lost, lost[:10]
    assert not stuck, stuck_detail
    assert not failed, list(failed.items())[:5]
    assert statuses == {"succeeded": RUNS}
    assert not twice, twice
    assert not missing_mail, missing_mail[:10]
    assert len(smtp.messages) == RUNS
    assert group.kills >= KILLS
    assert sorted(documents) == [f"vertrag-{n:02d}.txt" for n in range(FILES)], sorted(documents)
    assert not duplicated_chunks and not duplicated_documents, (duplicated_chunks, duplicated_documents)
    assert {job.status for job in jobs} == {"succeeded"}, [(job.status, job.error) for job in jobs]
    assert audit.ok, audit
