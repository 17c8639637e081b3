"""Runs in this process: start, stream, conclude, resume, cancel — and recover.

Durability in one picture::

    start ──▶ [runs: running] ──engine──▶ conclude ──▶ succeeded | failed | cancelled
                                            └──────▶ waiting + approval tasks
    decision/timeout (any process) ──▶ resume: claim `waiting → running` (one winner)
                                            ──▶ engine continues from the stored steps

A background sweep in every runtime process expires overdue tasks, resumes waiting runs
whose tasks were decided (a process may have died right after a decision), and takes
over runs whose worker stopped sending heartbeats. Claims are compare-and-set updates,
so with several processes each run is driven by exactly one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from runtime.approvals import service as approvals
from runtime.audit.service import append as audit
from runtime.db.database import Database
from runtime.db.models import ApprovalTask, FlowVersion, Run, RunStep, utcnow
from runtime.engine.compiled import FlowCache
from runtime.engine.executor import Engine
from runtime.engine.inputs import prepare_inputs
from runtime.engine.records import TERMINAL_RUN_STATES, RunOutcome
from runtime.errors import Conflict
from runtime.policy.resources import Actor
from runtime.runs.recorder import SqlRecorder, load_steps
from runtime.settings import Settings

log = logging.getLogger("dirigent.runs")
END = {"type": "end"}


class RunManager:
    def __init__(self, db: Database, settings: Settings, engine: Engine,
                 cache: FlowCache | None = None) -> None:
        self.db = db
        self.settings = settings
        self.engine = engine
        self.cache = cache or FlowCache()
        self.worker_id = settings.worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._recorders: dict[str, SqlRecorder] = {}
        self._listeners: dict[str, list[asyncio.Queue[dict[str, Any]]]] = {}
        self._background: list[asyncio.Task[None]] = []
        self._stopping = False
        # How each run driven here ended, for the final event of its stream.
        self._last_outcomes: dict[str, dict[str, Any]] = {}

    # -- starting ---------------------------------------------------------------------
    async def start(self, actor: Actor | None, version: FlowVersion, workspace_id: str,
                    inputs: Mapping[str, Any] | None, *, is_test: bool = False,
                    fixed_outputs: Mapping[str, Mapping[str, Any]] | None = None,
                    listen: bool = False) -> tuple[str, asyncio.Queue[dict[str, Any]] | None]:
        """Persist a new run of `version` and execute it in the background."""
        flow = self.cache.get(version.document, version.content_hash)
        prepared = prepare_inputs(flow.document, inputs)
        now = utcnow()
        run = Run(flow_id=version.flow_id, version_id=version.id, version_number=version.number,
                  content_hash=version.content_hash, workspace_id=workspace_id,
                  started_by=actor.id if actor else None, status="running", is_test=is_test,
                  inputs=prepared, worker_id=self.worker_id, heartbeat_at=now, started_at=now)
        async with self.db.write() as session:
            session.add(run)
            await session.flush()
            await audit(session, actor=actor.username if actor else None, action="run.started",
                        resource_type="run", resource_id=run.id, version_hash=version.content_hash,
                        detail={"flow_id": version.flow_id, "version": version.number, "test": is_test})
        queue = self.listen(run.id) if listen else None
        self._spawn(run.id, self._drive(run.id, version, prepared, fixed_outputs=fixed_outputs))
        return run.id, queue

    def _spawn(self, run_id: str, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine, name=f"run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run_id, None))

    async def wait(self, run_id: str, timeout_s: float) -> None:
        """Wait until this process stops driving the run (finished or waiting) or timeout."""
        task = self._tasks.get(run_id)
        if task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), timeout_s)

    # -- events -----------------------------------------------------------------------
    def listen(self, run_id: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._listeners.setdefault(run_id, []).append(queue)
        return queue

    def unlisten(self, run_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        listeners = self._listeners.get(run_id, [])
        if queue in listeners:
            listeners.remove(queue)
        if not listeners:
            self._listeners.pop(run_id, None)

    def _emitter(self, run_id: str) -> Any:
        def emit(event: dict[str, Any]) -> None:
            for queue in self._listeners.get(run_id, ()):
                queue.put_nowait(event)
        return emit

    @staticmethod
    async def events(queue: asyncio.Queue[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        while True:
            event = await queue.get()
            if event is END:
                return
            yield event

    # -- driving ----------------------------------------------------------------------
    async def _drive(self, run_id: str, version: FlowVersion, inputs: dict[str, Any], *,
                     completed: Mapping[str, Any] | None = None,
                     resolutions: Mapping[str, Any] | None = None,
                     fixed_outputs: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        flow = self.cache.get(version.document, version.content_hash)
        recorder = SqlRecorder(self.db, run_id, stored=set(completed or ()))
        self._recorders[run_id] = recorder
        emit = self._emitter(run_id)
        try:
            try:
                outcome = await self.engine.execute(
                    flow, run_id, inputs, completed=completed, resolutions=resolutions,
                    recorder=recorder, emit=emit, fixed_outputs=fixed_outputs)
            except asyncio.CancelledError:
                if self._stopping:  # shutting down: leave the run for another process
                    await self._release(run_id, recorder)
                    raise
                outcome = RunOutcome("cancelled", error={"node": None, "type": None, "kind": "Cancelled",
                                                         "message": "the run was cancelled"})
            await self._conclude(run_id, outcome, recorder)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database went away mid-run: the sweep will take over later
            log.exception("run %s could not be concluded", run_id)
        finally:
            self._recorders.pop(run_id, None)
            emit({"type": "run", "run_id": run_id, **self._final_event(run_id)})
            for queue in self._listeners.pop(run_id, []):
                queue.put_nowait(END)

    def _final_event(self, run_id: str) -> dict[str, Any]:
        return self._last_outcomes.pop(run_id, {"status": "unknown"})

    async def _conclude(self, run_id: str, outcome: RunOutcome, recorder: SqlRecorder) -> None:
        async with self.db.write() as session:
            await recorder.write_pending(session)
            run = await session.get(Run, run_id)
            assert run is not None
            run.status = outcome.status
            run.outputs = outcome.outputs
            run.error = outcome.error
            run.total_tokens = outcome.total_tokens  # counts resumed steps' usage too
            run.heartbeat_at = utcnow()
            if outcome.status == "waiting":
                await approvals.create_tasks(session, run, outcome.suspensions)
            else:
                run.finished_at = utcnow()
                await session.execute(
                    update(ApprovalTask).where(ApprovalTask.run_id == run_id, ApprovalTask.status == "open")
                    .values(status="cancelled", resolved_at=utcnow()).execution_options(synchronize_session=False))
            await audit(session, actor=None, action="run.waiting" if outcome.status == "waiting" else "run.finished",
                        resource_type="run", resource_id=run_id, version_hash=run.content_hash,
                        detail={"status": outcome.status, "error": outcome.error,
                                "tokens": outcome.total_tokens})
        self._last_outcomes[run_id] = {"status": outcome.status, "outputs": outcome.outputs,
                                       "error": outcome.error}

    async def _release(self, run_id: str, recorder: SqlRecorder) -> None:
        with contextlib.suppress(Exception):
            async with self.db.write() as session:
                await recorder.write_pending(session)
                await session.execute(update(Run).where(Run.id == run_id, Run.worker_id == self.worker_id)
                                      .values(worker_id=None, heartbeat_at=None)
                                      .execution_options(synchronize_session=False))

    # -- resuming ---------------------------------------------------------------------
    async def resume(self, run_id: str, *, orphan: bool = False) -> bool:
        """Continue a run from its stored state; False when another process got it first."""
        if run_id in self._tasks:
            return False
        cutoff = utcnow() - timedelta(seconds=self.settings.orphan_after_s)
        async with self.db.write() as session:
            if orphan:
                claim = update(Run).where(Run.id == run_id, Run.status == "running",
                                          or_(Run.heartbeat_at.is_(None), Run.heartbeat_at < cutoff))
            else:
                claim = update(Run).where(Run.id == run_id, Run.status == "waiting")
            result = await session.execute(
                claim.values(status="running", worker_id=self.worker_id, heartbeat_at=utcnow())
                .execution_options(synchronize_session=False))
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            run = await session.get(Run, run_id)
            version = await session.get(FlowVersion, run.version_id) if run else None
            steps = await load_steps(session, run_id)
            resolutions = await approvals.resolutions_for(session, run_id, steps)
            if run is None or version is None:
                return False
            inputs = dict(run.inputs or {})
        self._spawn(run_id, self._drive(run_id, version, inputs, completed=steps, resolutions=resolutions))
        return True

    # -- cancelling -------------------------------------------------------------------
    async def cancel(self, actor: Actor, run_id: str) -> str:
        """Cancel a run; returns the status it has (or will have shortly)."""
        task = self._tasks.get(run_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            return "cancelled"
        async with self.db.write() as session:
            run = await session.get(Run, run_id)
            assert run is not None
            if run.status in TERMINAL_RUN_STATES:
                raise Conflict(f"the run already ended ({run.status})", code="run_finished")
            if run.status == "running":  # driven by another process: ask it via the database
                run.cancel_requested = True
                return "cancelling"
            run.status, run.finished_at = "cancelled", utcnow()
            run.error = {"node": None, "type": None, "kind": "Cancelled", "message": "the run was cancelled"}
            await session.execute(update(ApprovalTask).where(ApprovalTask.run_id == run_id,
                                                             ApprovalTask.status == "open")
                                  .values(status="cancelled", resolved_at=utcnow())
                                  .execution_options(synchronize_session=False))
            await audit(session, actor=actor.username, action="run.cancelled", resource_type="run",
                        resource_id=run_id, version_hash=run.content_hash)
            return "cancelled"

    # -- background sweep -------------------------------------------------------------
    async def sweep(self) -> list[str]:
        """One pass: expire tasks, resume decided runs, adopt orphans. Returns resumed ids."""
        async with self.db.write() as session:
            await approvals.expire_due(session)
        async with self.db.read() as session:
            decided = (await session.execute(
                select(Run.id).join(ApprovalTask, ApprovalTask.run_id == Run.id)
                # Only decisions not applied yet: a task stays `approved` after its run went on.
                .join(RunStep, (RunStep.run_id == Run.id) & (RunStep.node_id == ApprovalTask.node_id))
                .where(Run.status == "waiting", ApprovalTask.status.in_(approvals.RESOLVED),
                       RunStep.status == "waiting")
                .distinct().limit(50))).scalars().all()
            cutoff = utcnow() - timedelta(seconds=self.settings.orphan_after_s)
            orphans = (await session.execute(
                select(Run.id).where(Run.status == "running",
                                     or_(Run.heartbeat_at.is_(None), Run.heartbeat_at < cutoff))
                .limit(50))).scalars().all()
            cancels = (await session.execute(
                select(Run.id).where(Run.id.in_(list(self._tasks)), Run.cancel_requested.is_(True))
            )).scalars().all() if self._tasks else []
        for run_id in cancels:
            if (task := self._tasks.get(run_id)) is not None:
                task.cancel()
        resumed = [run_id for run_id in decided if await self.resume(run_id)]
        resumed += [run_id for run_id in orphans if run_id not in self._tasks and await self.resume(run_id, orphan=True)]
        await self._heartbeat()
        return resumed

    async def _heartbeat(self) -> None:
        mine = [run_id for run_id in self._tasks]
        if not mine:
            return
        async with self.db.write() as session:
            await session.execute(update(Run).where(Run.id.in_(mine), Run.worker_id == self.worker_id,
                                                    Run.status == "running")
                                  .values(heartbeat_at=utcnow()).execution_options(synchronize_session=False))

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sweep failed; trying again")
            await asyncio.sleep(self.settings.sweep_interval_s)

    def start_background(self) -> None:
        self._background.append(asyncio.create_task(self._sweep_forever(), name="run-sweep"))

    async def stop(self) -> None:
        self._stopping = True
        for task in [*self._background, *self._tasks.values()]:
            task.cancel()
        for task in [*self._background, *list(self._tasks.values())]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
