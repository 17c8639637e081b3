"""Hostile files in real ingestion jobs: each fails alone, within bounded time, with the
limit it broke; the other file of its job is indexed and found; the index's files
(SQLite database and its write-ahead log) stay small. Extraction runs in the worker
processes of `extraction_pool.py` (real child processes with real rlimits); the
embedding model is the hashing test double (no torch needed for plumbing)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.db.database import Database
from runtime.knowledge.limits import IngestLimits
from runtime.knowledge.models import IngestionJob
from runtime.knowledge.service import KnowledgeService, KnowledgeSettings
from runtime.policy.resources import Actor
from runtime.settings import Settings
from runtime.users.service import add_user, load_actor
from tests.runtime.knowledge import hostile
from tests.runtime.knowledge.fakes import HashingModel

NORMAL = ("urlaub.txt", b"Urlaub beantragen Sie im Personalportal, mindestens zwei Wochen vorher.")
# Everything the index holds after a job with one small file, with room to spare.
INDEX_FILES_BOUND = 2 * 1024 * 1024
WAL_BOUND = 64 * 1024
JOB_SECONDS = 90  # wall clock on a busy machine; each refusal itself takes about a second


@dataclass
class Harness:
    settings: Settings
    db: Database
    actor: Actor
    root: Path
    services: list[KnowledgeService]

    def service(self, limits: IngestLimits | None = None) -> KnowledgeService:
        config = KnowledgeSettings(dir=self.root, max_file_mb=16, limits=limits or IngestLimits())
        service = KnowledgeService(self.settings, self.db, config=config)
        self.services.append(service)
        return service

    async def ingest(
        self, service: KnowledgeService, files: list[tuple[str, bytes]], **index: Any
    ) -> tuple[dict[str, Any], IngestionJob, float]:
        """One job over `files` into a new index; the index, the finished job, its seconds."""
        created = await service.create_index(self.actor, "sales", f"index{len(self.services)}", **index)
        folder = self.root / "incoming" / created["id"]
        folder.mkdir(parents=True)
        paths = []
        for name, data in files:
            paths.append(folder / name)
            paths[-1].write_bytes(data)
        started = time.monotonic()
        job = await service.jobs.ingest_paths(self.actor, created["id"], paths)
        await service.jobs.wait(job["id"], JOB_SECONDS * 2)
        elapsed = time.monotonic() - started
        async with self.db.read() as session:
            row = await session.get(IngestionJob, job["id"])
        assert row is not None
        return created, row, elapsed


@pytest.fixture
async def harness(tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    monkeypatch.setattr("runtime.knowledge.backends.load_model", lambda name: HashingModel())
    settings = Settings(data_dir=tmp_path / "data", jwt_secret="x" * 40)
    async with db.write() as session:
        user = await add_user(session, "champion", "correct-horse-battery", "champion", "sales")
    async with db.read() as session:
        actor = await load_actor(session, user.id)
    assert actor is not None
    harness = Harness(settings, db, actor, tmp_path / "knowledge", [])
    yield harness
    for service in harness.services:
        await service.close()


def index_files(root: Path, index_id: str) -> dict[str, int]:
    directory = root / "indexes" / index_id
    return {path.name: path.stat().st_size for path in directory.iterdir() if path.name.startswith("chunks")}


async def assert_alone_and_bounded(
    harness: Harness,
    service: KnowledgeService,
    index: dict[str, Any],
    job: IngestionJob,
    elapsed: float,
    limit: str,
) -> None:
    assert elapsed < JOB_SECONDS, f"the job took {elapsed:.0f} s"
    assert job.status == "completed_with_errors", job.files
    refused, normal = job.files
    assert refused["status"] == "failed" and refused["code"] == "file_too_complex", refused
    assert refused["params"]["limit"] == limit
    assert "too complex to index" in refused["error"]
    assert normal["status"] == "indexed" and normal["chunks"] == 1, normal
    hits = await service.search(harness.actor, index["id"], "Urlaub Personalportal")
    assert [hit.source for hit in hits] == ["urlaub.txt"]
    files = index_files(harness.root, index["id"])
    assert sum(files.values()) < INDEX_FILES_BOUND, files
    assert files.get("chunks.sqlite-wal", 0) <= WAL_BOUND, files


@pytest.mark.parametrize(
    ("name", "build", "limit"),
    [
        ("betreff.eml", hostile.long_subject_eml, "header_chars"),
        ("verschachtelt.html", hostile.nested_divs_html, "nesting_depth"),
        ("newsletter.eml", hostile.nested_divs_eml, "nesting_depth"),
        ("leer.docx", hostile.empty_paragraphs_docx, "paragraphs"),
        ("bombe.docx", hostile.zip_bomb_docx, "decompressed_bytes"),
        ("eintraege.docx", hostile.many_entries_docx, "zip_entries"),
        ("seiten.pdf", hostile.many_pages_pdf, "pages"),
        ("bombe.pdf", hostile.flate_bomb_pdf, "pdf_structure"),
        ("saetze.txt", hostile.many_passages_text, "chunks"),
    ],
)
async def test_hostile_file_fails_alone(
    harness: Harness, name: str, build: Callable[[], bytes], limit: str
) -> None:
    service = harness.service()
    chunking = {"max_chars": 100, "overlap_chars": 10}  # small passages: the text file makes > 5,000
    index, job, elapsed = await harness.ingest(service, [(name, build()), NORMAL], chunking=chunking)
    await assert_alone_and_bounded(harness, service, index, job, elapsed, limit)


@pytest.mark.parametrize(
    ("limits", "limit"),
    [
        (IngestLimits(cpu_seconds=1), "cpu_seconds"),  # the kernel ends the worker (SIGXCPU)
        (IngestLimits(memory_mb=128), "memory_mb"),  # a MemoryError in the worker (RLIMIT_AS)
        (IngestLimits(timeout_s=0.5), "timeout_s"),  # the parent ends the worker
    ],
)
async def test_a_file_over_the_workers_resources_fails_alone(
    harness: Harness, limits: IngestLimits, limit: str
) -> None:
    # 90,000 paragraphs: within the structural limits, but seconds of CPU and ~200 MB.
    service = harness.service(limits)
    files = [("seite.html", hostile.flat_paragraphs_html(90_000)), NORMAL]
    index, job, elapsed = await harness.ingest(service, files)
    await assert_alone_and_bounded(harness, service, index, job, elapsed, limit)


async def test_many_documents_leave_no_large_write_ahead_log(harness: Harness) -> None:
    """Every batch is checkpointed into the database file and the log cut to zero: the
    log never keeps the size of the largest batch (SQLite alone never shrinks it)."""
    service = harness.service()
    files = [(f"kapitel-{n}.txt", ("Satz über Reisekosten. " * 400).encode()) for n in range(12)]
    index, job, _ = await harness.ingest(service, files)
    assert job.status == "succeeded" and job.chunks_done > 100
    files_now = index_files(harness.root, index["id"])
    assert files_now.get("chunks.sqlite-wal", 0) <= WAL_BOUND, files_now
