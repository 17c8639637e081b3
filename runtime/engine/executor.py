"""The engine: walks a compiled flow in topological generations.

Per generation, nodes whose inputs are ready run concurrently, each under its timeout.
Which nodes run:

* an edge with `when` is a *gate*: the node runs only if every such edge into it was
  taken (its source succeeded and chose that branch) — `check -> send (approved)` never
  sends after a rejection, whatever other inputs `send` has;
* edges without `when` *merge*: the node runs if at least one of their sources
  succeeded — `send -> end` and `notify -> end` both lead to `end`, whichever ran;
* otherwise the node is *skipped* (recorded, with its outputs set to None).

A node whose upstream waits for a person is *deferred*; the run ends as `waiting` and
is continued later by calling `execute` again with the stored steps and the resolution.

Failures: the first failing node fails the run (its id and type in the error); nodes
already running in the same generation finish and are recorded; nothing else starts.

What is handed to the recorder when: the steps of a generation when it ends (the
recorder may buffer them), except *durable* steps — a node with side effects, a
suspension, a costly node (an LLM call: `Node.is_costly()`, asked once per compiled
flow) or any step that took longer than `SLOW_STEP_MS` — which a concurrent generation
hands over the moment they finish, so that a crash while a sibling still runs does not
lose (and later repeat) them.

Timeouts cost nothing for a node that finishes without waiting: its coroutine is
stepped once by hand, and a timer (at start + timeout) is armed only when it suspends —
a timeout can only strike at a suspension anyway. The continuation runs in the same
task, so what the node does with the current task (its own timeouts) stays true.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from types import CoroutineType
from typing import Any

from nodes.base import Node, NodeContext, Resolution, Suspend
from nodes.errors import NodeError, NodeTimeout
from nodes.rendering.workers import Templates, shared_templates
from runtime.engine.compiled import CompiledFlow
from runtime.engine.inputs import render_outputs
from runtime.engine.records import Recorder, RunOutcome, StepRecord
from runtime.json_limits import MAX_DEPTH, too_deep_value
from runtime.observability import metrics, tracing

Emit = Callable[[dict[str, Any]], Awaitable[None] | None]
DEFERRED = "deferred"
# A step that took longer than this is persisted at once, whatever its type: repeating it
# after a crash would cost more than the write.
SLOW_STEP_MS = 1000.0


def _now() -> datetime:
    return datetime.now(UTC)


async def run_with_timeout(awaitable: Awaitable[Any], timeout_s: float) -> Any:
    """`await awaitable` under `asyncio.timeout(timeout_s)`, without arming a timer when a
    coroutine finishes at its first step (see the module docstring)."""
    if type(awaitable) is not CoroutineType:  # e.g. a future: the plain way
        async with asyncio.timeout(timeout_s):
            return await awaitable
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        waiting_for = awaitable.send(None)
    except StopIteration as finished:
        return finished.value
    async with asyncio.timeout_at(deadline):
        return await _Continue(awaitable, waiting_for)


class _Continue:
    """Awaits a coroutine that was stepped once by hand (it yielded `waiting_for` to its
    task) to its end, passing whatever its task sends or throws in."""

    __slots__ = ("coroutine", "waiting_for")

    def __init__(self, coroutine: CoroutineType[Any, Any, Any], waiting_for: Any) -> None:
        self.coroutine = coroutine
        self.waiting_for = waiting_for

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, waiting_for = self.coroutine, self.waiting_for
        while True:
            try:
                sent = yield waiting_for
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as exc:  # cancellation, or an error the task throws in
                try:
                    waiting_for = coroutine.throw(exc)
                except StopIteration as finished:
                    return finished.value
            else:
                try:
                    waiting_for = coroutine.send(sent)
                except StopIteration as finished:
                    return finished.value


def error_of(node_id: str | None, node_type: str | None, exc: BaseException) -> dict[str, Any]:
    """The stored error of a failed step: which node, what kind, what happened — and, for an
    error with a stable `code` (e.g. `template_budget_exceeded`), the code and its parameters."""
    if isinstance(exc, NodeError):
        message, kind = exc.message, type(exc).__name__
    elif isinstance(exc, TimeoutError):
        message, kind = "the node took longer than its timeout", "NodeTimeout"
    else:  # a bug in a node: keep the type so it can be found, not a stack trace
        message, kind = f"unexpected {type(exc).__name__}: {exc}", "InternalError"
    error: dict[str, Any] = {"node": node_id, "type": node_type, "kind": kind, "message": message}
    if isinstance(exc, NodeError):
        if exc.field:
            error["field"] = exc.field
        if exc.code:
            error.update(exc.parameters(), code=exc.code)
    elif isinstance(exc, TimeoutError):
        error["code"] = "node_timeout"
    else:
        error.update(code="node_crashed", error=f"{type(exc).__name__}: {exc}")
    return error


class Engine:
    def __init__(
        self,
        services: Mapping[str, Any] | None = None,
        *,
        max_node_timeout_s: float = 300.0,
    ) -> None:
        self.services = dict(services or {})
        self.max_node_timeout_s = max_node_timeout_s
        # The runtime hands in its own (limits from the settings) as the `templates` service;
        # test cases get the runtime's services, so they render exactly as runs do.
        templates = self.services.get("templates")
        self.templates: Templates = templates if isinstance(templates, Templates) else shared_templates()

    async def execute(
        self,
        flow: CompiledFlow,
        run_id: str,
        inputs: Mapping[str, Any],
        *,
        completed: Mapping[str, StepRecord] | None = None,
        resolutions: Mapping[str, Resolution] | None = None,
        recorder: Recorder | None = None,
        emit: Emit | None = None,
        fixed_outputs: Mapping[str, Mapping[str, Any]] | None = None,
        caller_id: str | None = None,
        workspace_id: str | None = None,
        is_test: bool = False,
        allow_live_reads: bool = False,
    ) -> RunOutcome:
        """Run `flow` from where `completed` left off; see the module docstring.

        `caller_id` is the user the run acts for (who started it) and `workspace_id` the
        flow's workspace; nodes read them as `ctx.caller_id` / `ctx.workspace_id`, e.g. to
        search that workspace's knowledge with that person's access labels. `is_test` and
        `allow_live_reads` mark a test run (`ctx.is_test`): connections use their test target.
        """
        # A step cancelled in an earlier pass (its process was shutting down) never finished: it runs again.
        steps = {node: step for node, step in (completed or {}).items() if step.status != "cancelled"}
        scope: dict[str, Any] = {"inputs": inputs}
        for step in steps.values():
            self._enter_scope(flow, scope, step)
        run = _RunState(self, flow, run_id, inputs, scope, steps, emit, fixed_outputs or {})
        run.caller_id, run.workspace_id = caller_id, workspace_id
        run.is_test, run.allow_live_reads = is_test, allow_live_reads
        run.recorder = recorder

        if resolutions:
            expired = await run.resume(resolutions)
            if recorder:
                await recorder.record_steps([steps[node] for node in resolutions])
            if expired:
                return run.finish_expired(expired)

        for generation in flow.generations:
            if recorder and await recorder.cancel_requested():
                return run.finish_cancelled()
            # A generation only adds steps (dicts keep insertion order), so what it did is the
            # tail past `before`; a set of all steps per generation would be O(N²) in a chain.
            before = len(steps)
            try:
                finished = await run.run_generation(generation)
            except asyncio.CancelledError:
                # Record what this generation did, the interrupted nodes as `cancelled`.
                if recorder:
                    await recorder.record_steps(list(steps.values())[before:])
                raise
            if recorder and run.recorded_early:  # durable steps of concurrent nodes: handed over already
                finished = [step for step in finished if step.node_id not in run.recorded_early]
                run.recorded_early.clear()
            if recorder and finished:
                await recorder.record_steps(finished)
            if run.failure is not None:
                return run.finish_failed()
        return await run.finish()

    @staticmethod
    def _enter_scope(flow: CompiledFlow, scope: dict[str, Any], step: StepRecord) -> None:
        if step.status == "succeeded":
            scope[step.node_id] = step.outputs or {}
        elif step.status == "skipped":
            scope[step.node_id] = dict.fromkeys(flow.declared_outputs(step.node_id))


class _RunState:
    """One execution pass over a run (a fresh one after each resume)."""

    def __init__(
        self,
        engine: Engine,
        flow: CompiledFlow,
        run_id: str,
        inputs: Mapping[str, Any],
        scope: dict[str, Any],
        steps: dict[str, StepRecord],
        emit: Emit | None,
        fixed_outputs: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self.engine = engine
        self.flow = flow
        self.run_id = run_id
        self.inputs = inputs
        self.scope = scope
        self.steps = steps
        self.emit = emit
        self.fixed_outputs = fixed_outputs
        self.failure: StepRecord | None = None
        self.caller_id: str | None = None
        self.workspace_id: str | None = None
        self.is_test = False
        self.allow_live_reads = False
        self.recorder: Recorder | None = None
        # Nodes of the current generation whose durable steps were recorded as they finished.
        self.recorded_early: set[str] = set()
        # One check per pass, not per node: a span per node only while tracing.
        self.run_node = self._run_node if tracing.active() is None else self._run_node_traced

    # -- deciding what runs -----------------------------------------------------------
    def _readiness(self, node_id: str) -> str:
        """'run', 'skip', or DEFERRED (an upstream node has not finished)."""
        if node_id == self.flow.start:
            return "run"
        merged = gated = False
        gate_closed = False
        for edge in self.flow.incoming[node_id]:
            source = self.steps.get(edge.source)
            if source is None or source.status == "waiting":
                return DEFERRED
            succeeded = source.status == "succeeded"
            if edge.when is None:
                merged = merged or succeeded
            elif succeeded and edge.when == source.branch:
                gated = True
            else:
                gate_closed = True
        return "run" if (merged or gated) and not gate_closed else "skip"

    async def run_generation(self, generation: list[str]) -> list[StepRecord]:
        to_run: list[str] = []
        finished: list[StepRecord] = []
        for node_id in generation:
            if node_id in self.steps:
                continue
            readiness = self._readiness(node_id)
            if readiness == "run":
                to_run.append(node_id)
            elif readiness == "skip":
                step = StepRecord(node_id, self.flow.instances[node_id].type, "skipped")
                self._finish_step(step)
                finished.append(step)
                if self.emit is not None:
                    await self._send({"type": "step", "node": node_id, "status": "skipped"})
        if len(to_run) == 1:  # the common linear case: no task machinery
            finished.append(await self.run_node(to_run[0]))
        elif to_run:
            finished.extend(await self._run_concurrently(to_run))
        return finished

    async def _run_concurrently(self, node_ids: list[str]) -> list[StepRecord]:
        """One task per node, as `asyncio.gather` would do, at half its cost: the tasks
        are awaited in order (all have run by the time the first is awaited), and a
        cancellation cancels every task and waits for each to record itself."""
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(self._run_and_record(node_id)) for node_id in node_ids]
        try:
            return [await task for task in tasks]
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
            raise

    async def _run_and_record(self, node_id: str) -> StepRecord:
        """`_run_node`, and a durable step handed to the recorder as soon as it finished
        (its siblings may run on for a long time)."""
        step = await self.run_node(node_id)
        if step.durable and self.recorder is not None:
            await self.recorder.record_steps([step])
            self.recorded_early.add(node_id)
        return step

    def _finish_step(self, step: StepRecord) -> None:
        self.steps[step.node_id] = step
        Engine._enter_scope(self.flow, self.scope, step)
        if step.status == "failed" and self.failure is None:
            self.failure = step

    # -- running one node -------------------------------------------------------------
    def _step_inputs(self, node_id: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, attribute in self.flow.reads[node_id]:
            source = self.scope.get(name)
            if attribute is None:
                values[name] = source
            elif isinstance(source, Mapping):
                values[f"{name}.{attribute}"] = source.get(attribute)
        return values

    def _context(self, node: Node) -> NodeContext:
        return NodeContext(
            run_id=self.run_id,
            node_id=node.id,
            node_type=node.type,
            flow_inputs=self.inputs,
            render=self.engine.templates.render,
            evaluate=self.engine.templates.evaluate,
            services=self.engine.services,
            emit=self.emit,
            caller_id=self.caller_id,
            workspace_id=self.workspace_id,
            is_test=self.is_test,
            allow_live_reads=self.allow_live_reads,
        )

    async def _run_node(self, node_id: str) -> StepRecord:
        node = self.flow.instances[node_id]
        step = StepRecord(node_id, node.type, "succeeded", inputs=self._step_inputs(node_id))
        step.durable = node.side_effects
        step.started_at = _now()
        began = time.perf_counter()
        if self.emit is not None:
            await self._send({"type": "step", "node": node_id, "status": "running"})
        ctx = self._context(node)
        fixed = node_id in self.fixed_outputs
        try:
            if fixed:
                result: Any = dict(self.fixed_outputs[node_id])
            else:
                timeout = min(self.flow.timeouts[node_id], self.engine.max_node_timeout_s)
                result = await run_with_timeout(node.run(ctx, self.scope), timeout)
        except TimeoutError:
            self._fail(step, NodeTimeout(f"the node took longer than its timeout ({node.timeout_s():g} s)"))
        except asyncio.CancelledError:
            step.status = "cancelled"
            self._close(step, began, ctx)
            metrics.node_finished(node.type, "cancelled", (step.duration_ms or 0.0) / 1000)
            self._finish_step(step)
            raise
        except Exception as exc:  # every failure is recorded on the step, with node id and type
            self._fail(step, exc)
        else:
            if isinstance(result, Suspend):
                step.status = "waiting"
                step.suspension = result
                step.outputs = {"request": result.request}
                step.durable = True
            else:
                step.outputs = self._checked_outputs(node, result, step)
        self._close(step, began, ctx)
        metrics.node_finished(node.type, step.status, (step.duration_ms or 0.0) / 1000)
        if (
            not step.durable
            and not fixed
            and ((step.duration_ms or 0.0) > SLOW_STEP_MS or node_id in self.flow.costly)
        ):
            step.durable = True  # persisted at once: repeating it after a crash would cost
        self._finish_step(step)
        if self.emit is not None:
            await self._send(self._step_event(step))
        return step

    async def _run_node_traced(self, node_id: str) -> StepRecord:
        """`_run_node` in a span of its own (LLM and connector calls become its children)."""
        node = self.flow.instances[node_id]
        attributes = {"dirigent.node.id": node_id, "dirigent.node.type": node.type}
        with tracing.span("dirigent.node", attributes) as span:
            step = await self._run_node(node_id)
            span.set_attribute("dirigent.node.status", step.status)
            if step.status == "failed":
                tracing.mark_failed(span, (step.error or {}).get("kind", "failed"))
            return step

    def _checked_outputs(self, node: Node, result: Any, step: StepRecord) -> dict[str, Any] | None:
        if not isinstance(result, dict):
            self._fail(step, NodeError(f"node returned {type(result).__name__}, expected a dict of outputs"))
            return None
        missing = [name for name in self.flow.declared_outputs(node.id) if name not in result]
        if missing:
            self._fail(step, NodeError(f"node did not produce its outputs {', '.join(missing)}"))
            return None
        # What a model or a remote system answered is stored and sent back by the API later:
        # held to the depth of a request body, so that nothing recurses too deep on it.
        if too_deep_value(result):
            self._fail(step, NodeError(f"the node's outputs nest more than {MAX_DEPTH} levels deep"))
            return None
        return result

    def _fail(self, step: StepRecord, exc: BaseException) -> None:
        step.status = "failed"
        step.error = error_of(step.node_id, step.node_type, exc)

    @staticmethod
    def _close(step: StepRecord, began: float, ctx: NodeContext) -> None:
        step.finished_at = _now()
        step.duration_ms = round((time.perf_counter() - began) * 1000, 3)
        if ctx.usage:
            step.usage = dict(ctx.usage)

    @staticmethod
    def _step_event(step: StepRecord) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "step",
            "node": step.node_id,
            "node_type": step.node_type,
            "status": step.status,
            "duration_ms": step.duration_ms,
        }
        if step.usage:
            event["usage"] = step.usage
        if step.error:
            event["error"] = step.error
        if step.status == "waiting" and step.outputs:
            event["request"] = step.outputs.get("request")
        return event

    async def _send(self, event: dict[str, Any]) -> None:
        if self.emit is not None:
            result = self.emit(event)
            if result is not None:
                await result

    # -- resuming and finishing -------------------------------------------------------
    async def resume(self, resolutions: Mapping[str, Resolution]) -> list[str]:
        """Apply decisions to waiting nodes; returns nodes that expired with no timeout edge."""
        expired: list[str] = []
        for node_id, resolution in resolutions.items():
            node = self.flow.instances[node_id]
            waiting = self.steps[node_id]
            step = StepRecord(
                node_id, node.type, "succeeded", inputs=waiting.inputs, started_at=waiting.started_at
            )
            began = time.perf_counter()
            ctx = self._context(node)
            stored = (waiting.suspension.request if waiting.suspension else None) or (
                waiting.outputs or {}
            ).get("request")
            if resolution.request is None and isinstance(stored, dict):
                resolution = replace(resolution, request=stored)
            try:
                resumed = await node.resume(ctx, resolution)
            except Exception as exc:
                self._fail(step, exc)
            else:
                if isinstance(resumed, Suspend):  # waits again (an agent's next approval round)
                    step.status = "waiting"
                    step.suspension = resumed
                    step.outputs = {"request": resumed.request}
                    step.durable = True
                else:
                    step.outputs = resumed
            step.finished_at = _now()
            if waiting.started_at:
                step.duration_ms = round((step.finished_at - waiting.started_at).total_seconds() * 1000, 3)
            else:
                self._close(step, began, ctx)
            if (
                resolution.outcome == "timeout"
                and "timeout" not in self.flow.outgoing_branches[node_id]
                # A node that answers a timeout itself (an agent: the call counts as refused).
                and not getattr(node, "resumes_after_timeout", False)
            ):
                step.status = "expired"
                expired.append(node_id)
            self._finish_step(step)
            await self._send(self._step_event(step))
        return expired

    def _total_tokens(self) -> int:
        return sum((step.usage or {}).get("total_tokens", 0) for step in self.steps.values())

    async def finish(self) -> RunOutcome:
        if any(step.status == "waiting" for step in self.steps.values()):
            return RunOutcome("waiting", steps=self.steps, total_tokens=self._total_tokens())
        try:
            outputs = await render_outputs(self.flow.document, self.scope, self.engine.templates)
        except NodeError as exc:
            return RunOutcome(
                "failed",
                error={
                    **error_of(None, None, exc),
                    "kind": "OutputError",
                    "message": f"the flow's outputs could not be rendered: {exc.message}",
                },
                steps=self.steps,
                total_tokens=self._total_tokens(),
            )
        return RunOutcome("succeeded", outputs=outputs, steps=self.steps, total_tokens=self._total_tokens())

    def finish_failed(self) -> RunOutcome:
        assert self.failure is not None
        return RunOutcome(
            "failed", error=self.failure.error, steps=self.steps, total_tokens=self._total_tokens()
        )

    def finish_cancelled(self) -> RunOutcome:
        return RunOutcome(
            "cancelled",
            error={
                "node": None,
                "type": None,
                "kind": "Cancelled",
                "code": "run_cancelled",
                "message": "the run was cancelled",
            },
            steps=self.steps,
            total_tokens=self._total_tokens(),
        )

    def finish_expired(self, nodes: list[str]) -> RunOutcome:
        return RunOutcome(
            "expired",
            error={
                "node": nodes[0],
                "type": self.flow.instances[nodes[0]].type,
                "kind": "Expired",
                "code": "run_expired",
                "message": "nobody decided the approval task in time",
            },
            steps=self.steps,
            total_tokens=self._total_tokens(),
        )
