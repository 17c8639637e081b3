"""Ingestion jobs: an upload is spooled to disk, then indexed file by file in the background.

    upload ──▶ [job queued] ──▶ running: for each file
                                  read → hash → unchanged? (same hash and labels: no-op)
                                  extract → chunk → embed → replace the document's chunks
                                  → document row + audit entry
                               ──▶ succeeded | completed_with_errors | failed

Each file succeeds or fails on its own; a failed file leaves the index as it was (the
backend replaces a document's chunks in one step, after everything is embedded). Progress
(`files_done`, `files_failed`, `chunks_done`) is written to the job row as it goes, so
`GET /api/knowledge/jobs/{id}` and the CLI's progress bar read it from the database.

Which job runs when, and in which process, is the scheduler's (`scheduler.py`): jobs are
claimed from the database by compare-and-set, a few at a time per process, fairly across
workspaces. A job interrupted by a stop (or a dead process) is resumed from its spool
directory, skipping finished files.

Extraction and chunking run in worker processes with CPU and memory limits
(`extraction_pool.py`), bounded by `limits.py`; a file over a limit fails alone. The
embedding stays here (one model per process), and its work per file is bounded by the
passages a file may make (`max_chunks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from runtime.audit.service import Event, append_many
from runtime.audit.service import append as audit
from runtime.db.models import new_id, utcnow
from runtime.errors import BadRequest, DirigentError
from runtime.knowledge.backends import EMBED_BATCH, Backend, DocumentChunks, replace_documents
from runtime.knowledge.chunking import ChunkingSettings
from runtime.knowledge.errors import FileRejected
from runtime.knowledge.extraction_pool import shared_pool
from runtime.knowledge.models import IngestionJob, KnowledgeDocument, KnowledgeIndex, iso
from runtime.knowledge.scheduler import JobScheduler
from runtime.knowledge.uploads import SpooledUpload, spool_multipart
from runtime.policy.resources import Actor

if TYPE_CHECKING:
    from runtime.knowledge.service import KnowledgeService

log = logging.getLogger("dirigent.knowledge.jobs")

PROGRESS_EVERY_S = 1.0
# Files read and extracted ahead of the one being embedded. One: looking further ahead
# made the model slower on two cores (extraction competes with it) and bought nothing.
PREPARE_AHEAD = 1
ACTIVE = ("queued", "running")
TERMINAL = ("succeeded", "completed_with_errors", "failed")


def job_as_json(job: IngestionJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "index_id": job.index_id,
        "status": job.status,
        "labels": list(job.labels or []),
        "files_total": job.files_total,
        "files_done": job.files_done,
        "files_failed": job.files_failed,
        "chunks_done": job.chunks_done,
        "error": job.error,
        "files": [{key: value for key, value in entry.items() if key != "path"} for entry in job.files],
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
    }


class IngestionJobs:
    def __init__(self, service: KnowledgeService) -> None:
        self.service = service
        config = service.config
        self.limits = config.limits
        self.pool = shared_pool(self.limits.memory_mb)
        self.worker_id = service.settings.worker_id or (
            f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )
        self.scheduler = JobScheduler(
            service.db,
            self._run,
            worker_id=self.worker_id,
            slots=config.ingest_slots,
            workspace_slots=config.workspace_slots,
            poll_s=config.poll_s,
            orphan_after_s=service.settings.orphan_after_s,
        )
        # index id per job running here, to stop them when their index is deleted
        self._index_of: dict[str, str] = {}

    def only_own_jobs(self) -> None:
        """Run only the jobs this process creates (the CLI: it ends after its own)."""
        self.scheduler.only = set()

    @property
    def spool_root(self) -> Path:
        return self.service.root / "uploads"

    # -- starting ---------------------------------------------------------------------
    async def upload(
        self,
        actor: Actor,
        index_id: str,
        stream: AsyncIterator[bytes],
        content_type: str,
        labels: list[str] | None = None,
    ) -> dict[str, Any]:
        """Spool a multipart upload and queue it as a job; returns the job."""
        from runtime.knowledge.service import parse_labels

        service = self.service
        await service.ensure_started()
        async with service.db.read() as session:
            index, _ = await service.get_index(session, actor, index_id, "manage")
        job_id = new_id()
        directory = self.spool_root / job_id
        try:
            spooled = await spool_multipart(stream, content_type, directory, service.config.max_file_bytes)
            if not spooled.files:
                raise BadRequest(
                    "the upload holds no files; send each file as a 'files' part", code="no_files"
                )
            job_labels = parse_labels(labels if labels is not None else spooled.fields.get("labels"))
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return await self.create(actor, index, job_id, spooled, job_labels)

    async def ingest_paths(
        self, actor: Actor, index_id: str, paths: list[Path], labels: list[str] | None = None
    ) -> dict[str, Any]:
        """Queue local files (the CLI): copied into the spool like an upload."""
        from runtime.knowledge.errors import FileTooLarge, UnsupportedFileType
        from runtime.knowledge.extract import check_supported, too_large_message
        from runtime.knowledge.service import parse_labels
        from runtime.knowledge.uploads import SpooledFile

        service = self.service
        await service.ensure_started()
        async with service.db.read() as session:
            index, _ = await service.get_index(session, actor, index_id, "manage")
        job_id = new_id()
        directory = self.spool_root / job_id
        directory.mkdir(parents=True, exist_ok=True)
        spooled = SpooledUpload()
        limit = service.config.max_file_bytes
        for number, path in enumerate(paths, start=1):
            entry = SpooledFile(path.name, size=path.stat().st_size)
            spooled.files.append(entry)
            try:
                check_supported(path.name)
                if entry.size > limit:
                    raise FileTooLarge(too_large_message(entry.size, limit))
            except (UnsupportedFileType, FileTooLarge) as error:
                entry.error = error
                continue
            entry.path = directory / f"{number:04d}.upload"
            await asyncio.to_thread(shutil.copyfile, path, entry.path)
        return await self.create(actor, index, job_id, spooled, parse_labels(labels or []))

    async def create(
        self, actor: Actor, index: KnowledgeIndex, job_id: str, spooled: SpooledUpload, labels: list[str]
    ) -> dict[str, Any]:
        files: list[dict[str, Any]] = []
        for entry in spooled.files:
            item: dict[str, Any] = {
                "name": entry.name,
                "size": entry.size,
                "status": "queued",
                "chunks": 0,
                "error": None,
                "code": None,
                "document_id": None,
                "path": entry.path.name if entry.path else None,
            }
            if entry.error is not None:
                item.update(status="failed", error=entry.error.message, code=entry.error.code)
            elif any(other["name"] == entry.name and other["status"] != "failed" for other in files):
                item.update(
                    status="failed",
                    code="duplicate_name",
                    error="another file of this upload has the same name; only the first is indexed",
                )
            files.append(item)
        failed = sum(1 for item in files if item["status"] == "failed")
        job = IngestionJob(
            id=job_id,
            index_id=index.id,
            status="queued",
            files=files,
            labels=labels,
            files_total=len(files),
            files_done=failed,
            files_failed=failed,
            created_by=actor.id,
        )
        async with self.service.db.write() as session:
            session.add(job)
            await session.flush()
            await audit(
                session,
                actor=actor.username,
                action="knowledge.upload",
                resource_type="knowledge_index",
                resource_id=index.id,
                detail={"job": job_id, "files": [item["name"] for item in files], "labels": labels},
            )
        if self.scheduler.only is not None:
            self.scheduler.only.add(job_id)
        self.scheduler.start()
        self.scheduler.wake()
        return job_as_json(job)

    async def wait(self, job_id: str, timeout_s: float = 600.0) -> None:
        """Until the job has ended (here or in another process), or `timeout_s` passed."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            task = self.scheduler.running.get(job_id)
            if task is not None:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(task), max(deadline - time.monotonic(), 0))
            async with self.service.db.read() as session:
                status = (
                    await session.execute(select(IngestionJob.status).where(IngestionJob.id == job_id))
                ).scalar_one_or_none()
            if status is None or status in TERMINAL:
                return
            await asyncio.sleep(0.05)

    async def get(self, actor: Actor, job_id: str) -> dict[str, Any]:
        service = self.service
        await service.ensure_started()
        async with service.db.read() as session:
            job = await session.get(IngestionJob, job_id)
            if job is None:
                from runtime.errors import NotFound

                raise NotFound("ingestion job not found", code="not_found", resource="ingestion_job")
            await service.get_index(session, actor, job.index_id)
        return job_as_json(job)

    def start(self) -> None:
        """Start claiming jobs: queued ones, and those a stopped process left behind."""
        self.scheduler.start()

    async def cancel_for_index(self, index_id: str, job_ids: list[str]) -> None:
        """Stop the jobs of a deleted index that run here and remove their spool (`job_ids`:
        the index's jobs, read before the index was deleted with them)."""
        for job_id in {*job_ids, *(job for job, index in self._index_of.items() if index == index_id)}:
            task = self.scheduler.running.get(job_id)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            shutil.rmtree(self.spool_root / job_id, ignore_errors=True)

    async def stop(self) -> None:
        await self.scheduler.stop()

    # -- running ----------------------------------------------------------------------
    async def _run(self, job_id: str) -> None:
        """Run a job this process claimed (the scheduler calls it)."""
        try:
            await self._process(job_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the job fails as a whole only when the runtime cannot go on
            if not await self._still_exists(job_id):
                # Its index was deleted (with its jobs) by another process, and the job's
                # next write found it gone before this process's heartbeat noticed.
                log.info("ingestion job %s stopped: its index was deleted", job_id)
                return
            log.exception("ingestion job %s failed", job_id)
            message = (
                error.message
                if isinstance(error, DirigentError)
                else (f"the job stopped on an unexpected {type(error).__name__}; see the runtime log")
            )
            await self._finish(job_id, "failed", message)
        finally:
            self._index_of.pop(job_id, None)

    async def _still_exists(self, job_id: str) -> bool:
        async with self.service.db.read() as session:
            return await session.get(IngestionJob, job_id) is not None

    async def _process(self, job_id: str) -> None:
        service = self.service
        async with service.db.read() as session:
            job = await session.get(IngestionJob, job_id)
            if job is None or job.status != "running" or job.worker_id != self.worker_id:
                return
            index = await session.get(KnowledgeIndex, job.index_id)
            if index is None:
                return
        self._index_of[job_id] = index.id
        backend = await service.backends.get(index)
        directory = self.spool_root / job_id
        progress = _Progress(self, job)
        # Three stages overlap: a preparer reads, compares and extracts the files ahead, in
        # order; the embedder takes what is ready — several small files at once, so the
        # model gets full batches — and stores it; the files finished meanwhile get their
        # rows, audit entries and the job's progress in one transaction.
        pending = [entry for entry in job.files if entry["status"] in ACTIVE]
        ready: asyncio.Queue[tuple[dict[str, Any], dict[str, Any] | Exception] | None] = asyncio.Queue(
            maxsize=PREPARE_AHEAD
        )

        async def prepare_all() -> None:
            for entry in pending:
                await ready.put((entry, await self._prepare(index, job, entry, directory)))
            await ready.put(None)

        preparer = asyncio.create_task(prepare_all())
        recording: asyncio.Task[None] | None = None
        finished: list[tuple[dict[str, Any], dict[str, Any] | None, Path | None]] = []
        try:
            done = False
            while not done:
                first = await ready.get()
                if first is None:
                    break
                group, chunks = [first], _chunk_count(first[1])
                while chunks < EMBED_BATCH:
                    try:
                        following = ready.get_nowait()
                    except asyncio.QueueEmpty:
                        break
                    if following is None:
                        done = True
                        break
                    group.append(following)
                    chunks += _chunk_count(following[1])
                for entry, outcome in await self._embed(backend, group, progress, job_id):
                    path = directory / entry["path"] if entry.get("path") else None
                    finished.append((entry, outcome, path))
                if recording is None or recording.done():
                    if recording is not None:
                        await recording
                    recording = asyncio.create_task(self._record_files(index, job, finished))
                    finished = []
        finally:
            preparer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await preparer
        if recording is not None:
            await recording
        if finished:
            await self._record_files(index, job, finished)
        await backend.flush()
        _copy_progress(job, job)
        status = (
            "succeeded"
            if job.files_failed == 0
            else "failed"
            if job.files_failed == job.files_total
            else "completed_with_errors"
        )
        await self._finish(job_id, status, None, job)
        shutil.rmtree(directory, ignore_errors=True)

    async def _prepare(
        self, index: KnowledgeIndex, job: IngestionJob, entry: dict[str, Any], directory: Path
    ) -> dict[str, Any] | Exception:
        """Read, compare and extract one file: its chunks, or "unchanged", or the error."""
        try:
            path = directory / entry["path"] if entry.get("path") else None
            if path is None or not path.exists():
                raise FileRejected("the uploaded file is gone from the spool; upload it again")
            name = entry["name"]
            data = await asyncio.to_thread(path.read_bytes)
            content_hash = hashlib.sha256(data).hexdigest()
            labels = sorted(job.labels or [])
            async with self.service.db.read() as session:
                query = select(KnowledgeDocument).where(
                    KnowledgeDocument.index_id == index.id, KnowledgeDocument.filename == name
                )
                existing = (await session.execute(query)).scalar_one_or_none()
            if (
                existing is not None
                and existing.content_hash == content_hash
                and sorted(existing.labels) == labels
            ):
                return {"status": "unchanged", "chunks": existing.chunk_count, "document_id": existing.id}
            # In a worker process, within the limits (a refusal is a FileRejected).
            media_type, chunks = await self.pool.extract(
                name,
                path,
                max_bytes=self.service.config.max_file_bytes,
                chunking=ChunkingSettings.model_validate(index.chunking or {}).model_dump(),
                limits=self.limits,
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # handed to the loop, which records it on the file
            return error
        document = DocumentChunks(
            existing.id if existing is not None else new_id(),
            name,
            content_hash[:12],
            chunks,
            tuple(sorted(set(index.labels or []) | set(labels))),
            previous_version=existing.content_hash[:12] if existing is not None else None,
            previous_count=existing.chunk_count if existing is not None else 0,
        )
        return {
            "status": "prepared",
            "document": document,
            "labels": labels,
            "content_hash": content_hash,
            "size": len(data),
            "media_type": media_type,
            "replaces": existing is not None,
        }

    async def _embed(
        self,
        backend: Backend,
        group: list[tuple[dict[str, Any], dict[str, Any] | Exception]],
        progress: _Progress,
        job_id: str,
    ) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Embed and store the prepared files of `group` (each document replaced in one
        step); per file its outcome, or None after recording why it failed."""
        documents = [
            prepared["document"]
            for _, prepared in group
            if isinstance(prepared, dict) and prepared["status"] == "prepared"
        ]
        try:
            counts = iter(await replace_documents(backend, documents, progress.add) if documents else [])
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the model failed: every file of the group with it
            counts = iter([error] * len(documents))
        results: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        for entry, prepared in group:
            if isinstance(prepared, Exception):
                _fail(entry, prepared, job_id)
                results.append((entry, None))
            elif prepared["status"] == "unchanged":
                results.append((entry, prepared))
            else:
                count = next(counts)
                if isinstance(count, Exception):
                    _fail(entry, count, job_id)
                    results.append((entry, None))
                else:
                    document: DocumentChunks = prepared["document"]
                    outcome = {key: value for key, value in prepared.items() if key != "document"}
                    results.append(
                        (
                            entry,
                            {
                                **outcome,
                                "status": "indexed",
                                "chunks": count,
                                "document_id": document.document_id,
                            },
                        )
                    )
        return results

    async def _record_files(
        self,
        index: KnowledgeIndex,
        job: IngestionJob,
        finished: list[tuple[dict[str, Any], dict[str, Any] | None, Path | None]],
    ) -> None:
        """Document rows and audit entries of finished files, and the job's progress, in one
        transaction. If it fails, each file is failed with the reason (its chunks are in the
        backend already; the next upload of the same file replaces them)."""
        try:
            async with self.service.db.write() as session:
                events = []
                for entry, outcome, _ in finished:
                    if outcome is not None and outcome["status"] == "indexed":
                        events.append(await self._write_document(session, index, job, entry["name"], outcome))
                await session.flush()
                await append_many(session, events)
                for entry, outcome, _ in finished:
                    if outcome is not None:
                        entry.update(
                            status=outcome["status"],
                            chunks=outcome["chunks"],
                            document_id=outcome["document_id"],
                        )
                row = await session.get(IngestionJob, job.id)
                if row is not None:
                    _copy_progress(job, row)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            for entry, _, _ in finished:
                _fail(entry, error, job.id)
            await _Progress(self, job).save(force=True)
        for _, _, path in finished:
            if path is not None:
                path.unlink(missing_ok=True)

    async def _write_document(
        self, session: Any, index: KnowledgeIndex, job: IngestionJob, name: str, outcome: dict[str, Any]
    ) -> Event:
        document_id = outcome["document_id"]
        row = await session.get(KnowledgeDocument, document_id) if outcome["replaces"] else None
        if row is None:
            row = KnowledgeDocument(
                id=document_id, index_id=index.id, filename=name, created_by=job.created_by
            )
            session.add(row)
        row.content_hash, row.size_bytes = outcome["content_hash"], outcome["size"]
        row.media_type, row.labels = outcome["media_type"], outcome["labels"]
        row.chunk_count, row.updated_at = outcome["chunks"], utcnow()
        return Event(
            actor=job.created_by,
            action="knowledge.document.replaced" if outcome["replaces"] else "knowledge.document.indexed",
            resource_type="knowledge_document",
            resource_id=document_id,
            detail={
                "index_id": index.id,
                "filename": name,
                "content_hash": outcome["content_hash"],
                "chunks": outcome["chunks"],
                "labels": outcome["labels"],
                "job": job.id,
            },
        )

    async def _finish(
        self, job_id: str, status: str, error: str | None, job: IngestionJob | None = None
    ) -> None:
        async with self.service.db.write() as session:
            row = await session.get(IngestionJob, job_id)
            if row is None:
                return
            if job is not None:
                _copy_progress(job, row)
            row.status, row.error, row.finished_at = status, error, utcnow()
            await audit(
                session,
                actor=None,
                action="knowledge.job.finished",
                resource_type="knowledge_index",
                resource_id=row.index_id,
                detail={
                    "job": job_id,
                    "status": status,
                    "files_total": row.files_total,
                    "files_failed": row.files_failed,
                    "chunks": row.chunks_done,
                },
            )


def _chunk_count(prepared: dict[str, Any] | Exception) -> int:
    if isinstance(prepared, dict) and prepared["status"] == "prepared":
        return len(prepared["document"].chunks)
    return 0


def _fail(entry: dict[str, Any], error: Exception, job_id: str) -> None:
    """Record on `entry` why its file failed (once; a later stage may fail it too)."""
    if entry.get("status") == "failed":
        return
    if isinstance(error, DirigentError):  # a FileRejected, or the backend refused this file
        entry.update(status="failed", error=error.message, code=error.code, params=dict(error.extra) or None)
    else:
        log.error("indexing %s in job %s failed", entry["name"], job_id, exc_info=error)
        entry.update(
            status="failed",
            code="internal_error",
            error=f"indexing failed on an unexpected {type(error).__name__}; the runtime log has details",
        )


def _copy_progress(source: IngestionJob, target: IngestionJob) -> None:
    """Write `source`'s progress onto `target`; the counters follow from the file entries."""
    source.files_done = sum(1 for entry in source.files if entry["status"] not in ACTIVE)
    source.files_failed = sum(1 for entry in source.files if entry["status"] == "failed")
    target.files = [dict(entry) for entry in source.files]
    flag_modified(target, "files")
    target.files_done, target.files_failed = source.files_done, source.files_failed
    target.chunks_done = source.chunks_done


class _Progress:
    """Counts embedded chunks and writes the job's progress at most once a second."""

    def __init__(self, jobs: IngestionJobs, job: IngestionJob) -> None:
        self.jobs = jobs
        self.job = job
        self._saved_at = 0.0

    async def add(self, chunks: int) -> None:
        self.job.chunks_done += chunks
        await self.save()

    async def save(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._saved_at < PROGRESS_EVERY_S:
            return
        self._saved_at = now
        async with self.jobs.service.db.write() as session:
            row = await session.get(IngestionJob, self.job.id)
            if row is not None:
                _copy_progress(self.job, row)
