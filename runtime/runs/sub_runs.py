"""`SubRuns`: the `assistants` service of the nodes — published assistants as sub-runs.

An `assistant` node, a `map` node or an agent's assistant tool runs a published assistant
as a run of its own, linked to the run whose node started it (`Run.parent_run_id`). The
sub-run acts for the same person as its parent: the policy decides whether they may invoke
the assistant (the check of `POST /api/assistants/{slug}/runs`), and what the sub-run's
nodes may read (knowledge, say) is filtered by that person's access. Assistants calling
assistants nest at most `MAX_CALL_DEPTH` deep, which also ends an assistant that calls
itself, directly or through others.

A parent that waits for a sub-run waits durably (`runtime.runs.sub_run_waits`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from nodes.agent_tools import SAFE_METHODS
from nodes.errors import NodeError
from nodes.services import AssistantFacts, SubRunOutcome, SubRunRequest
from runtime.db.database import Database
from runtime.db.models import Run
from runtime.errors import BadRequest, Conflict, DirigentError, NotFound
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.runs import queries
from runtime.runs.live import LiveAssistants
from runtime.runs.manager import RunManager, RunnableVersion
from runtime.users.service import load_actor

# Assistants calling assistants: how deep at most (a run a person started is depth 0).
MAX_CALL_DEPTH = 5


def _version_label(version: int | None) -> str:
    return "live" if version is None else str(version)


def inputs_schema(document: dict[str, Any]) -> dict[str, Any]:
    """The flow's declared inputs as the JSON schema of an object (an agent tool's parameters)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in (document.get("inputs") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        prop: dict[str, Any] = {"type": spec.get("type", "string")}
        if spec.get("description") or spec.get("title"):
            prop["description"] = spec.get("description") or spec.get("title")
        if spec.get("enum"):
            prop["enum"] = spec["enum"]
        properties[name] = prop
        if spec.get("required") and spec.get("default") is None:
            required.append(name)
    return {"type": "object", "properties": properties, "required": required}


def has_side_effects(document: dict[str, Any]) -> bool:
    """Whether a run of the document may change something outside Dirigent (or ask a person)."""
    for node in document.get("nodes") or []:
        kind, config = node.get("type"), node.get("config") or {}
        if kind in ("approval", "assistant", "map"):  # nested assistants: counted as effects
            return True
        if kind == "connector" and (
            str(config.get("method", "GET")).upper() not in SAFE_METHODS or config.get("to")
        ):
            return True
        if kind == "agent":
            for tool in config.get("tools") or []:
                if tool.get("kind") == "assistant" or (
                    tool.get("kind") == "connection"
                    and str(tool.get("method", "GET")).upper() not in SAFE_METHODS
                ):
                    return True
    return False


def _outcome(run_id: str, status: str, outputs: Any, error: Any) -> SubRunOutcome:
    return SubRunOutcome(
        run_id=run_id,
        status=status,
        outputs=outputs if isinstance(outputs, dict) else None,
        error=error if isinstance(error, dict) else None,
    )


class SubRuns:
    """The runtime's `nodes.services.AssistantRuns`."""

    def __init__(
        self, db: Database, authz: Authorizer, manager: RunManager, assistants: LiveAssistants
    ) -> None:
        self.db = db
        self.authz = authz
        self.manager = manager
        self.assistants = assistants

    async def _actor(self, caller_id: str | None, slug: str) -> Actor:
        actor = None
        if caller_id is not None:
            async with self.db.read() as session:
                actor = await load_actor(session, caller_id)
        if actor is None:
            raise NodeError(
                f"assistant '{slug}' can only be called for a person, and this run acts for none",
                code="assistant_forbidden",
                assistant=slug,
            )
        return actor

    async def _version(self, actor: Actor, slug: str, number: int | None) -> tuple[RunnableVersion, str]:
        """The version to run, checked by the policy as an invocation by `actor` is."""
        try:
            if number is None:
                assistant = await self.assistants.find(slug)
                if assistant is None:
                    raise NotFound("assistant not found", code="not_found", resource="assistant")
                self.authz.authorize(actor, "invoke", assistant.view)
                if assistant.version is None:
                    raise NotFound("no live version", code="not_found", resource="flow_version")
                return assistant.version, assistant.workspace_id
            async with self.db.read() as session:
                flow, version = await queries.pinned_version(session, self.authz, actor, slug, number)
            return version, flow.workspace_id
        except (NotFound, Conflict) as error:
            hidden = getattr(error, "policy_denial", False)
            if hidden:  # the caller may not even see it: refused, as the API would say
                raise self._forbidden(slug) from None
            raise NodeError(
                f"there is no published version {_version_label(number)} of assistant '{slug}'",
                code="assistant_not_found",
                assistant=slug,
                version=_version_label(number),
            ) from None
        except DirigentError:
            raise self._forbidden(slug) from None

    @staticmethod
    def _forbidden(slug: str) -> NodeError:
        return NodeError(
            f"the person this run acts for may not invoke assistant '{slug}'",
            code="assistant_forbidden",
            assistant=slug,
        )

    async def _depth(self, run_id: str) -> int:
        facts = self.manager.facts(run_id)
        if facts is not None:
            return int(facts.get("call_depth") or 0)
        async with self.db.read() as session:
            depth = (await session.execute(select(Run.call_depth).where(Run.id == run_id))).scalar()
        return int(depth or 0)

    async def start(self, request: SubRunRequest) -> str:
        depth = await self._depth(request.parent_run_id) + 1
        if depth > MAX_CALL_DEPTH:
            raise NodeError(
                f"assistants call assistants more than {MAX_CALL_DEPTH} deep here "
                f"(does '{request.assistant}' call itself?)",
                code="assistant_depth_exceeded",
                assistant=request.assistant,
                limit=MAX_CALL_DEPTH,
            )
        actor = await self._actor(request.caller_id, request.assistant)
        version, workspace_id = await self._version(actor, request.assistant, request.version)
        try:
            run_id, _ = await self.manager.start(
                actor,
                version,
                workspace_id,
                request.inputs,
                is_test=request.is_test,
                parent_run_id=request.parent_run_id,
                call_depth=depth,
            )
        except BadRequest as error:
            raise NodeError(
                f"the inputs do not fit assistant '{request.assistant}': {error.message}",
                code="assistant_inputs_invalid",
                assistant=request.assistant,
                detail=error.message,
            ) from None
        return run_id

    async def wait(self, run_id: str, timeout_s: float) -> SubRunOutcome:
        await self.manager.wait(run_id, timeout_s)
        body = self.manager.take_result(run_id)
        if body is None:
            # Still going or waiting: stored before the parent relies on it (it may suspend).
            await self.manager.ensure_stored(run_id)
            body = self.manager.take_result(run_id)
        if body is not None:
            return _outcome(run_id, body["status"], body.get("outputs"), body.get("error"))
        [outcome] = await self.outcomes([run_id])
        return outcome

    async def outcomes(self, run_ids: list[str]) -> list[SubRunOutcome]:
        async with self.db.read() as session:
            rows = await session.execute(
                select(Run.id, Run.status, Run.outputs, Run.error).where(Run.id.in_(run_ids))
            )
            found = {row[0]: _outcome(*row) for row in rows.tuples()}
        lost = {"code": "sub_run_lost", "message": "the sub-run was not stored"}
        return [found.get(run_id) or _outcome(run_id, "failed", None, lost) for run_id in run_ids]

    async def describe(self, caller_id: str | None, assistant: str, version: int | None) -> AssistantFacts:
        actor = await self._actor(caller_id, assistant)
        found, _ = await self._version(actor, assistant, version)
        document = found.document
        return AssistantFacts(
            slug=assistant,
            version=found.number,
            parameters=inputs_schema(document),
            side_effects=has_side_effects(document),
        )
