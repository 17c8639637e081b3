"""Running a flow version's test cases: in memory, through the real engine.

A case is never a real run: no run rows, no approval tasks, never a connection call.

* **fixed** outputs: a node named in the case's `fixed` is not executed; its outputs are
  the given values (undeclared ones None). Every `connector` node the run reaches must be
  fixed, in every mode. In `fixed` mode (the one that gates submission) so must every
  node that would ask the LLM: `llm` nodes and routers that classify with it. An unfixed
  one fails the case with an error naming the node. Retrieval runs for real (with the
  tester as the caller) unless fixed.
* **agents**: an agent node named in the case's `agents` runs its real loop, but its
  model's turns are the case's script (the model is never asked) and its tools answer
  with the case's fixed results; a connection tool without one is never called (the case
  fails naming it), in every mode, so no side effect ever happens. A knowledge tool
  without one searches for real, as retrieval does. Unscripted, in `fixed` mode, an agent
  must be fixed like an `llm` node.
* **decisions**: when the run waits at an approval node (or an agent holds a call for a
  person: the same decision for every call it holds), the case's scripted decision
  resumes it through the engine's suspend/resume path, as a person's decision would;
  without one, the case's run ends `waiting`.
* a run that fails fails the case, unless the case has a `status` check (which then says
  whether `failed` was expected).
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from nodes.base import Node, NodeContext, Outputs, Resolution, Scope, Suspend
from nodes.connector import ConnectorResult
from nodes.errors import NodeError
from nodes.retrieval import Passage
from nodes.services import ChatResult, ToolCall
from runtime.engine.cases import AgentScript, StatusCheck, TestCase
from runtime.engine.compiled import CompiledFlow
from runtime.engine.executor import Engine
from runtime.engine.inputs import prepare_inputs
from runtime.engine.records import RunOutcome
from runtime.errors import BadRequest
from runtime.testing.assertions import Observed, failure

Mode = Literal["fixed", "live"]
MODES: tuple[Mode, ...] = ("fixed", "live")


class NotFixed(NodeError):
    """A node that a test case must fix (connector; LLM in fixed mode) was reached unfixed."""


class _Unfixed(Node):
    """Stands in for a node a case must fix: same id, type and outputs; running it fails."""

    def __init__(self, inner: Node, message: str) -> None:
        super().__init__(inner.id, inner.config)
        self.inner = inner
        self.message = message
        self.type = inner.type  # type: ignore[misc]  # the step keeps the real node's type

    def declared_outputs(self, flow_inputs: Mapping[str, Any]) -> tuple[str, ...]:
        return self.inner.declared_outputs(flow_inputs)

    def branches(self) -> tuple[str, ...] | None:
        return self.inner.branches()

    async def run(self, ctx: NodeContext, scope: Scope) -> dict[str, Any]:
        raise NotFixed(self.message, code="not_fixed")


class _NoConnections:
    """The `connections` service of a test: a second guard, should a node get past the first."""

    async def call(self, request: Any) -> Any:
        raise NotFixed(
            f"connector node '{request.node_id}' is not fixed in this case; "
            "test cases never call connections",
            code="not_fixed",
        )


class _NoAssistants:
    """The `assistants` service of a test: test cases never start runs of other assistants."""

    async def start(self, request: Any) -> Any:
        raise NotFixed(
            f"assistant '{request.assistant}' would be run; test cases never start other "
            "assistants' runs (fix the node's outputs)",
            code="not_fixed",
        )

    async def describe(self, caller_id: Any, assistant: str, version: Any) -> Any:
        raise NotFixed(
            f"an agent's tool would run assistant '{assistant}'; test cases never start other "
            "assistants' runs (fix the agent's outputs)",
            code="not_fixed",
        )


class _NoLLM:
    async def chat(self, request: Any, on_token: Any = None) -> Any:
        raise NotFixed(
            "in fixed mode test cases never call the LLM; fix the node's outputs, or run the tests live",
            code="not_fixed",
        )


class _ScriptedModel:
    """The model of a scripted agent: the case's turns, the next one chosen by how many
    the conversation already holds (so a loop resumed after a decision goes on where it was)."""

    def __init__(self, node_id: str, script: AgentScript) -> None:
        self.node_id = node_id
        self.script = script

    async def chat(self, request: Any, on_token: Any = None) -> ChatResult:
        turn = sum(1 for message in request.messages if message.get("role") == "assistant")
        if turn >= len(self.script.turns):
            raise NotFixed(
                f"agent node '{self.node_id}' asks the model for turn {turn + 1}, but the case "
                f"scripts {len(self.script.turns)}; script the turn, or end with a turn without tool calls",
                code="not_fixed",
            )
        scripted = self.script.turns[turn]
        return ChatResult(
            text=scripted.text,
            usage={"prompt_tokens": scripted.prompt_tokens, "completion_tokens": scripted.completion_tokens},
            model="scripted",
            tool_calls=[
                ToolCall(
                    id=f"case-{turn + 1}.{number}",
                    name=call.tool,
                    arguments=json.dumps(call.arguments, ensure_ascii=False),
                )
                for number, call in enumerate(scripted.tool_calls)
            ],
        )


class _FixedConnections:
    """The `connections` of a scripted agent: a tool's fixed result, else never a call."""

    def __init__(self, node_id: str, results: Mapping[str, Any]) -> None:
        self.node_id = node_id
        self.results = results

    async def call(self, request: Any) -> ConnectorResult:
        if request.action in self.results:
            return ConnectorResult(status=200, response=self.results[request.action])
        raise NotFixed(
            f"agent node '{self.node_id}' calls the tool '{request.action}', whose result is not "
            "fixed in this case; test cases never call connections",
            code="not_fixed",
        )


class _FixedKnowledge:
    """The `knowledge` of a scripted agent: a tool's fixed passages, else a real search."""

    def __init__(self, node: Node, results: Mapping[str, Any], real: Any) -> None:
        self.indexes = {
            tool.index: tool.name for tool in getattr(node.config, "tools", []) if tool.kind == "knowledge"
        }
        self.results = results
        self.real = real

    async def retrieve(self, request: Any) -> list[Passage]:
        tool = self.indexes.get(request.index, request.index)
        if tool in self.results:
            found = self.results[tool]
            items = found if isinstance(found, list) else [found]
            return [_passage(tool, number, item) for number, item in enumerate(items)]
        if self.real is None:
            raise NotFixed(
                f"the knowledge tool '{tool}' has no fixed passages in this case "
                "and this runtime has no knowledge service",
                code="not_fixed",
            )
        return list(await self.real.retrieve(request))


def _passage(tool: str, number: int, item: Any) -> Passage:
    is_object = isinstance(item, dict)
    text, source = (item.get("text", ""), item.get("source", tool)) if is_object else (item, tool)
    chunk = f"case:{tool}:{number}"
    return Passage(str(text), str(source), None, None, 1.0, chunk, chunk)


class _ScriptedAgent(Node):
    """An agent whose model and tools are the case's script: its real loop runs on them."""

    def __init__(self, inner: Node, script: AgentScript) -> None:
        super().__init__(inner.id, inner.config)
        self.inner = inner
        self.script = script
        self.type = inner.type  # type: ignore[misc]

    def declared_outputs(self, flow_inputs: Mapping[str, Any]) -> tuple[str, ...]:
        return self.inner.declared_outputs(flow_inputs)

    def timeout_s(self) -> float:
        return self.inner.timeout_s()

    def _scripted(self, ctx: NodeContext) -> NodeContext:
        services = {
            **ctx.services,
            "llm": _ScriptedModel(self.id, self.script),
            "connections": _FixedConnections(self.id, self.script.tools),
            "knowledge": _FixedKnowledge(self.inner, self.script.tools, ctx.services.get("knowledge")),
        }
        return dataclasses.replace(ctx, services=services)

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs | Suspend:
        return await self.inner.run(self._scripted(ctx), scope)

    async def resume(self, ctx: NodeContext, resolution: Resolution) -> Outputs | Suspend:
        return await self.inner.resume(self._scripted(ctx), resolution)


def must_fix(node: Node, mode: Mode) -> str | None:
    """Why `node` must be fixed in a case run in `mode`, or None."""
    if node.type == "connector":
        return f"connector node '{node.id}' is not fixed in this case; test cases never call connections"
    if node.type in ("assistant", "map"):
        return (
            f"{node.type} node '{node.id}' is not fixed in this case; test cases never start "
            "other assistants' runs (fix its outputs)"
        )
    if mode == "fixed" and node.type == "llm":
        return (
            f"llm node '{node.id}' is not fixed in this case; in fixed mode test cases never call the LLM "
            "(fix its outputs, or run the tests live)"
        )
    if mode == "fixed" and node.type == "agent":
        return (
            f"agent node '{node.id}' is not fixed in this case; in fixed mode test cases never call the LLM "
            "nor an agent's tools (fix its outputs, or run the tests live)"
        )
    if mode == "fixed" and node.type == "router" and getattr(node.config, "classes", None):
        return (
            f"router node '{node.id}' classifies with the LLM and is not fixed in this case; "
            "in fixed mode test cases never call the LLM (fix its branch, or run the tests live)"
        )
    return None


@dataclass
class CaseResult:
    name: str
    passed: bool
    status: str
    duration_ms: float
    outputs: dict[str, Any]
    branches: dict[str, str]
    approvals: list[str]
    connector_calls: list[str]
    failures: list[dict[str, Any]]
    error: dict[str, Any] | None
    steps: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class SuiteResult:
    mode: Mode
    cases: list[CaseResult] = field(default_factory=list)
    duration_ms: float = 0.0

    @property
    def total(self) -> int:
        return len(self.cases)

    @property
    def failed(self) -> int:
        return sum(1 for case in self.cases if not case.passed)

    @property
    def passed(self) -> bool:
        return self.total > 0 and self.failed == 0


class CaseRunner:
    """Runs the cases of one compiled flow; `services` are the runtime's node services."""

    def __init__(
        self,
        flow: CompiledFlow,
        services: Mapping[str, Any],
        *,
        mode: Mode = "fixed",
        caller_id: str | None = None,
        workspace_id: str | None = None,
        tester: str = "tester",
        max_node_timeout_s: float = 300.0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode is one of {', '.join(MODES)}, not {mode!r}")
        self.flow = flow
        self.mode = mode
        self.caller_id = caller_id
        self.workspace_id = workspace_id
        self.tester = tester
        guarded = {**services, "connections": _NoConnections(), "assistants": _NoAssistants()}
        if mode == "fixed":
            guarded["llm"] = _NoLLM()
        self.engine = Engine(guarded, max_node_timeout_s=max_node_timeout_s)

    async def run_all(self) -> SuiteResult:
        began = time.perf_counter()
        suite = SuiteResult(self.mode)
        for case in self.flow.document.tests:
            suite.cases.append(await self.run_case(case))
        suite.duration_ms = _ms_since(began)
        return suite

    def _guarded_flow(self, case: TestCase) -> CompiledFlow:
        instances = dict(self.flow.instances)
        for node_id, node in self.flow.instances.items():
            if node_id in case.agents and node_id not in case.fixed:
                instances[node_id] = _ScriptedAgent(node, case.agents[node_id])
                continue
            reason = None if node_id in case.fixed else must_fix(node, self.mode)
            if reason:
                instances[node_id] = _Unfixed(node, reason)
        return dataclasses.replace(self.flow, instances=instances)

    def _fixed_outputs(self, case: TestCase) -> dict[str, dict[str, Any]]:
        """The case's fixed outputs, with every declared output the case leaves out as None."""
        return {
            node_id: {**dict.fromkeys(self.flow.declared_outputs(node_id)), **outputs}
            for node_id, outputs in case.fixed.items()
        }

    def _resolution(self, case: TestCase, outcome: RunOutcome, node_id: str) -> Resolution:
        decision = case.decisions[node_id]
        request = outcome.steps[node_id].suspension
        payload = decision.payload
        if payload is None and request is not None:  # not edited: what the node asked about
            payload = request.request.get("payload")
        return Resolution(
            outcome="approved" if decision.decision == "approve" else "rejected",
            comment=decision.comment,
            payload=payload,
            decided_by=[self.tester],
        )

    async def run_case(self, case: TestCase) -> CaseResult:
        began = time.perf_counter()
        try:
            inputs = prepare_inputs(self.flow.document, case.inputs)
        except BadRequest as exc:  # validation checks the inputs of cases; a hand-built flow may not
            return _refused(case, exc, _ms_since(began))
        flow = self._guarded_flow(case)
        fixed = self._fixed_outputs(case)
        run_id = f"test-{uuid.uuid4().hex[:12]}"
        options: dict[str, Any] = {
            "fixed_outputs": fixed,
            "caller_id": self.caller_id,
            "workspace_id": self.workspace_id,
        }
        outcome = await self.engine.execute(flow, run_id, inputs, **options)
        raised: list[str] = []
        while outcome.status == "waiting":
            waiting = [step.node_id for step in outcome.suspensions]
            raised += [node_id for node_id in waiting if node_id not in raised]
            decided = {
                node_id: self._resolution(case, outcome, node_id)
                for node_id in waiting
                if node_id in case.decisions
            }
            if not decided:
                break
            outcome = await self.engine.execute(
                flow, run_id, inputs, completed=outcome.steps, resolutions=decided, **options
            )
        return self._result(case, outcome, raised, _ms_since(began))

    def _result(
        self, case: TestCase, outcome: RunOutcome, raised: list[str], duration_ms: float
    ) -> CaseResult:
        steps = outcome.steps
        status = outcome.status if outcome.status in ("succeeded", "waiting") else "failed"
        error = None
        if outcome.error:
            # The run's error as stored, with its code and parameters, so clients can word it.
            error = {key: value for key, value in outcome.error.items() if key != "kind"} | {
                key: outcome.error.get(key) for key in ("node", "type", "message")
            }
        observed = Observed(
            status=status,
            outputs=dict(outcome.outputs or {}),
            steps=steps,
            branches={
                node_id: step.branch
                for node_id, step in steps.items()
                if step.status == "succeeded" and step.branch is not None
            },
            approvals=raised,
            connector_calls=[
                node_id
                for node_id, step in steps.items()
                if step.node_type == "connector" and step.status in ("succeeded", "failed")
            ],
            duration_ms=duration_ms,
            error=error,
        )
        failures: list[dict[str, Any]] = []
        if outcome.error and outcome.error.get("kind") == NotFixed.__name__:
            failures.append(_not_fixed(outcome.error))
        elif status == "failed" and not any(isinstance(check, StatusCheck) for check in case.expect):
            failures.append(
                {
                    "check": "status",
                    "code": "run_failed",
                    "params": {"error": error},
                    "message": _unexpected_failure(error),
                }
            )
        for assertion in case.expect:
            found = failure(assertion, observed)
            if found is not None:
                failures.append({"check": assertion.check, **found})
        return CaseResult(
            name=case.name,
            passed=not failures,
            status=status,
            duration_ms=duration_ms,
            outputs=observed.outputs,
            branches=observed.branches,
            approvals=raised,
            connector_calls=observed.connector_calls,
            failures=failures,
            error=error,
            steps=[
                {
                    "node": node_id,
                    "type": step.node_type,
                    "status": step.status,
                    "fixed": node_id in case.fixed,
                    "outputs": step.outputs,
                    "duration_ms": step.duration_ms,
                }
                for node_id, step in steps.items()
            ],
        )


def _unexpected_failure(error: dict[str, Any] | None) -> str:
    error = error or {}
    where = f" at '{error['node']}' ({error.get('type')})" if error.get("node") else ""
    return (
        f"the run failed{where}: {error.get('message', 'unknown error')} "
        '(if that is what the case tests, expect {"check": "status", "value": "failed"})'
    )


def _not_fixed(error: dict[str, Any]) -> dict[str, Any]:
    """The `fixed` failure of a case that reached a node it had to fix: the step's error."""
    params = {"node": error.get("node") or "", "type": error.get("type") or ""}
    return {"check": "fixed", "code": "not_fixed", "params": params, "message": str(error.get("message"))}


def _refused(case: TestCase, refused: BadRequest, duration_ms: float) -> CaseResult:
    message = refused.message
    return CaseResult(
        name=case.name,
        passed=False,
        status="failed",
        duration_ms=duration_ms,
        outputs={},
        branches={},
        approvals=[],
        connector_calls=[],
        failures=[
            {
                "check": "inputs",
                "code": refused.code,
                "params": {
                    "errors": refused.extra.get("errors", []),
                    "problems": refused.extra.get("problems", ""),
                },
                "message": message,
            }
        ],
        error={"node": None, "type": None, "message": message},
        steps=[],
    )


def _ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 3)


async def run_cases(flow: CompiledFlow, services: Mapping[str, Any], **options: Any) -> SuiteResult:
    """Every case of `flow`; see `CaseRunner` for the options."""
    return await CaseRunner(flow, services, **options).run_all()
