"""Ingestion jobs left behind by a stopped process are resumed, skipping finished files."""

from __future__ import annotations

from pathlib import Path

from runtime.db.database import Database
from runtime.knowledge.models import IngestionJob, KnowledgeIndex
from runtime.knowledge.service import KnowledgeService
from runtime.settings import Settings
from runtime.users.service import add_user, load_actor
from tests.runtime.knowledge.fakes import HashingModel


async def test_interrupted_job_is_resumed_on_first_use(tmp_path: Path, db: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("runtime.knowledge.backends.load_model", lambda name: HashingModel())
    settings = Settings(data_dir=tmp_path / "data", jwt_secret="x" * 40)
    async with db.write() as session:
        user = await add_user(session, "champion", "correct-horse-battery", "champion", "sales")
    async with db.read() as session:
        actor = await load_actor(session, user.id)
    assert actor is not None
    first = KnowledgeService(settings, db)
    index = await first.create_index(actor, "sales", "handbuch")
    await first.close()

    # What a process that died mid-job leaves: a running job, one file done, one still spooled.
    spool = first.root / "uploads" / "job1"
    spool.mkdir(parents=True)
    (spool / "0002.upload").write_text("Urlaub beantragen im Personalportal.", encoding="utf-8")
    async with db.write() as session:
        session.add(
            IngestionJob(
                id="job1",
                index_id=index["id"],
                status="running",
                labels=[],
                files_total=2,
                files_done=1,
                files=[
                    {
                        "name": "alt.txt",
                        "size": 3,
                        "status": "indexed",
                        "chunks": 1,
                        "error": None,
                        "code": None,
                        "document_id": "d0",
                        "path": None,
                    },
                    {
                        "name": "urlaub.txt",
                        "size": 36,
                        "status": "running",
                        "chunks": 0,
                        "error": None,
                        "code": None,
                        "document_id": None,
                        "path": "0002.upload",
                    },
                ],
            )
        )

    second = KnowledgeService(settings, db)
    await second.ensure_started()
    await second.jobs.wait("job1", 60)
    async with db.read() as session:
        job = await session.get(IngestionJob, "job1")
        assert await session.get(KnowledgeIndex, index["id"]) is not None
    assert job is not None and job.status == "succeeded"
    assert [entry["status"] for entry in job.files] == ["indexed", "indexed"]
    assert (job.files_done, job.files_failed) == (2, 0)
    assert not spool.exists()
    hits = await second.search(actor, index["id"], "Urlaub Personalportal")
    assert [hit.source for hit in hits] == ["urlaub.txt"]
    await second.close()
