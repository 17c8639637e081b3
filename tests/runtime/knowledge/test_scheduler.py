"""Ingestion jobs are claimed from the database, fairly across workspaces: one workspace's
backlog of big uploads does not keep the six other workspaces' small ones waiting, and
with several processes on one database every job runs exactly once (compare-and-set).

"Processes" here are KnowledgeService instances with their own `Database` (their own
connections) and worker ids, as separate runtime processes have; the claims race in the
database itself (SQLite, or PostgreSQL with DIRIGENT_TEST_DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from runtime.db.database import Database
from runtime.db.models import AuditEntry, Membership, utcnow
from runtime.knowledge.models import IngestionJob, KnowledgeDocument, KnowledgeIndex
from runtime.knowledge.service import KnowledgeService, KnowledgeSettings
from runtime.policy.resources import Actor
from runtime.settings import Settings
from runtime.users.service import add_user, get_or_create_workspace, load_actor
from tests.runtime.knowledge.fakes import HashingModel

SMALL_WORKSPACES = ("einkauf", "hr", "it", "marketing", "recht", "service")
BIG = "vertrieb"


class SlowModel(HashingModel):
    """The hashing test double, taking `seconds_per_text` per passage like a real model."""

    def __init__(self, seconds_per_text: float) -> None:
        super().__init__()
        self.seconds_per_text = seconds_per_text

    def encode(self, texts: list[str]) -> np.ndarray:
        time.sleep(self.seconds_per_text * len(texts))
        return super().encode(texts)


@dataclass
class Harness:
    settings: Settings
    db: Database
    url: str
    root: Path
    actors: dict[str, Actor]
    services: list[KnowledgeService]
    databases: list[Database]

    def service(self, *, separate_database: bool = False, **config: Any) -> KnowledgeService:
        db = self.db
        if separate_database:
            db = Database(self.url)
            self.databases.append(db)
        service = KnowledgeService(self.settings, db, config=KnowledgeSettings(dir=self.root, **config))
        self.services.append(service)
        return service

    def creator(self) -> KnowledgeService:
        """A process that accepts uploads but runs no job (the API process of a pair)."""
        service = self.service()
        service.jobs.scheduler.slots = 0
        return service

    async def queue(self, service: KnowledgeService, workspace: str, index_id: str, texts: list[str]) -> str:
        folder = self.root / "incoming" / f"{workspace}-{len(list(self.root.glob('incoming/*')))}"
        folder.mkdir(parents=True)
        paths = []
        for number, text in enumerate(texts):
            paths.append(folder / f"datei-{number}.txt")
            paths[-1].write_text(text, encoding="utf-8")
        job = await service.jobs.ingest_paths(self.actors[workspace], index_id, paths)
        return str(job["id"])

    async def jobs(self) -> dict[str, IngestionJob]:
        async with self.db.read() as session:
            return {job.id: job for job in (await session.execute(select(IngestionJob))).scalars()}

    async def wait_all(self, job_ids: list[str], timeout_s: float = 180) -> dict[str, IngestionJob]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            jobs = await self.jobs()
            if all(jobs[job_id].status not in ("queued", "running") for job_id in job_ids):
                return jobs
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"jobs did not finish: {[(j.id, j.status) for j in (await self.jobs()).values()]}"
        )


@pytest.fixture
async def harness(
    tmp_path: Path, db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    model = SlowModel(0.002)
    monkeypatch.setattr("runtime.knowledge.backends.load_model", lambda name: model)
    settings = Settings(data_dir=tmp_path / "data", jwt_secret="x" * 40)
    # One champion of all seven workspaces (one password hash: they are slow on purpose).
    async with db.write() as session:
        user = await add_user(session, "champion", "correct-horse-battery", "champion", BIG)
        for workspace_slug in SMALL_WORKSPACES:
            workspace = await get_or_create_workspace(session, workspace_slug)
            session.add(Membership(user_id=user.id, workspace_id=workspace.id, role="champion"))
    async with db.read() as session:
        actor = await load_actor(session, user.id)
    assert actor is not None
    actors = dict.fromkeys((BIG, *SMALL_WORKSPACES), actor)
    harness = Harness(settings, db, database_url, tmp_path / "knowledge", actors, [], [])
    yield harness
    for service in harness.services:
        await service.close()
    for database in harness.databases:
        await database.dispose()


async def indexes(harness: Harness, service: KnowledgeService) -> dict[str, str]:
    return {
        workspace: (await service.create_index(harness.actors[workspace], workspace, "wissen"))["id"]
        for workspace in (BIG, *SMALL_WORKSPACES)
    }


def claimed(job: IngestionJob) -> datetime:
    assert job.claimed_at is not None
    return job.claimed_at


def finished(job: IngestionJob) -> datetime:
    assert job.finished_at is not None
    return job.finished_at


BIG_UPLOAD = ["Der Vertrieb meldet neue Angebote an die Zentrale. " * 60] * 4  # ~4 x 30 passages
SMALL_UPLOAD = ["Kurzer Hinweis zur Ablage."]


async def test_other_workspaces_go_before_a_backlog(harness: Harness) -> None:
    creator = harness.creator()
    index_of = await indexes(harness, creator)
    big = [await harness.queue(creator, BIG, index_of[BIG], BIG_UPLOAD) for _ in range(4)]
    small = [await harness.queue(creator, ws, index_of[ws], SMALL_UPLOAD) for ws in SMALL_WORKSPACES]

    runner = harness.service(ingest_slots=1)  # one job at a time: the order is the scheduler's
    await runner.ensure_started()
    jobs = await harness.wait_all(big + small)

    assert all(jobs[job_id].status == "succeeded" for job_id in big + small)
    order = sorted(big + small, key=lambda job_id: claimed(jobs[job_id]))
    # The backlog's first job, then every other workspace's, then the rest of the backlog.
    assert order[0] == big[0]
    assert set(order[1:7]) == set(small)
    assert order[7:] == big[1:]


async def test_small_jobs_run_while_a_big_one_does(harness: Harness) -> None:
    creator = harness.creator()
    index_of = await indexes(harness, creator)
    big = [await harness.queue(creator, BIG, index_of[BIG], BIG_UPLOAD) for _ in range(3)]
    small = [await harness.queue(creator, ws, index_of[ws], SMALL_UPLOAD) for ws in SMALL_WORKSPACES]

    runner = harness.service()  # the defaults: two jobs per process, one per workspace
    await runner.ensure_started()
    jobs = await harness.wait_all(big + small)

    # The second slot went to the others at once; all of them before the backlog went on.
    assert min(claimed(jobs[job_id]) for job_id in small) < finished(jobs[big[0]])
    assert max(claimed(jobs[job_id]) for job_id in small) < claimed(jobs[big[1]])
    # The big workspace never ran two jobs at once.
    spans = sorted((claimed(jobs[job_id]), finished(jobs[job_id])) for job_id in big)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


async def test_two_processes_run_every_job_exactly_once(harness: Harness) -> None:
    creator = harness.creator()
    index_of = await indexes(harness, creator)
    job_ids = [
        await harness.queue(
            creator, ws, index_of[ws], [f"Notiz {n} aus {ws}.", f"Zweite Notiz {n} aus {ws}."]
        )
        for n in range(3)
        for ws in (BIG, "hr", "it")
    ]
    first = harness.service(separate_database=True, workspace_slots=3)
    second = harness.service(separate_database=True, workspace_slots=3)
    await asyncio.gather(first.ensure_started(), second.ensure_started())
    jobs = await harness.wait_all(job_ids)

    assert {jobs[job_id].status for job_id in job_ids} == {"succeeded"}
    assert {jobs[job_id].worker_id for job_id in job_ids} <= {first.jobs.worker_id, second.jobs.worker_id}
    async with harness.db.read() as session:
        finished = (
            await session.execute(
                select(AuditEntry.detail).where(AuditEntry.action == "knowledge.job.finished")
            )
        ).scalars()
        written = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action.in_(["knowledge.document.indexed", "knowledge.document.replaced"]))
        )
        documents = await session.scalar(select(func.count()).select_from(KnowledgeDocument))
    assert sorted(detail["job"] for detail in finished) == sorted(job_ids)  # each once
    # Each file written once; the jobs of one index ran one after another (same names).
    assert written == 2 * len(job_ids)
    assert documents == 2 * 3


async def test_a_claim_is_won_by_exactly_one_process(harness: Harness) -> None:
    creator = harness.creator()
    job_ids = set()
    for workspace in (BIG, "hr"):
        for number in range(5):  # an index each: jobs of one index are never claimed together
            index = await creator.create_index(harness.actors[workspace], workspace, f"wissen-{number}")
            job_ids.add(await harness.queue(creator, workspace, index["id"], SMALL_UPLOAD))
    schedulers = [
        harness.service(separate_database=True, workspace_slots=100).jobs.scheduler for _ in range(3)
    ]

    async def claim_all(scheduler: Any) -> list[str]:
        claimed = []
        while (job_id := await scheduler.claim_next()) is not None:
            claimed.append(job_id)
        return claimed

    won = await asyncio.gather(*(claim_all(scheduler) for scheduler in schedulers))
    everything = [job_id for claims in won for job_id in claims]
    assert sorted(everything) == sorted(job_ids)  # every job claimed, none twice
    jobs = await harness.jobs()
    for scheduler, claims in zip(schedulers, won, strict=True):
        assert all(jobs[job_id].worker_id == scheduler.worker_id for job_id in claims)


async def test_jobs_of_one_index_are_never_claimed_together(harness: Harness) -> None:
    creator = harness.creator()
    index = await creator.create_index(harness.actors["hr"], "hr", "handbuch")
    job_ids = [await harness.queue(creator, "hr", index["id"], SMALL_UPLOAD) for _ in range(3)]
    schedulers = [
        harness.service(separate_database=True, workspace_slots=100).jobs.scheduler for _ in range(3)
    ]
    won = await asyncio.gather(*(scheduler.claim_next() for scheduler in schedulers))
    assert [job_id for job_id in won if job_id is not None] == [job_ids[0]]


async def test_a_job_of_a_silent_process_is_taken_over_and_a_live_one_is_not(harness: Harness) -> None:
    creator = harness.creator()
    index_of = await indexes(harness, creator)
    silent = await harness.queue(creator, "hr", index_of["hr"], SMALL_UPLOAD)
    alive = await harness.queue(creator, "it", index_of["it"], SMALL_UPLOAD)
    async with harness.db.write() as session:
        for job_id, beat in ((silent, utcnow() - timedelta(minutes=10)), (alive, utcnow())):
            job = await session.get(IngestionJob, job_id)
            assert job is not None
            job.status, job.worker_id, job.heartbeat_at = "running", "other-process", beat
    scheduler = harness.service().jobs.scheduler
    assert await scheduler.claim_next() == silent
    assert await scheduler.claim_next() is None


async def test_a_job_whose_index_is_deleted_elsewhere_stops_here(harness: Harness, monkeypatch: Any) -> None:
    monkeypatch.setattr("runtime.knowledge.backends.load_model", lambda name: SlowModel(0.05))
    runner = harness.service(poll_s=0.2)
    index_id = (await runner.create_index(harness.actors["hr"], "hr", "gross"))["id"]
    job_id = await harness.queue(runner, "hr", index_id, BIG_UPLOAD)
    for _ in range(100):
        if job_id in runner.jobs.scheduler.running:
            break
        await asyncio.sleep(0.05)
    task = runner.jobs.scheduler.running[job_id]
    async with harness.db.write() as session:  # what another process's DELETE does
        await session.execute(delete(KnowledgeIndex).where(KnowledgeIndex.id == index_id))
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)
    # Stopped here either by the heartbeat (cancelled) or by its own next write finding the
    # index gone (whichever comes first on a loaded machine); nothing written either way.
    assert task.done()
    assert task.cancelled() or task.exception() is None
    async with harness.db.read() as session:
        assert await session.get(IngestionJob, job_id) is None
        documents = await session.execute(
            select(KnowledgeDocument.id).where(KnowledgeDocument.index_id == index_id)
        )
        assert documents.first() is None
