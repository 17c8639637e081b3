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

Accepted means stored: a run whose caller is told it exists without its result — a 202,
a webhook delivery, a request with an `Idempotency-Key` — is in the database before the
answer (`ensure_stored`, or `start(admission=...)`, which writes the run's row in one
transaction with the caller's guard row before the run starts). Only a run whose caller
waits for its end in the same answer is written behind (see `runtime/runs/recorder.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.approvals import service as approvals
from runtime.audit.service import Event
from runtime.audit.service import append as audit
from runtime.db.database import Database
from runtime.db.models import ApprovalTask, FlowVersion, Run, RunStep, new_id, utcnow
from runtime.engine.compiled import FlowCache
from runtime.engine.executor import Engine
from runtime.engine.inputs import prepare_inputs
from runtime.engine.records import TERMINAL_RUN_STATES, RunOutcome
from runtime.errors import Conflict, Unavailable
from runtime.observability import metrics, tracing
from runtime.observability.labels import RunLabels
from runtime.policy.resources import Actor
from runtime.runs import sub_run_waits as sub_runs
from runtime.runs.admission import Admission, prune_expired
from runtime.runs.recorder import RunStart, SqlRecorder, load_steps
from runtime.runs.views import run_as_json
from runtime.runs.writer import RunWriter
from runtime.settings import Settings

log = logging.getLogger("dirigent.runs")
END = {"type": "end"}


class RunnableVersion(Protocol):
    """What a run needs of its flow version: a stored `FlowVersion`, or a lighter view
    of one (`runtime.runs.live.LiveVersion`)."""

    @property
    def id(self) -> str: ...
    @property
    def flow_id(self) -> str: ...
    @property
    def number(self) -> int: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def document(self) -> dict[str, Any]: ...


class RunManager:
    def __init__(
        self, db: Database, settings: Settings, engine: Engine, cache: FlowCache | None = None
    ) -> None:
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
        # Runs another process has taken over from here (this process's heartbeats came too
        # late, e.g. on an overloaded machine): stopped without writing anything more.
        self._lost: set[str] = set()
        # How each run driven here ended, for the final event of its stream.
        self._last_outcomes: dict[str, dict[str, Any]] = {}
        # Row values of runs started here (some not written yet), and finished runs whose
        # caller waits for them (`take_result`).
        self._facts: dict[str, dict[str, Any]] = {}
        self.writer = RunWriter(db, owner=self.worker_id)
        self._waiters: set[str] = set()
        self._results: dict[str, dict[str, Any]] = {}
        # Writes that make a longer run visible (see `_drive`), by run.
        self._visibility: dict[str, asyncio.Task[None]] = {}
        # Called first in every sweep: other state of this process that follows the
        # database (e.g. the model endpoints, runtime/llm/endpoints.py). Each must not raise.
        self.sweep_hooks: list[Callable[[], Awaitable[None]]] = []
        self.labels = RunLabels(db)  # assistant and workspace slugs for the run metrics

    # -- starting ---------------------------------------------------------------------
    async def start(
        self,
        actor: Actor | None,
        version: RunnableVersion,
        workspace_id: str,
        inputs: Mapping[str, Any] | None,
        *,
        is_test: bool = False,
        fixed_outputs: Mapping[str, Mapping[str, Any]] | None = None,
        listen: bool = False,
        allow_live_reads: bool = False,
        admission: Admission | None = None,
        parent_run_id: str | None = None,
        call_depth: int = 0,
    ) -> tuple[str, asyncio.Queue[dict[str, Any]] | None]:
        """Start a run of `version` in the background; it is written as the recorder decides.

        With `admission`, the run's row is written first, in one transaction with the
        admission's writes (a webhook's replay guard, an idempotency key), and the run
        starts only after that committed. An admission refuses by raising: then nothing
        was stored, nothing runs, and the error reaches the caller.
        """
        flow = self.cache.get(version.document, version.content_hash)
        prepared = prepare_inputs(flow.document, inputs)
        now = utcnow()
        run_id = new_id()
        live_reads = is_test and allow_live_reads
        values: dict[str, Any] = {
            "id": run_id,
            "flow_id": version.flow_id,
            "version_id": version.id,
            "version_number": version.number,
            "content_hash": version.content_hash,
            "workspace_id": workspace_id,
            "started_by": actor.id if actor else None,
            "status": "running",
            "is_test": is_test,
            "allow_live_reads": live_reads,
            "inputs": prepared,
            "parent_run_id": parent_run_id,
            "call_depth": call_depth,
            "worker_id": self.worker_id,
            "heartbeat_at": now,
            "started_at": now,
            "created_at": now,
        }
        started = Event(
            actor=actor.username if actor else None,
            action="run.started",
            resource_type="run",
            resource_id=run_id,
            version_hash=version.content_hash,
            detail={"flow_id": version.flow_id, "version": version.number, "test": is_test},
        )
        recorder = SqlRecorder(self.writer, run_id, start=RunStart(values, started))
        if admission is not None:
            await recorder.write(events=admission.events(run_id), admission=admission)
        self._facts[run_id] = values
        self._recorders[run_id] = recorder
        queue = self.listen(run_id) if listen else None
        self._spawn(
            run_id,
            self._drive(
                run_id,
                version,
                prepared,
                fixed_outputs=fixed_outputs,
                recorder=recorder,
                caller_id=values["started_by"],
                workspace_id=workspace_id,
                test_mode=(is_test, live_reads),
                parent_run_id=parent_run_id,
            ),
        )
        return run_id, queue

    async def ensure_stored(self, run_id: str) -> None:
        """Write the row of run `run_id` (started here) now if it is still buffered: its
        caller is about to be told that the run exists. A run that concluded is stored
        with its conclusion already.

        Raises `Unavailable` when the row cannot be written; the run is then cancelled, so
        that nothing goes on that nobody was told about.
        """
        recorder = self._recorders.get(run_id)
        if recorder is None or recorder.start_committed:
            return
        # A quick run often concludes meanwhile (its conclusion carries the row): leave its
        # result for `take_result`, as for a caller that waited.
        self._waiters.add(run_id)
        try:
            await recorder.persist_start()
        except Exception as error:
            log.warning("run %s could not be stored (%s); cancelling it", run_id, error)
            self._results.pop(run_id, None)
            if (task := self._tasks.get(run_id)) is not None:
                task.cancel()
            raise Unavailable(
                "the run could not be stored, so it was not started; try again",
                code="run_not_stored",
            ) from error
        finally:
            self._waiters.discard(run_id)

    def running_as_json(self, run_id: str) -> dict[str, Any] | None:
        """A run this process drives and that has not ended, as `GET /api/runs/{id}` shows
        it without its steps — what a 202 says, without reading back the row just stored."""
        facts = self._facts.get(run_id)
        return run_as_json(facts, [], []) if facts is not None else None

    def _spawn(self, run_id: str, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine, name=f"run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run_id, None))

    async def wait(self, run_id: str, timeout_s: float) -> None:
        """Wait until this process stops driving the run (finished or waiting) or timeout.

        The run goes on whatever happens to the waiter (it is not cancelled with it). One
        future and one timer: `wait_for(shield(task))` made three futures and a task's
        worth of callbacks for the same."""
        task = self._tasks.get(run_id)
        if task is None or task.done():
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def finish(_: object = None) -> None:
            if not done.done():
                done.set_result(None)

        task.add_done_callback(finish)
        timer = loop.call_later(timeout_s, finish)
        self._waiters.add(run_id)
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await done
        finally:
            timer.cancel()
            task.remove_done_callback(finish)
            self._waiters.discard(run_id)

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
    async def _drive(
        self, run_id: str, version: RunnableVersion, inputs: dict[str, Any], **options: Any
    ) -> None:
        """`_drive_pass`, in a span of its own while tracing (its nodes' spans are children)."""
        if tracing.active() is None:
            await self._drive_pass(run_id, version, inputs, **options)
            return
        tracing.current_run_id.set(run_id)  # this run's task only: tasks copy the context
        attributes = {tracing.RUN_ID: run_id, "dirigent.flow.version": version.number}
        with tracing.span("dirigent.run", attributes) as span:
            status = await self._drive_pass(run_id, version, inputs, **options)
            span.set_attribute("dirigent.run.status", status or "unknown")
            if status == "failed":
                tracing.mark_failed(span, "the run failed")

    async def _drive_pass(
        self,
        run_id: str,
        version: RunnableVersion,
        inputs: dict[str, Any],
        *,
        completed: Mapping[str, Any] | None = None,
        resolutions: Mapping[str, Any] | None = None,
        fixed_outputs: Mapping[str, Mapping[str, Any]] | None = None,
        recorder: SqlRecorder | None = None,
        caller_id: str | None = None,
        workspace_id: str | None = None,
        test_mode: tuple[bool, bool] = (False, False),
        parent_run_id: str | None = None,
    ) -> str | None:
        """Execute the run until it ends or waits; the status it reached (None: not concluded)."""
        began = time.perf_counter()
        flow = self.cache.get(version.document, version.content_hash)
        recorder = recorder or SqlRecorder(self.writer, run_id, stored=set(completed or ()))
        self._recorders[run_id] = recorder
        emit = self._emitter(run_id)
        # A run still going after `run_visible_after_s` is written (a timer, not a task per
        # run: most runs end long before and only cancel it).
        visible: asyncio.TimerHandle | None = None
        if not recorder.started:
            visible = asyncio.get_running_loop().call_later(
                self.settings.run_visible_after_s, self._persist_start_now, recorder
            )
        try:
            try:
                outcome = await self.engine.execute(
                    flow,
                    run_id,
                    inputs,
                    completed=completed,
                    resolutions=resolutions,
                    recorder=recorder,
                    emit=emit,
                    fixed_outputs=fixed_outputs,
                    caller_id=caller_id,
                    workspace_id=workspace_id,
                    is_test=test_mode[0],
                    allow_live_reads=test_mode[1],
                )
            except asyncio.CancelledError:
                if run_id in self._lost:  # another process drives it now: write nothing more
                    raise
                if self._stopping:  # shutting down: leave the run for another process
                    await self._release(run_id, recorder)
                    raise
                outcome = RunOutcome(
                    "cancelled",
                    error={
                        "node": None,
                        "type": None,
                        "kind": "Cancelled",
                        "message": "the run was cancelled",
                    },
                )
            self._stop_visibility(run_id, visible)
            await self._conclude(run_id, version.content_hash, outcome, recorder, resumed=bool(completed))
            if parent_run_id is not None and outcome.status in TERMINAL_RUN_STATES:
                # A parent waiting for this sub-run goes on now rather than at the next sweep.
                self._spawn_wake(parent_run_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database went away mid-run: the sweep will take over later
            log.exception("run %s could not be concluded", run_id)
            return None
        finally:
            self._lost.discard(run_id)
            self._stop_visibility(run_id, visible)
            self._recorders.pop(run_id, None)
            self._facts.pop(run_id, None)
            emit({"type": "run", "run_id": run_id, **self._final_event(run_id)})
            for queue in self._listeners.pop(run_id, []):
                queue.put_nowait(END)
        await self._count(version.flow_id, outcome.status, test_mode[0], time.perf_counter() - began)
        return outcome.status

    async def _count(self, flow_id: str, status: str, is_test: bool, seconds: float) -> None:
        """The run metrics (runtime/observability/metrics.py); never fails the run."""
        try:
            assistant, workspace = await self.labels.of(flow_id)
        except Exception as error:  # the slugs could not be read: counted all the same
            log.warning("run metrics without slugs (%s)", type(error).__name__)
            assistant = workspace = "unknown"
        metrics.run_ended(assistant, workspace, status, is_test, seconds)

    def _persist_start_now(self, recorder: SqlRecorder) -> None:
        task = asyncio.create_task(self._persist_start(recorder), name=f"visible-{recorder.run_id}")
        self._visibility[recorder.run_id] = task
        task.add_done_callback(lambda _: self._visibility.pop(recorder.run_id, None))

    def _stop_visibility(self, run_id: str, timer: asyncio.TimerHandle | None) -> None:
        if timer is not None:
            timer.cancel()
        if (task := self._visibility.pop(run_id, None)) is not None:
            task.cancel()

    async def _persist_start(self, recorder: SqlRecorder) -> None:
        """A run still going after `visible_after_s` is written, so others can see it."""
        try:
            await recorder.persist_start()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "could not record the start of run %s yet; will try at its next step", recorder.run_id
            )

    def _final_event(self, run_id: str) -> dict[str, Any]:
        return self._last_outcomes.pop(run_id, {"status": "unknown"})

    def facts(self, run_id: str) -> dict[str, Any] | None:
        """Row values of a run this process is driving (written or not)."""
        return self._facts.get(run_id)

    def take_result(self, run_id: str) -> dict[str, Any] | None:
        """The concluded run as `GET /api/runs/{id}` shows it, from memory (once), if this
        process drove it to its end — saves the invoke endpoint reading it back."""
        return self._results.pop(run_id, None)

    async def _conclude(
        self, run_id: str, content_hash: str, outcome: RunOutcome, recorder: SqlRecorder, *, resumed: bool
    ) -> None:
        now = utcnow()
        waiting = outcome.status == "waiting"
        values: dict[str, Any] = {
            "status": outcome.status,
            "outputs": outcome.outputs,
            "error": outcome.error,
            "total_tokens": outcome.total_tokens,
            "heartbeat_at": now,
        }
        if not waiting:
            values["finished_at"] = now
        facts = dict(self._facts.get(run_id) or {})

        async def open_or_close_tasks(session: AsyncSession) -> None:
            if waiting:
                workspace_id = (
                    facts.get("workspace_id")
                    or (await session.execute(select(Run.workspace_id).where(Run.id == run_id))).scalar_one()
                )
                await approvals.create_tasks(session, run_id, workspace_id, content_hash, outcome.suspensions)
            else:  # only a run that waited before can have tasks left open
                await session.execute(
                    update(ApprovalTask)
                    .where(ApprovalTask.run_id == run_id, ApprovalTask.status == "open")
                    .values(status="cancelled", resolved_at=now)
                    .execution_options(synchronize_session=False)
                )

        event = Event(
            actor=None,
            action="run.waiting" if waiting else "run.finished",
            resource_type="run",
            resource_id=run_id,
            version_hash=content_hash,
            detail={"status": outcome.status, "error": outcome.error, "tokens": outcome.total_tokens},
        )
        await recorder.write(values, [event], open_or_close_tasks if waiting or resumed else None)
        self._last_outcomes[run_id] = {
            "status": outcome.status,
            "outputs": outcome.outputs,
            "error": outcome.error,
        }
        if facts and not waiting and run_id in self._waiters:
            self._results[run_id] = run_as_json({**facts, **values}, list(outcome.steps.values()), [])

    async def _release(self, run_id: str, recorder: SqlRecorder) -> None:
        """Shutting down: store what we have and let another process adopt the run."""
        with contextlib.suppress(Exception):
            await recorder.flush()
            async with self.db.write() as session:
                await session.execute(
                    update(Run)
                    .where(Run.id == run_id, Run.worker_id == self.worker_id)
                    .values(worker_id=None, heartbeat_at=None)
                    .execution_options(synchronize_session=False)
                )

    # -- resuming ---------------------------------------------------------------------
    async def resume(self, run_id: str, *, orphan: bool = False) -> bool:
        """Continue a run from its stored state; False when another process got it first."""
        if run_id in self._tasks:
            return False
        cutoff = utcnow() - timedelta(seconds=self.settings.orphan_after_s)
        async with self.db.write() as session:
            if orphan:
                claim = update(Run).where(
                    Run.id == run_id,
                    Run.status == "running",
                    or_(Run.heartbeat_at.is_(None), Run.heartbeat_at < cutoff),
                )
            else:
                claim = update(Run).where(Run.id == run_id, Run.status == "waiting")
            result = await session.execute(
                claim.values(
                    status="running", worker_id=self.worker_id, heartbeat_at=utcnow()
                ).execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            run = await session.get(Run, run_id)
            version = await session.get(FlowVersion, run.version_id) if run else None
            steps = await load_steps(session, run_id)
            resolutions = await approvals.resolutions_for(session, run_id, steps)
            resolutions.update(await sub_runs.resolutions_for(session, steps))
            if run is None or version is None:
                return False
            inputs = dict(run.inputs or {})
            caller_id, workspace_id = run.started_by, run.workspace_id
            test_mode = (bool(run.is_test), bool(run.is_test and run.allow_live_reads))
            parent_run_id = run.parent_run_id
        self._spawn(
            run_id,
            self._drive(
                run_id,
                version,
                inputs,
                completed=steps,
                resolutions=resolutions,
                caller_id=caller_id,
                workspace_id=workspace_id,
                test_mode=test_mode,
                parent_run_id=parent_run_id,
            ),
        )
        return True

    def _spawn_wake(self, parent_run_id: str) -> None:
        task = asyncio.create_task(self._wake(parent_run_id), name=f"wake-{parent_run_id}")
        self._background.append(task)  # stopped with the process
        task.add_done_callback(self._background.remove)

    async def _wake(self, parent_run_id: str) -> None:
        """Resume `parent_run_id` if it waits for sub-runs that have all ended (else the
        sweep will, once they have: this is only the quicker path)."""
        try:
            async with self.db.read() as session:
                ready = await sub_runs.parents_to_resume(session, only=parent_run_id)
            if ready:
                await self.resume(parent_run_id)
        except Exception as error:  # the sweep tries again
            log.warning("could not resume run %s after its sub-run (%s)", parent_run_id, error)

    # -- cancelling -------------------------------------------------------------------
    async def cancel(self, actor: Actor, run_id: str) -> str:
        """Cancel a run and the sub-runs it started that are still going; returns the
        status it has (or will have shortly)."""
        status = await self._cancel_one(actor, run_id)
        async with self.db.read() as session:
            children = (
                await session.execute(
                    select(Run.id).where(
                        Run.parent_run_id == run_id, Run.status.in_(("queued", "running", "waiting"))
                    )
                )
            ).scalars()
        for child in list(children):
            with contextlib.suppress(Conflict):  # it ended meanwhile
                await self.cancel(actor, child)
        return status

    async def _cancel_one(self, actor: Actor, run_id: str) -> str:
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
                raise Conflict(
                    f"the run already ended ({run.status})",
                    code="run_finished",
                    status=run.status,
                )
            if run.status == "running":  # driven by another process: ask it via the database
                run.cancel_requested = True
                return "cancelling"
            run.status, run.finished_at = "cancelled", utcnow()
            run.error = {"node": None, "type": None, "kind": "Cancelled", "message": "the run was cancelled"}
            await session.execute(
                update(ApprovalTask)
                .where(ApprovalTask.run_id == run_id, ApprovalTask.status == "open")
                .values(status="cancelled", resolved_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            await audit(
                session,
                actor=actor.username,
                action="run.cancelled",
                resource_type="run",
                resource_id=run_id,
                version_hash=run.content_hash,
            )
            return "cancelled"

    # -- background sweep -------------------------------------------------------------
    async def sweep(self) -> list[str]:
        """One pass: expire tasks, resume decided runs, adopt orphans. Returns resumed ids."""
        # First the heartbeat: what follows may take long on a busy machine, and a late
        # heartbeat makes the others adopt runs that are still being driven here.
        await self._heartbeat()
        for hook in self.sweep_hooks:
            await hook()
        async with self.db.write() as session:
            await approvals.expire_due(session)
            await prune_expired(session)  # idempotency keys older than 24 h
        async with self.db.read() as session:
            decided = (
                (
                    await session.execute(
                        select(Run.id)
                        .join(ApprovalTask, ApprovalTask.run_id == Run.id)
                        # Only decisions not applied yet: a task stays `approved` after its run went
                        # on, and an agent's step that waits again waits for its next round's task.
                        .join(RunStep, (RunStep.run_id == Run.id) & (RunStep.node_id == approvals.STEP_NODE))
                        .where(
                            Run.status == "waiting",
                            ApprovalTask.status.in_(approvals.RESOLVED),
                            RunStep.status == "waiting",
                            approvals.TASK_ROUND == approvals.STEP_ROUND,
                        )
                        .distinct()
                        .limit(50)
                    )
                )
                .scalars()
                .all()
            )
            cutoff = utcnow() - timedelta(seconds=self.settings.orphan_after_s)
            orphans = (
                (
                    await session.execute(
                        select(Run.id)
                        .where(
                            Run.status == "running",
                            or_(Run.heartbeat_at.is_(None), Run.heartbeat_at < cutoff),
                        )
                        .limit(50)
                    )
                )
                .scalars()
                .all()
            )
            cancels = (
                (
                    await session.execute(
                        select(Run.id).where(Run.id.in_(list(self._tasks)), Run.cancel_requested.is_(True))
                    )
                )
                .scalars()
                .all()
                if self._tasks
                else []
            )
        for run_id in cancels:
            if (task := self._tasks.get(run_id)) is not None:
                task.cancel()
        async with self.db.read() as session:
            decided = [*decided, *await sub_runs.parents_to_resume(session)]
        resumed = [run_id for run_id in dict.fromkeys(decided) if await self.resume(run_id)]
        resumed += [
            run_id
            for run_id in orphans
            if run_id not in self._tasks and await self.resume(run_id, orphan=True)
        ]
        await self._heartbeat()
        return resumed

    async def _heartbeat(self) -> None:
        """Keep the runs driven here fresh; stop those another process has taken over.

        A process whose heartbeats came later than `orphan_after_s` (stalled, overloaded)
        finds some of its runs claimed by another process, which drives them from their
        stored state. Driving them on here too would write their steps twice and could
        ask a person whether a mail this process is still sending arrived; so they are
        cancelled here, without a write (`_lost`)."""
        mine = [run_id for run_id in self._tasks]
        if not mine:
            return
        async with self.db.write() as session:
            await session.execute(
                update(Run)
                .where(Run.id.in_(mine), Run.worker_id == self.worker_id, Run.status == "running")
                .values(heartbeat_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            taken = (
                (
                    await session.execute(
                        select(Run.id).where(
                            Run.id.in_(mine), Run.status == "running", Run.worker_id != self.worker_id
                        )
                    )
                )
                .scalars()
                .all()
            )
        for run_id in taken:
            task = self._tasks.get(run_id)
            if task is not None and run_id not in self._lost:
                log.warning("run %s was taken over by another process; stopping it here", run_id)
                self._lost.add(run_id)
                if (recorder := self._recorders.get(run_id)) is not None:
                    recorder.detached = True  # the interrupted steps are not written either
                task.cancel()

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
        await self.writer.stop()  # after the runs: their releases go through it
