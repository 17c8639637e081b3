"""Which ingestion job runs next, and where: claimed from the database, fair by workspace.

Every runtime process runs one `JobScheduler`. It works on up to `slots` jobs at a time
and, whenever one is free (a job ended, an upload arrived here, or every `poll_s`), claims
the next one:

    claimable   queued, or running with no heartbeat for `orphan_after_s` (its process
                stopped or died: the job resumes from its spool, skipping finished files),
                and no other job of its index running (an index is written by one job at
                a time: two jobs with the same file name would both add the document)
    next        among workspaces with fewer than `workspace_slots` jobs running, the one
                served least recently (the latest `claimed_at` of its jobs; never served
                first), and its oldest claimable job
    claim       UPDATE … SET status = 'running', worker_id = <this process>, heartbeat_at,
                claimed_at WHERE id = … AND <still claimable> — compare-and-set: of several
                processes that pick the same job, exactly one updates the row; the
                index's row is locked first (FOR UPDATE on PostgreSQL; SQLite writes one
                at a time anyway), so two jobs of one index are never claimed at once

So one workspace with a backlog of big uploads takes one slot (by default), and each
other workspace's upload starts as soon as a slot is free, before that backlog goes on.
`workspace_slots` is kept by each process from what the database shows when it claims,
so two processes claiming at the same instant may both start a job of one workspace;
which process runs a job is never in doubt.

The running jobs' heartbeats are written every `poll_s`; a job whose row is gone (its
index was deleted) or that another process took over is cancelled here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from runtime.db.database import Database
from runtime.db.models import UTCDateTime, utcnow
from runtime.knowledge.models import IngestionJob, KnowledgeIndex

log = logging.getLogger("dirigent.knowledge.scheduler")

_NEVER = datetime.min.replace(tzinfo=UTC)


class JobScheduler:
    def __init__(
        self,
        db: Database,
        run: Callable[[str], Coroutine[Any, Any, None]],
        *,
        worker_id: str,
        slots: int,
        workspace_slots: int,
        poll_s: float,
        orphan_after_s: float,
    ) -> None:
        self.db = db
        self.run = run
        self.worker_id = worker_id
        self.slots = slots
        self.workspace_slots = workspace_slots
        self.poll_s = poll_s
        self.orphan_after_s = orphan_after_s
        # None: any job; a set: only these (a CLI process runs the jobs it created).
        self.only: set[str] | None = None
        self.running: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    # -- the loop ---------------------------------------------------------------------
    def start(self) -> None:
        if self._loop is None or self._loop.done():
            self._wake = asyncio.Event()
            self._loop = asyncio.create_task(self._serve(), name="ingestion-scheduler")

    def wake(self) -> None:
        self._wake.set()

    async def _serve(self) -> None:
        while True:
            try:
                await self.heartbeat()
                while len(self.running) < self.slots and (job_id := await self.claim_next()):
                    self._start(job_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ingestion scheduling failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()

    def _start(self, job_id: str) -> None:
        task = asyncio.create_task(self.run(job_id), name=f"ingest-{job_id}")
        self.running[job_id] = task

        def done(_: asyncio.Task[None]) -> None:
            self.running.pop(job_id, None)
            self.wake()  # a slot is free

        task.add_done_callback(done)

    async def stop(self) -> None:
        """Stop claiming, cancel the jobs running here and release them, so that another
        process (or this one, started again) resumes them at once."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loop
            self._loop = None
        mine = list(self.running)
        for task in list(self.running.values()):
            task.cancel()
        for task in list(self.running.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if mine:
            with contextlib.suppress(Exception):
                async with self.db.write() as session:
                    await session.execute(
                        update(IngestionJob)
                        .where(
                            IngestionJob.id.in_(mine),
                            IngestionJob.worker_id == self.worker_id,
                            IngestionJob.status == "running",
                        )
                        .values(worker_id=None, heartbeat_at=None)
                        .execution_options(synchronize_session=False)
                    )

    # -- claiming ---------------------------------------------------------------------
    def _claimable(self, now: datetime) -> ColumnElement[bool]:
        stale = now - timedelta(seconds=self.orphan_after_s)
        other = aliased(IngestionJob)
        index_busy = (
            select(other.id)
            .where(
                other.index_id == IngestionJob.index_id,
                other.id != IngestionJob.id,
                other.status == "running",
                other.heartbeat_at >= stale,
            )
            .exists()
        )
        condition = and_(
            or_(
                IngestionJob.status == "queued",
                and_(
                    IngestionJob.status == "running",
                    or_(IngestionJob.heartbeat_at.is_(None), IngestionJob.heartbeat_at < stale),
                ),
            ),
            ~index_busy,
        )
        if self.only is not None:
            condition = and_(condition, IngestionJob.id.in_(sorted(self.only)))
        return condition

    async def claim_next(self) -> str | None:
        """Claim the next job by the rules above; its id, or None if there is none."""
        if self.only is not None and not self.only:
            return None
        now = utcnow()
        claimable = self._claimable(now)
        fresh = now - timedelta(seconds=self.orphan_after_s)
        workspace = KnowledgeIndex.workspace_id
        joined = IngestionJob.__table__.join(
            KnowledgeIndex.__table__, KnowledgeIndex.id == IngestionJob.index_id
        )
        async with self.db.read() as session:
            waiting: dict[str, datetime] = {
                row[0]: row[1]
                for row in await session.execute(
                    select(workspace, func.min(IngestionJob.created_at))
                    .select_from(joined)
                    .where(claimable)
                    .group_by(workspace)
                )
            }
            if not waiting:
                return None
            running_here = and_(IngestionJob.status == "running", IngestionJob.heartbeat_at >= fresh)
            served: dict[str, tuple[Any, Any]] = {
                row[0]: (row[1], row[2])
                for row in (
                    await session.execute(
                        select(
                            workspace,
                            func.max(IngestionJob.claimed_at),
                            func.sum(case((running_here, 1), else_=0)),
                        )
                        .select_from(joined)
                        .where(workspace.in_(list(waiting)))
                        .group_by(workspace)
                    )
                ).all()
            }
        candidates = sorted(
            (
                (served.get(ws, (None, 0))[0] or _NEVER, oldest, ws)
                for ws, oldest in waiting.items()
                if int(served.get(ws, (None, 0))[1] or 0) < self.workspace_slots
            ),
        )
        for _, _, workspace_id in candidates:
            claimed = await self._claim_oldest(workspace_id)
            if claimed is not None:
                return claimed
        return None

    async def _claim_oldest(self, workspace_id: str) -> str | None:
        """Compare-and-set on the oldest claimable job of the workspace (a few tries: another
        process may take the one we saw)."""
        for _ in range(3):
            now = utcnow()
            async with self.db.read() as session:
                found = (
                    await session.execute(
                        select(IngestionJob.id, IngestionJob.index_id)
                        .join(KnowledgeIndex, KnowledgeIndex.id == IngestionJob.index_id)
                        .where(KnowledgeIndex.workspace_id == workspace_id, self._claimable(now))
                        .order_by(IngestionJob.created_at, IngestionJob.id)
                        .limit(1)
                    )
                ).first()
            if found is None:
                return None
            job_id, index_id = found
            async with self.db.write() as session:
                # Claims of one index wait for each other here, so the check below sees
                # a job another process has just claimed on it.
                await session.execute(
                    select(KnowledgeIndex.id).where(KnowledgeIndex.id == index_id).with_for_update()
                )
                result = await session.execute(
                    update(IngestionJob)
                    .where(IngestionJob.id == job_id, self._claimable(now))
                    .values(
                        status="running",
                        worker_id=self.worker_id,
                        heartbeat_at=now,
                        claimed_at=now,
                        started_at=func.coalesce(IngestionJob.started_at, literal(now, UTCDateTime)),
                    )
                    .execution_options(synchronize_session=False)
                )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return job_id
        return None

    # -- heartbeats -------------------------------------------------------------------
    async def heartbeat(self) -> None:
        """Tell other processes the jobs here are alive; cancel those that are not ours
        any more (deleted with their index, or taken over after a long stall)."""
        mine = list(self.running)
        if not mine:
            return
        async with self.db.write() as session:
            await session.execute(
                update(IngestionJob)
                .where(
                    IngestionJob.id.in_(mine),
                    IngestionJob.worker_id == self.worker_id,
                    IngestionJob.status == "running",
                )
                .values(heartbeat_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            still = set(
                (
                    await session.execute(
                        select(IngestionJob.id).where(
                            IngestionJob.id.in_(mine), IngestionJob.worker_id == self.worker_id
                        )
                    )
                ).scalars()
            )
        for job_id in mine:
            if job_id not in still and (task := self.running.get(job_id)) is not None:
                log.warning("ingestion job %s is no longer this process's; stopping it here", job_id)
                task.cancel()
