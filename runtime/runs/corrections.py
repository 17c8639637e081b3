"""A run becomes a test case of its flow's working copy: "the next version must pass this".

    GET  /api/runs/{id}/test-case    the case it would add (for the studio's dialog)
    POST /api/runs/{id}/test-case    add it; If-Match: the working copy's ETag ("3", or *)

The case, from the run and the asker's feedback:

    name       "Korrektur vom 07.12.2026 (Lauf 1a2b3c4d)" (or one the caller gives), made
               unique among the working copy's cases
    inputs     the run's inputs
    fixed      each `connector` node of the working copy with what it answered in the run
               (test cases never call connections, in any mode)
    decisions  each approval node as it was decided in the run (approved or rejected)
    expect     one check of a declared output: `equals` (default) or `contains`, against
               the asker's correction (default), or a text the caller chose (a key phrase)

Nodes that ask the LLM (`llm`, `agent`, routers that classify) are NOT fixed: fixing them
with the run's answer would test the templates around a frozen answer, which the correction
says is wrong. So the case checks the model's behaviour, which needs the cases to run live;
in fixed mode (the mode that gates submission) it fails until someone fixes those nodes in
the case. The answers name them (`llm_nodes`) so that the studio can say so.

Writing is the working copy's compare-and-set (`runtime.flows.drafts.write_draft`): a stale
If-Match is 412 `draft_changed`, none 428; `*` adds to whatever is there now, still without
losing a write that lands in between (the revision just read is what the write names).
Who may: whoever may read the run (404 otherwise) and edit the flow (403). Audited as
`run.test_case_created` on the flow, with the run's id, never the expected text.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nodes.registry import DEFAULT_REGISTRY, NodeRegistry
from runtime.audit.service import append as audit
from runtime.db.models import Flow, FlowVersion, Run, RunStep
from runtime.engine.cases import MAX_CASES
from runtime.errors import BadRequest, Conflict
from runtime.feedback.models import RunFeedback
from runtime.flows import drafts
from runtime.flows.service import get_flow
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.runs.viewer import readable_run
from runtime.runs.viewer_schemas import (
    MAX_CASE_NAME,
    TestCaseCreated,
    TestCaseProposal,
    TestCaseRequest,
)

# The output a check looks at by default: the chat's main text output, else the first one.
MAIN_OUTPUTS = ("answer", "result", "text")
DECISIONS = {"approved": "approve", "rejected": "reject"}


def _nodes(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [node for node in document.get("nodes") or [] if isinstance(node, dict) and node.get("id")]


def asks_the_llm(node: dict[str, Any]) -> bool:
    """The nodes `runtime.testing.runner.must_fix` wants fixed in fixed mode (and agents)."""
    kind = node.get("type")
    return kind in ("llm", "agent") or (kind == "router" and bool((node.get("config") or {}).get("classes")))


def _outputs(document: dict[str, Any]) -> list[str]:
    declared = document.get("outputs")
    return [str(name) for name in declared] if isinstance(declared, dict) else []


def _default_output(names: list[str]) -> str | None:
    return next((name for name in MAIN_OUTPUTS if name in names), names[0] if names else None)


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    for number in range(2, MAX_CASES + 2):
        suffix = f" ({number})"
        candidate = name[: MAX_CASE_NAME - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
    return name  # cannot happen: there are at most MAX_CASES names


def _default_name(run: Run, from_correction: bool) -> str:
    day = run.created_at.strftime("%d.%m.%Y")
    return f"{'Korrektur' if from_correction else 'Lauf'} vom {day} (Lauf {run.id[:8]})"


class _Draft:
    """What the case is built from: the run, its steps, its feedback and the working copy."""

    def __init__(
        self,
        run: Run,
        steps: dict[str, RunStep],
        correction: str | None,
        working_copy: drafts.DraftView,
    ) -> None:
        self.run = run
        self.steps = steps
        self.correction = correction
        self.view = working_copy
        document = working_copy.document
        if not isinstance(document, dict):
            raise Conflict(
                "the working copy of this flow is not a flow document; repair it in the editor first",
                code="working_copy_unusable",
            )
        self.document: dict[str, Any] = document
        self.nodes = _nodes(document)
        self.outputs = _outputs(document)

    def fixed(self) -> dict[str, dict[str, Any]]:
        found = {}
        for node in self.nodes:
            step = self.steps.get(str(node["id"]))
            if node.get("type") == "connector" and step is not None and isinstance(step.outputs, dict):
                found[str(node["id"])] = dict(step.outputs)
        return found

    def decisions(self) -> dict[str, dict[str, Any]]:
        found = {}
        for node in self.nodes:
            step = self.steps.get(str(node["id"]))
            outputs = step.outputs if step is not None and isinstance(step.outputs, dict) else {}
            if node.get("type") == "approval" and outputs.get("decision") in DECISIONS:
                found[str(node["id"])] = {
                    "decision": DECISIONS[outputs["decision"]],
                    "comment": str(outputs.get("comment") or "")[:10_000],
                    "payload": outputs.get("payload"),
                }
        return found

    def llm_nodes(self) -> list[str]:
        return [str(node["id"]) for node in self.nodes if asks_the_llm(node)]

    def expected(self, output: str | None) -> str:
        if self.correction:
            return self.correction
        value = (self.run.outputs or {}).get(output) if output else None
        return value if isinstance(value, str) else ""

    def taken_names(self) -> set[str]:
        tests = self.document.get("tests")
        if not isinstance(tests, list):
            return set()
        return {str(case.get("name")) for case in tests if isinstance(case, dict)}


async def _gather(
    session: AsyncSession,
    authz: Authorizer,
    actor: Actor,
    run_id: str,
    registry: NodeRegistry,
) -> tuple[Flow, _Draft]:
    run = await readable_run(session, authz, actor, run_id)
    flow = await get_flow(session, authz, actor, run.flow_id, "edit")
    working_copy = await drafts.read_draft(session, authz, actor, flow.id, registry)
    steps = (await session.execute(select(RunStep).where(RunStep.run_id == run.id))).scalars().all()
    correction = None
    if run.started_by is not None:
        correction = (
            await session.execute(
                select(RunFeedback.correction).where(
                    RunFeedback.run_id == run.id, RunFeedback.user_id == run.started_by
                )
            )
        ).scalar_one_or_none()
    return flow, _Draft(run, {step.node_id: step for step in steps}, correction, working_copy)


async def propose_case(
    session: AsyncSession,
    authz: Authorizer,
    actor: Actor,
    run_id: str,
    registry: NodeRegistry = DEFAULT_REGISTRY,
) -> TestCaseProposal:
    flow, draft = await _gather(session, authz, actor, run_id, registry)
    output = _default_output(draft.outputs)
    return TestCaseProposal(
        flow_id=flow.id,
        name=_unique(_default_name(draft.run, bool(draft.correction)), draft.taken_names()),
        inputs=dict(draft.run.inputs or {}),
        fixed=sorted(draft.fixed()),
        decisions=sorted(draft.decisions()),
        outputs=draft.outputs,
        output=output,
        check="equals",
        expected=draft.expected(output),
        from_correction=bool(draft.correction),
        llm_nodes=draft.llm_nodes(),
        revision=draft.view.revision,
        etag=draft.view.etag,
    )


def _checked(request: TestCaseRequest, draft: _Draft) -> tuple[str, str]:
    """The output and the expected text the case checks; `BadRequest` when they do not fit."""
    if not draft.outputs:
        raise BadRequest(
            "the working copy declares no outputs, so there is nothing a case could check; "
            "declare the flow's outputs first",
            code="no_outputs",
        )
    output = request.output or _default_output(draft.outputs)
    if output not in draft.outputs:
        raise BadRequest(
            f"'{request.output}' is not an output of the working copy; choose one of: "
            f"{', '.join(draft.outputs)}",
            code="unknown_output",
            output=request.output,
            choices=draft.outputs,
        )
    expected = request.expected if request.expected is not None else draft.expected(output)
    if not expected.strip():
        raise BadRequest(
            "say what the output should be: this run has no correction and its output "
            f"'{output}' is no text; send 'expected'",
            code="expected_required",
            output=output,
        )
    return output, expected


async def add_case(
    session: AsyncSession,
    authz: Authorizer,
    actor: Actor,
    run_id: str,
    request: TestCaseRequest,
    if_match: str | None,
    registry: NodeRegistry = DEFAULT_REGISTRY,
) -> TestCaseCreated:
    """Append the run's case to the working copy (call inside `db.write()`)."""
    flow, draft = await _gather(session, authz, actor, run_id, registry)
    output, expected = _checked(request, draft)
    tests = draft.document.get("tests")
    tests = list(tests) if isinstance(tests, list) else []
    if len(tests) >= MAX_CASES:
        raise Conflict(
            f"the working copy has {len(tests)} test cases, the most a flow may have; delete one first",
            code="too_many_cases",
            count=len(tests),
        )
    name = _unique(request.name or _default_name(draft.run, bool(draft.correction)), draft.taken_names())
    version = await session.get(FlowVersion, draft.run.version_id)
    case: dict[str, Any] = {
        "name": name,
        "description": (
            f"Aus Lauf {draft.run.id} (Version {version.number if version else draft.run.version_number}, "
            f"{draft.run.created_at.strftime('%d.%m.%Y %H:%M')} UTC)"
            + (": die Korrektur der Person, die gefragt hat." if draft.correction else ".")
        ),
        "inputs": copy.deepcopy(dict(draft.run.inputs or {})),
        "expect": [{"check": request.check, "output": output, "value": expected}],
    }
    if fixed := draft.fixed():
        case["fixed"] = copy.deepcopy(fixed)
    if decisions := draft.decisions():
        case["decisions"] = copy.deepcopy(decisions)
    document = {**draft.document, "tests": [*tests, case]}
    if if_match is not None and if_match.strip() == drafts.ANY:
        # "Add to whatever is there": still a compare-and-set on the revision just read.
        if_match = draft.view.etag
    written = await drafts.write_draft(session, authz, actor, flow.id, document, if_match, registry)
    await audit(
        session,
        actor=actor.username,
        action="run.test_case_created",
        resource_type="flow",
        resource_id=flow.id,
        detail={
            "run_id": draft.run.id,
            "case_index": len(tests),
            "check": request.check,
            "output": output,
            "from_correction": bool(draft.correction) and request.expected in (None, draft.correction),
            "revision": written.revision,
        },
    )
    return TestCaseCreated(
        flow_id=flow.id,
        index=len(tests),
        name=name,
        case=case,
        llm_nodes=draft.llm_nodes(),
        revision=written.revision,
        etag=written.etag,
    )
