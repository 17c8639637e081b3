"""`RunService`: what the run endpoints do, bound to what they need.

Named a service like the other slices' (`FlowService`, ...), and not to be confused with
the `RunManager` it holds as `manager`: the manager drives runs in this process; the
service decides who may start, read and cancel them, finds the version to run and reads
runs back for an answer. The runs viewer's operations (`runtime.runs.viewer`,
`runtime.runs.corrections`) are here too, so that the run controllers need one
dependency. It holds references only, so building one per request costs next to nothing
(`runtime.runs.deps`).
"""

from __future__ import annotations

from typing import Any

from nodes.registry import NodeRegistry
from runtime.db.database import Database
from runtime.db.models import Flow, FlowVersion, Run
from runtime.errors import NotFound, Unavailable
from runtime.flows import service as flows
from runtime.policy import resources
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import run_view
from runtime.runs import corrections, queries, viewer
from runtime.runs.live import LiveAssistants
from runtime.runs.manager import RunManager, RunnableVersion
from runtime.runs.viewer_schemas import (
    RunPage,
    RunTrace,
    StepFull,
    TestCaseCreated,
    TestCaseProposal,
    TestCaseRequest,
)
from runtime.runs.views import load_run_json, run_as_json

# A run in one of these states is answered with 200; otherwise (queued, running) with 202.
TERMINAL_OR_WAITING = ("succeeded", "failed", "cancelled", "expired", "waiting")


class RunService:
    __slots__ = ("assistants", "authz", "db", "manager", "registry")

    def __init__(
        self,
        db: Database,
        authz: Authorizer,
        manager: RunManager,
        assistants: LiveAssistants,
        registry: NodeRegistry,
    ) -> None:
        self.db = db
        self.authz = authz
        self.manager = manager
        self.assistants = assistants
        self.registry = registry

    # -- what to run ---------------------------------------------------------------------
    async def invocable(self, actor: Actor) -> list[tuple[Flow, FlowVersion, str]]:
        """(flow, live version, workspace slug) of the assistants `actor` may invoke."""
        async with self.db.read() as session:
            return await queries.invocable_assistants(session, self.authz, actor)

    async def live_version(self, actor: Actor, slug: str) -> tuple[RunnableVersion, str]:
        """The live version of assistant `slug` and its workspace's id: the hot path, one
        indexed query and no ORM session (`runtime.runs.live`)."""
        assistant = await self.assistants.find(slug)
        if assistant is None:
            raise NotFound("assistant not found", code="not_found", resource="assistant")
        self.authz.authorize(actor, "invoke", assistant.view)
        if assistant.version is None:  # global admins pass the policy even when nothing is live
            raise NotFound(
                "assistant not found: it has no live version", code="not_found", resource="assistant"
            )
        return assistant.version, assistant.workspace_id

    async def pinned_version(self, actor: Actor, slug: str, number: int) -> tuple[RunnableVersion, str]:
        """The published version `number` of assistant `slug` and its workspace's id."""
        async with self.db.read() as session:
            flow, version = await queries.pinned_version(session, self.authz, actor, slug, number)
        return version, flow.workspace_id

    async def testable_version(self, actor: Actor, flow_id: str, number: int) -> tuple[RunnableVersion, str]:
        """Any saved version (a draft too) that `actor` may test-run, and its workspace's id."""
        async with self.db.read() as session:
            flow, version = await flows.get_version(session, self.authz, actor, flow_id, number, "test_run")
        return version, flow.workspace_id

    # -- answers -------------------------------------------------------------------------
    async def outcome(self, run_id: str, wait_s: float) -> dict[str, Any]:
        """The run after up to `wait_s` as `runtime.runs.views.run_as_json` shows it; a
        run that is still going only once it is stored (a caller may rely on it surviving
        a crash)."""
        manager = self.manager
        await manager.wait(run_id, wait_s)
        body = manager.take_result(run_id)
        if body is None:
            await manager.ensure_stored(run_id)
            body = manager.take_result(run_id) or manager.running_as_json(run_id)
        if body is None:  # waiting, or driven by another process: read what is stored
            async with self.db.read() as session:
                run = await session.get(Run, run_id)
                if run is None:  # it ended here, but its conclusion could not be written
                    raise Unavailable(
                        "the run could not be stored; its outcome is unknown", code="run_not_stored"
                    )
                body = await load_run_json(session, run)
        return body

    # -- reading and cancelling ----------------------------------------------------------
    async def read(self, actor: Actor, run_id: str) -> dict[str, Any]:
        """The run with its steps, tasks and starter's feedback; reading someone else's
        run is audited (`run.viewed`)."""
        async with self.db.read() as session:
            run = await session.get(Run, run_id)
            if run is None:
                return self._unwritten_run(actor, run_id)
            self.authz.authorize(actor, "read", await run_view(session, run))
            body = await queries.run_with_feedback(session, run)
        await viewer.audit_read_of_others(self.db, actor, run, "run")
        return body

    async def page(self, actor: Actor, flow_id: str | None, size: int, before: str | None) -> list[Run]:
        """Up to `size` runs `actor` may read, newest first, after the run `before`."""
        async with self.db.read() as session:
            return await queries.readable_page(session, actor, flow_id, size, before)

    async def cancel(self, actor: Actor, run_id: str) -> str:
        """Cancel the run; its status now: cancelled, or cancelling (another process's)."""
        async with self.db.read() as session:
            run = await session.get(Run, run_id)
            view = await run_view(session, run) if run is not None else self._unwritten_view(run_id)
            self.authz.authorize(actor, "cancel", view)
        return await self.manager.cancel(actor, run_id)

    def _unwritten_facts(self, run_id: str) -> dict[str, Any]:
        """A run this process started moments ago and has not written yet (it is that quick)."""
        facts = self.manager.facts(run_id)
        if facts is None:
            raise NotFound("run not found", code="not_found", resource="run")
        return facts

    def _unwritten_view(self, run_id: str, facts: dict[str, Any] | None = None) -> resources.Run:
        facts = facts or self._unwritten_facts(run_id)
        return resources.Run(id=run_id, workspace_id=facts["workspace_id"], started_by=facts["started_by"])

    def _unwritten_run(self, actor: Actor, run_id: str) -> dict[str, Any]:
        facts = self._unwritten_facts(run_id)  # once: the run may end (and leave memory) meanwhile
        self.authz.authorize(actor, "read", self._unwritten_view(run_id, facts))
        return {**run_as_json(facts, [], []), "feedback": None}

    # -- the runs viewer -----------------------------------------------------------------
    async def flow_runs(
        self, actor: Actor, flow_id: str, filters: viewer.RunFilters, limit: int, before: str | None
    ) -> RunPage:
        async with self.db.read() as session:
            return await viewer.list_flow_runs(
                session, self.authz, actor, flow_id, filters, limit=limit, before=before
            )

    async def trace(self, actor: Actor, run_id: str) -> RunTrace:
        async with self.db.read() as session:
            run, trace = await viewer.run_trace(session, self.authz, actor, run_id)
        await viewer.audit_read_of_others(self.db, actor, run, "trace")
        return trace

    async def step(self, actor: Actor, run_id: str, node_id: str) -> StepFull:
        async with self.db.read() as session:
            run, step = await viewer.step_in_full(session, self.authz, actor, run_id, node_id)
        await viewer.audit_read_of_others(self.db, actor, run, "step")
        return step

    async def propose_test_case(self, actor: Actor, run_id: str) -> TestCaseProposal:
        async with self.db.read() as session:
            return await corrections.propose_case(session, self.authz, actor, run_id, self.registry)

    async def add_test_case(
        self, actor: Actor, run_id: str, request: TestCaseRequest, if_match: str | None
    ) -> TestCaseCreated:
        async with self.db.write() as session:
            return await corrections.add_case(
                session, self.authz, actor, run_id, request, if_match, self.registry
            )
