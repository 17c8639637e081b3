"""Assistants and runs over HTTP: invoke (JSON or Server-Sent Events), read, cancel.

What an invocation's answer promises: a 200 carries the run's end (or its waiting for a
person), written before the answer; a 202 names a run that is stored, so it survives a
crash of this process right after the answer (another process adopts it); with an
`Idempotency-Key` a retry answers with the same run (`runtime/runs/admission.py`). A
stream names its run in its first event but stores it as the run goes (write-behind):
its last event says how it ended.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, cast

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.response import Stream
from litestar.response.sse import ServerSentEventMessage

from runtime.api.deps import Caller
from runtime.api.params import MAX_RUNS_PAGE, RunsPageLimit, VersionNumber
from runtime.api.schemas import RunRequest, TestRunRequest
from runtime.policy.resources import Actor
from runtime.runs import admission
from runtime.runs.admission import AlreadyAccepted
from runtime.runs.deps import RUNS_DEPENDENCIES, Runs
from runtime.runs.manager import RunManager, RunnableVersion
from runtime.runs.responses import (
    AssistantOut,
    CancelOut,
    RunListItemOut,
    RunOut,
    RunStartedOut,
    RunWithFeedbackOut,
)
from runtime.runs.service import TERMINAL_OR_WAITING, RunService

IdempotencyKeyHeader = Annotated[
    str | None, HeaderParameter(name=admission.HEADER, description=admission.HEADER_DESCRIPTION)
]
ENDED = "The run ended, or waits for a person; with `stream`, its Server-Sent Events"
# What an invocation answers besides its 200 (the Server-Sent Events of `"stream": true`
# are added to the 200 by `runtime.api.openapi`).
STARTED = {
    202: ResponseSpec(
        data_container=RunStartedOut,
        description="Still running after `wait_s`, and stored: poll GET /api/runs/{id}",
        generate_examples=False,
    )
}


def _sse(manager: RunManager, run_id: str, queue: asyncio.Queue[dict[str, Any]]) -> Stream:
    async def stream() -> AsyncIterator[bytes]:
        yield _event("run", json.dumps({"type": "started", "run_id": run_id}))
        try:
            async for event in manager.events(queue):
                yield _event(event.get("type", "message"), json.dumps(event, default=str))
        finally:
            manager.unlisten(run_id, queue)

    # Litestar's `ServerSentEvent` would send the stream's first bytes through its thread
    # pool (for the preamble it allows), a hop before the first event of every run; the
    # events are encoded here the same way, and the headers are those it sets. The
    # handler's defaults (JSON, and 201 for a POST) would win over the stream's own media
    # type and status: say both explicitly, so that EventSource clients accept the stream.
    return Stream(
        stream(),
        status_code=200,
        headers={
            "X-Run-Id": run_id,
            "Cache-Control": "no-store",
            "Content-Type": "text/event-stream; charset=utf-8",
            "Connection": "keep-alive",
            "X-Accel-Buffering": "no",
        },
    )


def _event(name: str, data: str) -> bytes:
    return ServerSentEventMessage(event=name, data=data).encode()


async def _start_and_answer(
    runs: RunService,
    actor: Actor,
    version: RunnableVersion,
    workspace_id: str,
    inputs: dict[str, Any],
    *,
    stream: bool,
    wait_s: float,
    is_test: bool,
    fixed_outputs: dict[str, dict[str, Any]] | None = None,
    allow_live_reads: bool = False,
    idempotency: admission.Admission | None = None,
) -> Response[RunOut]:
    try:
        run_id, queue = await runs.manager.start(
            actor,
            version,
            workspace_id,
            inputs,
            is_test=is_test,
            fixed_outputs=fixed_outputs,
            listen=stream,
            admission=idempotency,
            allow_live_reads=allow_live_reads,
        )
    except AlreadyAccepted as earlier:  # a retry with the same Idempotency-Key
        return await _answer(runs, earlier.run_id, wait_s, replayed=True)
    if stream and queue is not None:
        # A `Stream` is a Response as well; the handlers' annotation names the JSON answer,
        # the one the OpenAPI derives from it (the events are listed beside it there).
        return cast("Response[RunOut]", _sse(runs.manager, run_id, queue))
    return await _answer(runs, run_id, wait_s)


async def _answer(
    runs: RunService, run_id: str, wait_s: float, *, replayed: bool = False
) -> Response[RunOut]:
    """The run after up to `wait_s`: 200 once it ended or waits for a person, else 202."""
    body = await runs.outcome(run_id, wait_s)
    headers = {admission.REPLAYED_HEADER: "true"} if replayed else None
    if body["status"] in TERMINAL_OR_WAITING:
        return Response(RunOut.of(body), status_code=200, headers=headers)
    return Response(RunStartedOut.of(body), status_code=202, headers=headers)


def _idempotency(
    actor: Actor, raw_key: str | None, route: str, body: RunRequest | TestRunRequest
) -> admission.Admission | None:
    """The admission that stores the request's `Idempotency-Key` with its run, if it has one."""
    key = admission.checked_key(raw_key)
    if key is None:
        return None
    digest = admission.request_digest(route, body.model_dump(mode="json"))
    return admission.key_admission(actor.id, key, digest)


class RunController(Controller):
    path = "/api"
    tags = ["runs"]
    dependencies = RUNS_DEPENDENCIES

    @get("/assistants")
    async def list_assistants(self, runs: Runs, actor: Caller) -> list[AssistantOut]:
        """The live assistants the caller may invoke, by name."""
        return [AssistantOut.of(*row) for row in await runs.invocable(actor)]

    @post("/assistants/{slug:str}/runs", status_code=200, responses=STARTED, response_description=ENDED)
    async def invoke(
        self,
        runs: Runs,
        actor: Caller,
        slug: FromPath[str],
        data: JSONBody[RunRequest],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[RunOut]:
        """Run the assistant: 200 with the run when it ends (or waits for a person) within
        `wait_s`, else 202 with the stored run's id and state; `stream` for Server-Sent Events."""
        idempotency = _idempotency(actor, idempotency_key, f"invoke {slug}", data)
        if data.version is None:  # the live version: the hot path, without an ORM session
            version, workspace_id = await runs.live_version(actor, slug)
        else:
            version, workspace_id = await runs.pinned_version(actor, slug, data.version)
        return await _start_and_answer(
            runs,
            actor,
            version,
            workspace_id,
            data.inputs,
            stream=data.stream,
            wait_s=data.wait_s,
            is_test=False,
            idempotency=idempotency,
        )

    @post(
        "/flows/{flow_id:str}/versions/{number:int}/runs",
        status_code=200,
        responses=STARTED,
        response_description=ENDED,
    )
    async def test_run(
        self,
        runs: Runs,
        actor: Caller,
        flow_id: FromPath[str],
        number: VersionNumber,
        data: JSONBody[TestRunRequest],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[RunOut]:
        """Run any saved version (draft included) from the editor's test panel."""
        idempotency = _idempotency(actor, idempotency_key, f"test {flow_id} {number}", data)
        version, workspace_id = await runs.testable_version(actor, flow_id, number)
        return await _start_and_answer(
            runs,
            actor,
            version,
            workspace_id,
            data.inputs,
            stream=data.stream,
            wait_s=data.wait_s,
            is_test=True,
            fixed_outputs=data.fixed_outputs,
            allow_live_reads=data.allow_live_reads,
            idempotency=idempotency,
        )

    @get("/runs/{run_id:str}")
    async def get_run(self, runs: Runs, actor: Caller, run_id: FromPath[str]) -> RunWithFeedbackOut:
        return RunWithFeedbackOut.of(await runs.read(actor, run_id))

    @get("/runs")
    async def list_runs(
        self,
        runs: Runs,
        actor: Caller,
        flow_id: FromQuery[str | None] = None,
        limit: RunsPageLimit = 50,
        before: FromQuery[str | None] = None,
    ) -> Response[list[RunListItemOut]]:
        """Runs the caller may read, newest first (the policy's rule as a SQL filter).

        A page holds at most `limit` (1-500) runs; `before=<run id>` continues after that
        run (the cursor is its created_at and id). A full page says where the next one
        starts in the `X-Next-Before` header."""
        size = min(max(limit, 1), MAX_RUNS_PAGE)
        rows = await runs.page(actor, flow_id, size, before)
        headers = {"X-Next-Before": rows[-1].id} if len(rows) == size else {}
        return Response([RunListItemOut.of(run) for run in rows], headers=headers)

    @post("/runs/{run_id:str}/cancel", status_code=200)
    async def cancel(self, runs: Runs, actor: Caller, run_id: FromPath[str]) -> CancelOut:
        status = await runs.cancel(actor, run_id)
        return CancelOut(id=run_id, status=status)  # type: ignore[arg-type]  # cancelled | cancelling
