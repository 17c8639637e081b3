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
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.response import Stream
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy import select, tuple_

from runtime.api.deps import Caller, Rt, iso
from runtime.api.params import MAX_RUNS_PAGE, RunsPageLimit, VersionNumber
from runtime.api.schemas import RunRequest, TestRunRequest
from runtime.context import Runtime
from runtime.db.models import Flow, FlowVersion, Run, Workspace
from runtime.errors import BadRequest, Conflict, NotFound, Unavailable
from runtime.feedback.service import starter_feedback
from runtime.flows import service as flows
from runtime.policy import resources
from runtime.policy.resources import Actor
from runtime.policy.views import assistant_view, readable_runs, run_view
from runtime.runs import admission
from runtime.runs.admission import AlreadyAccepted
from runtime.runs.manager import RunnableVersion
from runtime.runs.viewer import audit_read_of_others
from runtime.runs.views import load_run_json, run_as_json

TERMINAL_OR_WAITING = ("succeeded", "failed", "cancelled", "expired", "waiting")
IdempotencyKeyHeader = Annotated[
    str | None, HeaderParameter(name=admission.HEADER, description=admission.HEADER_DESCRIPTION)
]


def _sse(rt: Runtime, run_id: str, queue: asyncio.Queue[dict[str, Any]]) -> Stream:
    async def stream() -> AsyncIterator[bytes]:
        yield _event("run", json.dumps({"type": "started", "run_id": run_id}))
        try:
            async for event in rt.runs.events(queue):
                yield _event(event.get("type", "message"), json.dumps(event, default=str))
        finally:
            rt.runs.unlisten(run_id, queue)

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
    rt: Runtime,
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
) -> Any:
    try:
        run_id, queue = await rt.runs.start(
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
        return await _answer(rt, earlier.run_id, wait_s, replayed=True)
    if stream and queue is not None:
        return _sse(rt, run_id, queue)
    return await _answer(rt, run_id, wait_s)


async def _answer(rt: Runtime, run_id: str, wait_s: float, *, replayed: bool = False) -> Response[Any]:
    """The run after up to `wait_s`: 200 once it ended or waits for a person, else 202 —
    and a 202 only once the run is stored (a caller may rely on it surviving a crash)."""
    await rt.runs.wait(run_id, wait_s)
    body = rt.runs.take_result(run_id)
    if body is None:
        await rt.runs.ensure_stored(run_id)
        body = rt.runs.take_result(run_id) or rt.runs.running_as_json(run_id)
    if body is None:  # waiting, or driven by another process: read what is stored
        async with rt.db.read() as session:
            run = await session.get(Run, run_id)
            if run is None:  # it ended here, but its conclusion could not be written
                raise Unavailable(
                    "the run could not be stored; its outcome is unknown", code="run_not_stored"
                )
            body = await load_run_json(session, run)
    headers = {admission.REPLAYED_HEADER: "true"} if replayed else None
    return Response(body, status_code=200 if body["status"] in TERMINAL_OR_WAITING else 202, headers=headers)


def _idempotency(
    actor: Actor, raw_key: str | None, route: str, body: RunRequest | TestRunRequest
) -> admission.Admission | None:
    """The admission that stores the request's `Idempotency-Key` with its run, if it has one."""
    key = admission.checked_key(raw_key)
    if key is None:
        return None
    digest = admission.request_digest(route, body.model_dump(mode="json"))
    return admission.key_admission(actor.id, key, digest)


def _unwritten_view(rt: Runtime, run_id: str) -> resources.Run:
    """A run this process started moments ago and has not written yet (it is that quick)."""
    facts = rt.runs.facts(run_id)
    if facts is None:
        raise NotFound("run not found", code="not_found", resource="run")
    return resources.Run(id=run_id, workspace_id=facts["workspace_id"], started_by=facts["started_by"])


def _unwritten_run(rt: Runtime, actor: Actor, run_id: str) -> dict[str, Any]:
    rt.authz.authorize(actor, "read", _unwritten_view(rt, run_id))
    facts = rt.runs.facts(run_id) or {}
    body = run_as_json(facts, [], []) if facts else {"id": run_id, "status": "running"}
    return {**body, "feedback": None}


class RunController(Controller):
    path = "/api"
    tags = ["runs"]

    @get("/assistants")
    async def list_assistants(self, rt: Rt, actor: Caller) -> list[dict[str, Any]]:
        async with rt.db.read() as session:
            rows = (
                (
                    await session.execute(
                        select(Flow, FlowVersion, Workspace.slug)
                        .join(FlowVersion, FlowVersion.id == Flow.live_version_id)
                        .join(Workspace, Workspace.id == Flow.workspace_id)
                        .order_by(Flow.name)
                    )
                )
                .tuples()
                .all()
            )
            result = []
            for flow, live, workspace_slug in rows:
                if rt.authz.is_allowed(actor, "invoke", await assistant_view(session, flow, live)):
                    result.append(
                        {
                            "slug": flow.slug,
                            "name": flow.name,
                            "flow_id": flow.id,
                            "workspace": workspace_slug,
                            "description": live.document.get("description", ""),
                            "version": live.number,
                            "content_hash": live.content_hash,
                            "inputs": live.document.get("inputs", {}),
                            "card": live.document.get("card", {}),
                        }
                    )
        return result

    @post("/assistants/{slug:str}/runs", status_code=200)
    async def invoke(
        self,
        rt: Rt,
        actor: Caller,
        slug: FromPath[str],
        data: JSONBody[RunRequest],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Any:
        """Run the assistant: 200 with the run when it ends (or waits for a person) within
        `wait_s`, else 202 with the stored run's id and state; `stream` for Server-Sent Events."""
        idempotency = _idempotency(actor, idempotency_key, f"invoke {slug}", data)
        if data.version is None:  # the live version: the hot path, without an ORM session
            assistant = await rt.assistants.find(slug)
            if assistant is None:
                raise NotFound("assistant not found", code="not_found", resource="assistant")
            rt.authz.authorize(actor, "invoke", assistant.view)
            if assistant.version is None:  # global admins pass the policy even when nothing is live
                raise NotFound(
                    "assistant not found: it has no live version", code="not_found", resource="assistant"
                )
            return await _start_and_answer(
                rt,
                actor,
                assistant.version,
                assistant.workspace_id,
                data.inputs,
                stream=data.stream,
                wait_s=data.wait_s,
                is_test=False,
                idempotency=idempotency,
            )
        async with rt.db.read() as session:
            flow = (await session.execute(select(Flow).where(Flow.slug == slug))).scalar_one_or_none()
            if flow is None:
                raise NotFound("assistant not found", code="not_found", resource="assistant")
            live = await session.get(FlowVersion, flow.live_version_id) if flow.live_version_id else None
            rt.authz.authorize(actor, "invoke", await assistant_view(session, flow, live))
            version = live
            if data.version is not None:
                version = (
                    await session.execute(
                        select(FlowVersion).where(
                            FlowVersion.flow_id == flow.id, FlowVersion.number == data.version
                        )
                    )
                ).scalar_one_or_none()
                if version is None:
                    raise NotFound(
                        f"version {data.version} of '{slug}' not found",
                        code="not_found",
                        resource="flow_version",
                    )
                if version.state != "published":
                    raise Conflict(
                        f"version {data.version} is {version.state}; only published versions can be invoked",
                        code="not_published",
                        number=data.version,
                        state=version.state,
                    )
            if version is None:  # global admins pass the policy even when nothing is live
                raise NotFound(
                    "assistant not found: it has no live version", code="not_found", resource="assistant"
                )
        return await _start_and_answer(
            rt,
            actor,
            version,
            flow.workspace_id,
            data.inputs,
            stream=data.stream,
            wait_s=data.wait_s,
            is_test=False,
            idempotency=idempotency,
        )

    @post("/flows/{flow_id:str}/versions/{number:int}/runs", status_code=200)
    async def test_run(
        self,
        rt: Rt,
        actor: Caller,
        flow_id: FromPath[str],
        number: VersionNumber,
        data: JSONBody[TestRunRequest],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Any:
        """Run any saved version (draft included) from the editor's test panel."""
        idempotency = _idempotency(actor, idempotency_key, f"test {flow_id} {number}", data)
        async with rt.db.read() as session:
            flow, version = await flows.get_version(session, rt.authz, actor, flow_id, number, "test_run")
        return await _start_and_answer(
            rt,
            actor,
            version,
            flow.workspace_id,
            data.inputs,
            stream=data.stream,
            wait_s=data.wait_s,
            is_test=True,
            fixed_outputs=data.fixed_outputs,
            allow_live_reads=data.allow_live_reads,
            idempotency=idempotency,
        )

    @get("/runs/{run_id:str}")
    async def get_run(self, rt: Rt, actor: Caller, run_id: FromPath[str]) -> dict[str, Any]:
        async with rt.db.read() as session:
            run = await session.get(Run, run_id)
            if run is None:
                return _unwritten_run(rt, actor, run_id)
            rt.authz.authorize(actor, "read", await run_view(session, run))
            body = {**await load_run_json(session, run), "feedback": await starter_feedback(session, run)}
        await audit_read_of_others(rt.db, actor, run, "run")  # someone else's run: `run.viewed`
        return body

    @get("/runs")
    async def list_runs(
        self,
        rt: Rt,
        actor: Caller,
        flow_id: FromQuery[str | None] = None,
        limit: RunsPageLimit = 50,
        before: FromQuery[str | None] = None,
    ) -> Response[list[dict[str, Any]]]:
        """Runs the caller may read, newest first (the policy's rule as a SQL filter).

        A page holds at most `limit` (1-500) runs; `before=<run id>` continues after that
        run (the cursor is its created_at and id). A full page says where the next one
        starts in the `X-Next-Before` header."""
        size = min(max(limit, 1), MAX_RUNS_PAGE)
        async with rt.db.read() as session:
            query = (
                select(Run)
                .where(readable_runs(actor))
                .order_by(Run.created_at.desc(), Run.id.desc())
                .limit(size)
            )
            if flow_id:
                query = query.where(Run.flow_id == flow_id)
            if before:
                cursor = (
                    await session.execute(
                        select(Run.created_at, Run.id).where(Run.id == before, readable_runs(actor))
                    )
                ).first()
                if cursor is None:
                    raise BadRequest(
                        f"'before' must be the id of a run you can see, not '{before}'", code="invalid_cursor"
                    )
                query = query.where(tuple_(Run.created_at, Run.id) < tuple_(cursor.created_at, cursor.id))
            rows = (await session.execute(query)).scalars().all()
        visible = [
            {
                "id": run.id,
                "flow_id": run.flow_id,
                "version": run.version_number,
                "status": run.status,
                "is_test": run.is_test,
                "created_at": iso(run.created_at),
                "finished_at": iso(run.finished_at),
                "total_tokens": run.total_tokens,
            }
            for run in rows
        ]
        headers = {"X-Next-Before": rows[-1].id} if len(rows) == size else {}
        return Response(visible, headers=headers)

    @post("/runs/{run_id:str}/cancel", status_code=200)
    async def cancel(self, rt: Rt, actor: Caller, run_id: FromPath[str]) -> dict[str, Any]:
        async with rt.db.read() as session:
            run = await session.get(Run, run_id)
            view = await run_view(session, run) if run is not None else _unwritten_view(rt, run_id)
            rt.authz.authorize(actor, "cancel", view)
        status = await rt.runs.cancel(actor, run_id)
        return {"id": run_id, "status": status}
