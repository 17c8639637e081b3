"""The engine on its own (`Engine.execute`, no database): generations, concurrency, failures,
branches, gates and merges, suspension and resumption, inputs and outputs, cancellation."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from nodes.base import Resolution
from runtime.engine.compiled import CompiledFlow, compile_flow
from runtime.engine.executor import Engine
from runtime.engine.inputs import prepare_inputs
from runtime.engine.records import RunOutcome, StepRecord
from runtime.errors import BadRequest
from tests.support.flows import (
    SHAPES,
    TEST_REGISTRY,
    Shape,
    approval_flow,
    chain,
    edge,
    flow,
    node,
    template,
)

OFFER = {"customer": "ACME", "amount": 1200}


@dataclass
class ListRecorder:
    """A `Recorder` that keeps what it is given; asks to cancel after `cancel_after` batches."""

    batches: list[list[StepRecord]] = field(default_factory=list)
    cancel_after: int | None = None

    async def record_steps(self, steps: list[StepRecord]) -> None:
        self.batches.append(list(steps))

    async def cancel_requested(self) -> bool:
        return self.cancel_after is not None and len(self.batches) >= self.cancel_after

    @property
    def recorded(self) -> dict[str, str]:
        return {step.node_id: step.status for batch in self.batches for step in batch}


def compiled(document: dict[str, Any]) -> CompiledFlow:
    return compile_flow(document, TEST_REGISTRY)


async def execute(
    document: dict[str, Any] | CompiledFlow,
    inputs: Mapping[str, Any] | None = None,
    engine: Engine | None = None,
    **options: Any,
) -> RunOutcome:
    flow_ = document if isinstance(document, CompiledFlow) else compiled(document)
    prepared = prepare_inputs(flow_.document, {"name": "Ada"} if inputs is None else inputs)
    return await (engine or Engine()).execute(flow_, "run-1", prepared, **options)


def statuses(outcome: RunOutcome) -> dict[str, str]:
    return {node_id: step.status for node_id, step in outcome.steps.items()}


def stored(steps: Mapping[str, StepRecord]) -> dict[str, StepRecord]:
    """The steps as another process reads them back from the database (JSON, no suspension)."""
    result = {}
    for node_id, step in steps.items():
        data = json.loads(json.dumps(step.as_json()))
        for moment in ("started_at", "finished_at"):
            data[moment] = datetime.fromisoformat(data[moment]) if data[moment] else None
        result[node_id] = StepRecord(**data)
    return result


# -- shapes and generations -------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.name)
async def test_shapes_run_in_topological_generations(shape: Shape) -> None:
    flow_ = compiled(shape.document)
    assert flow_.generations == shape.generations

    recorder = ListRecorder()
    outcome = await execute(flow_, recorder=recorder)

    assert outcome.status == "succeeded", outcome.error
    assert outcome.outputs == {"result": shape.result}
    assert set(statuses(outcome).values()) == {"succeeded"}
    # One batch per generation, with exactly that generation's nodes.
    assert [sorted(step.node_id for step in batch) for batch in recorder.batches] == shape.generations
    # Nobody starts before everything upstream has finished.
    for target, incoming in flow_.incoming.items():
        for source in incoming:
            assert outcome.steps[source.source].finished_at <= outcome.steps[target].started_at  # type: ignore[operator]


async def test_independent_nodes_run_concurrently() -> None:
    width = 5
    ids = [f"nap{index}" for index in range(width)]
    document = flow(
        [node(node_id, "sleep", seconds=0.2) for node_id in ids] + [node("end", "output")],
        [edge("start", node_id) for node_id in ids] + [edge(node_id, "end") for node_id in ids],
    )
    flow_ = compiled(document)
    assert flow_.generations[1] == ids

    began = time.perf_counter()
    outcome = await execute(flow_)
    elapsed = time.perf_counter() - began

    assert outcome.status == "succeeded"
    assert elapsed < 0.6, f"{width} naps of 0.2 s took {elapsed:.2f} s: they did not overlap"
    naps = [outcome.steps[node_id].outputs for node_id in ids]
    assert max(nap["started"] for nap in naps) < min(nap["finished"] for nap in naps)  # type: ignore[index]


async def test_dependent_nodes_run_one_after_another() -> None:
    document = flow(
        [node(f"nap{index}", "sleep", seconds=0.1) for index in range(3)],
        chain("start", "nap0", "nap1", "nap2"),
    )
    began = time.perf_counter()
    outcome = await execute(document)
    assert outcome.status == "succeeded"
    assert time.perf_counter() - began >= 0.3
    first, second, third = (outcome.steps[f"nap{index}"].outputs for index in range(3))
    assert first["finished"] <= second["started"] and second["finished"] <= third["started"]  # type: ignore[index]


# -- failures ---------------------------------------------------------------------------
async def test_node_timeout_fails_the_step_and_the_run() -> None:
    document = flow(
        [node("slow", "sleep", seconds=5, timeout_s=0.1), template("after", "x")],
        chain("start", "slow", "after"),
    )
    began = time.perf_counter()
    outcome = await execute(document)
    assert time.perf_counter() - began < 2

    assert outcome.status == "failed"
    step = outcome.steps["slow"]
    assert step.status == "failed"
    assert step.error == {
        "node": "slow",
        "type": "sleep",
        "kind": "NodeTimeout",
        "message": "the node took longer than its timeout (0.1 s)",
    }
    assert outcome.error == step.error
    assert "after" not in outcome.steps
    assert step.duration_ms is not None and 90 <= step.duration_ms < 2000


async def test_engine_caps_every_node_timeout() -> None:
    document = flow([node("slow", "sleep", seconds=5)], [edge("start", "slow")])
    outcome = await execute(document, engine=Engine(max_node_timeout_s=0.1))
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error["kind"] == "NodeTimeout"
    assert outcome.error["node"] == "slow"


FAILURES = {
    "node_error": ("NodeError", "the test told this node to fail"),
    "bug": ("InternalError", "unexpected ZeroDivisionError: division by zero"),
    "missing_outputs": ("NodeError", "node did not produce its outputs never"),
    "not_a_dict": ("NodeError", "node returned list, expected a dict of outputs"),
}


@pytest.mark.parametrize(("mode", "expected"), FAILURES.items(), ids=FAILURES.keys())
async def test_a_failing_node_fails_the_run_with_its_id_and_type(
    mode: str, expected: tuple[str, str]
) -> None:
    kind, message = expected
    document = flow(
        [
            template("before", "ok"),
            node("broken", "fail", mode=mode),
            template("after", "x"),
            node("end", "output"),
        ],
        chain("start", "before", "broken", "after", "end"),
    )
    recorder = ListRecorder()
    outcome = await execute(document, recorder=recorder)

    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error["node"] == "broken" and outcome.error["type"] == "fail"
    assert outcome.error["kind"] == kind and outcome.error["message"] == message
    assert statuses(outcome) == {"start": "succeeded", "before": "succeeded", "broken": "failed"}
    assert recorder.recorded == statuses(outcome)
    assert outcome.outputs is None
    if mode == "node_error":
        assert outcome.error["field"] == "config.message"


async def test_nodes_already_running_beside_a_failure_finish_and_nothing_else_starts() -> None:
    document = flow(
        [
            node("broken", "fail"),
            node("slow", "sleep", seconds=0.2),
            template("after", "x"),
            template("later", "{{ slow.text }}"),
        ],
        [edge("start", "broken"), edge("start", "slow"), edge("broken", "after"), edge("slow", "later")],
    )
    recorder = ListRecorder()
    outcome = await execute(document, recorder=recorder)
    assert outcome.status == "failed" and outcome.error["node"] == "broken"  # type: ignore[index]
    assert statuses(outcome) == {"start": "succeeded", "broken": "failed", "slow": "succeeded"}
    assert recorder.recorded == statuses(outcome)


async def test_an_unknown_reference_at_run_time_fails_the_step_not_the_engine() -> None:
    # `inputs.meta.nope` is not checkable before the run: the input is an object.
    document = flow(
        [template("a", "{{ inputs.meta.nope }}")], [edge("start", "a")], inputs={"meta": {"type": "object"}}
    )
    outcome = await execute(document, {"meta": {"k": 1}})
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error["kind"] == "TemplateError"
    assert "does not exist" in outcome.error["message"]


# -- branches, gates and merges ---------------------------------------------------------
def _routed(condition: str = "inputs.amount > 50000", branches: list[str] | None = None) -> dict[str, Any]:
    router: dict[str, Any] = {"condition": condition}
    if branches:
        router["branches"] = branches
    return flow(
        [
            node("route", "router", **router),
            template("big", "BIG {{ inputs.amount }}"),
            template("small", "small"),
            template("after_small", "{{ small.text }}!"),
            template("join", "[{{ big.text }}|{{ after_small.text }}]"),
        ],
        [
            edge("start", "route"),
            edge("route", "big", "true"),
            edge("route", "small", "false"),
            edge("small", "after_small"),
            edge("big", "join"),
            edge("after_small", "join"),
        ],
        inputs={"amount": {"type": "number", "required": True}},
        outputs={"joined": "{{ join.text }}", "big": "{{ big.text }}", "branch": "{{ route.branch }}"},
    )


@pytest.mark.parametrize(
    ("amount", "branch", "ran", "skipped", "joined"),
    [
        (60000, "true", "big", {"small", "after_small"}, "[BIG 60000|]"),
        (100, "false", "small", {"big"}, "[|small!]"),
    ],
)
async def test_router_condition_takes_one_branch_and_skips_the_other(
    amount: int, branch: str, ran: str, skipped: set[str], joined: str
) -> None:
    outcome = await execute(_routed(), {"amount": amount})
    assert outcome.status == "succeeded", outcome.error
    assert outcome.steps["route"].outputs == {"branch": branch, "confidence": 1.0, "label": branch}
    assert outcome.steps[ran].status == "succeeded"
    assert {node_id for node_id, status in statuses(outcome).items() if status == "skipped"} == skipped
    for node_id in skipped:  # recorded, with nothing in it
        step = outcome.steps[node_id]
        assert step.outputs is None and step.error is None and step.node_type == "template"
    # Skipped nodes appear downstream with their outputs set to None (rendered as nothing).
    assert outcome.outputs is not None and outcome.outputs["joined"] == joined
    assert outcome.outputs["branch"] == branch
    if branch == "false":
        assert outcome.outputs["big"] is None


async def test_router_with_named_branches() -> None:
    document = flow(
        [
            node("route", "router", condition="inputs.kind", branches=["billing", "tech"]),
            template("billing", "B"),
            template("tech", "T"),
        ],
        [edge("start", "route"), edge("route", "billing", "billing"), edge("route", "tech", "tech")],
        inputs={"kind": {"type": "string", "required": True}},
    )
    outcome = await execute(document, {"kind": "tech"})
    assert statuses(outcome) == {
        "start": "succeeded",
        "route": "succeeded",
        "billing": "skipped",
        "tech": "succeeded",
    }

    unknown = await execute(document, {"kind": "sales"})
    assert unknown.status == "failed"
    assert unknown.error is not None and unknown.error["field"] == "config.condition"
    assert "'sales'" in unknown.error["message"] and "billing, tech" in unknown.error["message"]


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [(1, 1, "succeeded"), (1, 0, "skipped"), (0, 1, "skipped"), (0, 0, "skipped")],
)
async def test_a_node_behind_gates_runs_only_if_every_gate_is_open(
    first: int, second: int, expected: str
) -> None:
    document = flow(
        [
            node("one", "router", condition="inputs.a == 1"),
            node("two", "router", condition="inputs.b == 1"),
            template("both", "both open"),
        ],
        [
            edge("start", "one"),
            edge("start", "two"),
            edge("one", "both", "true"),
            edge("two", "both", "true"),
        ],
        inputs={"a": {"type": "integer"}, "b": {"type": "integer"}},
    )
    outcome = await execute(document, {"a": first, "b": second})
    assert outcome.status == "succeeded"
    assert outcome.steps["both"].status == expected


@pytest.mark.parametrize(
    ("go_left", "go_right", "expected"),
    [
        (True, False, "succeeded"),
        (False, True, "succeeded"),
        (True, True, "succeeded"),
        (False, False, "skipped"),
    ],
)
async def test_a_merge_runs_when_any_source_succeeded(go_left: bool, go_right: bool, expected: str) -> None:
    document = flow(
        [
            node("left_gate", "router", condition="inputs.left"),
            node("right_gate", "router", condition="inputs.right"),
            template("left", "L"),
            template("right", "R"),
            template("merge", "{{ left.text }}{{ right.text }}"),
            template("after", "{{ merge.text }}."),
        ],
        [
            edge("start", "left_gate"),
            edge("start", "right_gate"),
            edge("left_gate", "left", "true"),
            edge("right_gate", "right", "true"),
            edge("left", "merge"),
            edge("right", "merge"),
            edge("merge", "after"),
        ],
        inputs={"left": {"type": "boolean"}, "right": {"type": "boolean"}},
        outputs={"after": "{{ after.text }}"},
    )
    outcome = await execute(document, {"left": go_left, "right": go_right})
    assert outcome.status == "succeeded"
    assert outcome.steps["merge"].status == expected
    assert outcome.steps["after"].status == expected  # a skip carries on downstream
    expected_text = ("L" if go_left else "") + ("R" if go_right else "") + "."
    assert outcome.outputs == {"after": expected_text if expected == "succeeded" else None}


# -- approval: suspend and resume ------------------------------------------------------
async def _suspended(**flow_options: Any) -> tuple[CompiledFlow, RunOutcome]:
    flow_ = compiled(approval_flow(**flow_options))
    outcome = await execute(flow_, OFFER)
    assert outcome.status == "waiting", outcome.error
    return flow_, outcome


async def test_approval_suspends_the_run_with_its_request() -> None:
    recorder = ListRecorder()
    flow_ = compiled(approval_flow(timeout="P3D", quorum=2))
    outcome = await execute(flow_, OFFER, recorder=recorder)

    assert outcome.status == "waiting" and outcome.outputs is None and outcome.error is None
    assert statuses(outcome) == {"start": "succeeded", "draft": "succeeded", "check": "waiting"}
    [waiting] = outcome.suspensions
    assert waiting.node_id == "check" and waiting.durable
    assert waiting.suspension is not None and waiting.suspension.kind == "approval"
    assert waiting.outputs == {"request": waiting.suspension.request}
    assert waiting.suspension.request == {
        "title": "Offer for ACME",
        "instructions": "",
        "payload": {"customer": "ACME", "amount": 1200},
        "assignees": ["user:rita", "user:ralf"],
        "quorum": 2,
        "timeout_s": 3 * 24 * 3600.0,
        "editable": True,
        "requester_may_decide": False,  # four eyes on tasks: the policy reads it from the task
    }
    # The waiting step is handed to the recorder; nodes behind it are not even recorded.
    assert recorder.recorded == statuses(outcome)


async def test_nodes_independent_of_a_waiting_node_still_run() -> None:
    document = approval_flow()
    document["nodes"] += [
        template("log1", "{{ inputs.customer }}"),
        template("log2", "{{ log1.text }}"),
        template("log3", "{{ log2.text }} logged"),
    ]
    document["edges"] += chain("start", "log1", "log2", "log3")
    outcome = await execute(compiled(document), OFFER)
    assert outcome.status == "waiting"
    assert outcome.steps["log3"].status == "succeeded"  # same generation as the deferred `send`
    assert not {"send", "note", "escalate", "end"} & set(outcome.steps)


RESOLUTIONS = {
    "approved": (
        Resolution("approved", "ok", {"customer": "ACME", "amount": 1200}, ["rita"]),
        {"send": "succeeded", "note": "skipped", "escalate": "skipped", "end": "succeeded"},
        {"sent": "sent 1200 to ACME (approved by rita: ok)", "note": None, "escalated": None},
    ),
    "rejected": (
        Resolution("rejected", "too cheap", {"customer": "ACME", "amount": 1200}, ["ralf"]),
        {"send": "skipped", "note": "succeeded", "escalate": "skipped", "end": "succeeded"},
        {"sent": None, "note": "not sent: rejected", "escalated": None},
    ),
    "timeout": (
        Resolution("timeout", "", {"customer": "ACME", "amount": 1200}, []),
        {"send": "skipped", "note": "skipped", "escalate": "succeeded", "end": "succeeded"},
        {"sent": None, "note": None, "escalated": "escalated after timeout"},
    ),
}


@pytest.mark.parametrize("outcome_name", RESOLUTIONS)
async def test_resume_takes_the_edge_of_the_outcome(outcome_name: str) -> None:
    resolution, expected_steps, expected_outputs = RESOLUTIONS[outcome_name]
    flow_, waiting = await _suspended()
    recorder = ListRecorder()
    # As another process would: the steps come back from the database, without the suspension.
    outcome = await Engine().execute(
        flow_,
        "run-1",
        OFFER,
        completed=stored(waiting.steps),
        resolutions={"check": resolution},
        recorder=recorder,
    )

    assert outcome.status == "succeeded", outcome.error
    check = outcome.steps["check"]
    assert check.status == "succeeded" and check.outputs is not None
    assert check.outputs["decision"] == check.outputs["branch"] == outcome_name
    assert check.inputs == waiting.steps["check"].inputs
    assert {node_id: outcome.steps[node_id].status for node_id in expected_steps} == expected_steps
    assert outcome.outputs is not None
    assert {key: outcome.outputs[key] for key in expected_outputs} == expected_outputs
    assert outcome.outputs["decision"] == outcome_name
    # The resumed approval is recorded first, then what ran after it; earlier steps not again.
    assert [step.node_id for step in recorder.batches[0]] == ["check"]
    assert not {"start", "draft"} & {step.node_id for batch in recorder.batches[1:] for step in batch}


async def test_timeout_without_a_timeout_edge_expires_the_run() -> None:
    flow_, waiting = await _suspended(timeout="PT1S", timeout_edge=False)
    outcome = await Engine().execute(
        flow_, "run-1", OFFER, completed=stored(waiting.steps), resolutions={"check": Resolution("timeout")}
    )
    assert outcome.status == "expired"
    assert outcome.error == {
        "node": "check",
        "type": "approval",
        "kind": "Expired",
        "code": "run_expired",
        "message": "nobody decided the approval task in time",
    }
    assert outcome.steps["check"].status == "expired"
    assert not {"send", "note", "end"} & set(outcome.steps)


async def test_edited_payload_is_what_downstream_sees() -> None:
    flow_, waiting = await _suspended()
    edited = {"customer": "ACME GmbH", "amount": 990, "note": "discount"}
    outcome = await Engine().execute(
        flow_,
        "run-1",
        OFFER,
        completed=stored(waiting.steps),
        resolutions={"check": Resolution("approved", "cheaper", edited, ["rita", "ralf"])},
    )
    assert outcome.status == "succeeded"
    assert outcome.steps["send"].outputs == {"text": "sent 990 to ACME GmbH (approved by rita,ralf: cheaper)"}
    assert outcome.outputs is not None and outcome.outputs["payload"] == edited  # kept as an object
    assert outcome.steps["send"].inputs == {
        "check.comment": "cheaper",
        "check.decided_by": ["rita", "ralf"],
        "check.decision": "approved",
        "check.payload": edited,
    }


async def test_resume_in_the_same_process_needs_nothing_but_the_steps() -> None:
    flow_, waiting = await _suspended()
    same = await Engine().execute(
        flow_,
        "run-1",
        OFFER,
        completed=waiting.steps,
        resolutions={"check": Resolution("approved", "", OFFER, ["rita"])},
    )
    other = await Engine().execute(
        flow_,
        "run-1",
        OFFER,
        completed=stored(waiting.steps),
        resolutions={"check": Resolution("approved", "", OFFER, ["rita"])},
    )
    assert same.outputs == other.outputs and same.status == other.status == "succeeded"


# -- fixed outputs (the test panel) ----------------------------------------------------
async def test_fixed_outputs_replace_a_node_run() -> None:
    document = flow(
        [node("answer", "llm", prompt="{{ inputs.name }}"), template("after", "<{{ answer.text }}>")],
        chain("start", "answer", "after"),
        outputs={"text": "{{ after.text }}"},
    )
    fixed: dict[str, dict[str, Any]] = {"answer": {"text": "pinned", "json": None, "usage": {}}}
    # No LLM service at all: the node would fail if it ran.
    outcome = await execute(document, fixed_outputs=fixed)
    assert outcome.status == "succeeded", outcome.error
    assert outcome.outputs == {"text": "<pinned>"}
    assert outcome.steps["answer"].outputs == fixed["answer"]

    unpinned = await execute(document)
    assert unpinned.status == "failed" and unpinned.error is not None
    assert unpinned.error["node"] == "answer" and "'llm' service" in unpinned.error["message"]


async def test_fixed_outputs_of_an_approval_do_not_suspend() -> None:
    fixed: dict[str, dict[str, Any]] = {
        "check": {
            "decision": "rejected",
            "comment": "test",
            "payload": None,
            "decided_by": [],
            "branch": "rejected",
        }
    }
    outcome = await execute(compiled(approval_flow()), OFFER, fixed_outputs=fixed)
    assert outcome.status == "succeeded"
    assert outcome.outputs is not None and outcome.outputs["note"] == "not sent: rejected"


async def test_fixed_outputs_must_have_every_declared_output() -> None:
    document = flow([node("answer", "llm", prompt="x")], [edge("start", "answer")])
    outcome = await execute(document, fixed_outputs={"answer": {"text": "pinned"}})
    assert outcome.status == "failed" and outcome.error is not None
    assert "json, usage" in outcome.error["message"]


# -- inputs -----------------------------------------------------------------------------
INPUT_SPECS = {
    "name": {"type": "string", "required": True},
    "amount": {"type": "number", "required": True},
    "count": {"type": "integer", "default": 3},
    "urgent": {"type": "boolean"},
    "tags": {"type": "array"},
    "meta": {"type": "object"},
}


def _input_flow() -> dict[str, Any]:
    return flow([template("a", "{{ inputs.name }}")], [edge("start", "a")], inputs=INPUT_SPECS)


def test_inputs_get_defaults_and_optional_ones_are_none() -> None:
    prepared = prepare_inputs(compiled(_input_flow()).document, {"name": "Ada", "amount": 2.5})
    assert prepared == {"name": "Ada", "amount": 2.5, "count": 3, "urgent": None, "tags": None, "meta": None}
    # An explicit null is a missing value: the default applies, or it is reported as required.
    document = compiled(_input_flow()).document
    assert prepare_inputs(document, {"name": "Ada", "amount": 2, "count": None})["count"] == 3
    with pytest.raises(BadRequest) as raised:
        prepare_inputs(document, {"name": None, "amount": 1, "urgent": None})
    assert raised.value.extra["errors"] == [
        {
            "field": "inputs.name",
            "code": "input_required",
            "params": {"name": "name", "type": "string"},
            "message": "'name' is required (string)",
        }
    ]


def test_every_input_problem_is_reported_at_once() -> None:
    given = {"amount": True, "count": 2.5, "urgent": "yes", "tags": "a,b", "meta": [1], "colour": "red"}
    with pytest.raises(BadRequest) as raised:
        prepare_inputs(compiled(_input_flow()).document, given)
    error = raised.value
    assert error.code == "invalid_inputs" and error.status_code == 400
    problems = {problem["field"]: problem["message"] for problem in error.extra["errors"]}
    assert problems == {
        "inputs.name": "'name' is required (string)",
        "inputs.amount": "'amount' must be of type number, got bool",
        "inputs.count": "'count' must be of type integer, got float",
        "inputs.urgent": "'urgent' must be of type boolean, got str",
        "inputs.tags": "'tags' must be of type array, got str",
        "inputs.meta": "'meta' must be of type object, got list",
        "inputs.colour": (
            "'colour' is not an input of this flow (inputs: name, amount, count, urgent, tags, meta)"
        ),
    }
    for message in problems.values():
        assert message in error.message


# -- outputs ----------------------------------------------------------------------------
async def test_single_expression_outputs_keep_their_type() -> None:
    document = flow(
        [template("a", "{{ inputs.amount }}")],
        [edge("start", "a")],
        inputs={
            "amount": {"type": "integer"},
            "tags": {"type": "array"},
            "meta": {"type": "object"},
            "flag": {"type": "boolean"},
            "note": {"type": "string"},
        },
        outputs={
            "amount": "{{ inputs.amount }}",
            "tags": "{{ inputs.tags }}",
            "meta": "{{ inputs.meta }}",
            "flag": "{{ inputs.flag }}",
            "note": "{{ inputs.note }}",
            "doubled": "{{ inputs.amount * 2 }}",
            "first": "{{ inputs.tags[0] }}",
            "padded": "  {{ inputs.tags }}\n",
            "node_text": "{{ a.text }}",
            "sentence": "Total: {{ inputs.amount }}",
            "two": "{{ inputs.amount }}{{ inputs.tags }}",
            "encoded": "{{ inputs.meta | json }}",
        },
    )
    outcome = await execute(document, {"amount": 42, "tags": ["a", "b"], "meta": {"k": [1]}, "flag": False})
    assert outcome.status == "succeeded", outcome.error
    assert outcome.outputs == {
        "amount": 42,
        "tags": ["a", "b"],
        "meta": {"k": [1]},
        "flag": False,
        "note": None,
        "doubled": 84,
        "first": "a",
        "padded": ["a", "b"],
        "node_text": "42",
        "sentence": "Total: 42",
        "two": '42["a", "b"]',
        "encoded": '{"k": [1]}',
    }
    assert type(outcome.outputs["amount"]) is int and type(outcome.outputs["flag"]) is bool


async def test_outputs_that_cannot_be_rendered_fail_the_run() -> None:
    document = flow(
        [template("a", "x")],
        [edge("start", "a")],
        inputs={"meta": {"type": "object"}},
        outputs={"bad": "{{ inputs.meta.nope }}"},
    )
    outcome = await execute(document, {"meta": {}})
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["kind"] == "OutputError" and outcome.error["node"] is None
    assert "outputs could not be rendered" in outcome.error["message"]
    assert outcome.steps["a"].status == "succeeded"


# -- events and cancellation -------------------------------------------------------------
async def test_events_follow_every_step() -> None:
    events: list[dict[str, Any]] = []
    outcome = await execute(_routed(), {"amount": 1}, emit=events.append)
    assert outcome.status == "succeeded"
    step_events = [(event["node"], event["status"]) for event in events if event["type"] == "step"]
    assert step_events[:4] == [
        ("start", "running"),
        ("start", "succeeded"),
        ("route", "running"),
        ("route", "succeeded"),
    ]
    assert ("big", "skipped") in step_events and ("big", "running") not in step_events
    finished = {node_id for node_id, status in step_events if status != "running"}
    assert finished == set(outcome.steps)


async def test_cancel_requested_between_generations() -> None:
    document = flow([template("a", "x"), template("b", "y")], chain("start", "a", "b"))
    recorder = ListRecorder(cancel_after=2)
    outcome = await execute(document, recorder=recorder)
    assert outcome.status == "cancelled"
    assert outcome.error is not None and outcome.error["kind"] == "Cancelled"
    assert statuses(outcome) == {"start": "succeeded", "a": "succeeded"}


async def test_cancelling_the_task_propagates_and_records_the_step_cancelled() -> None:
    document = flow(
        [node("slow", "sleep", seconds=5), node("quick", "sleep", seconds=0), template("after", "x")],
        [edge("start", "slow"), edge("start", "quick"), edge("slow", "after")],
    )
    recorder = ListRecorder()
    events: list[dict[str, Any]] = []
    task = asyncio.create_task(execute(document, recorder=recorder, emit=events.append))
    while not any(event.get("type") == "sleeping" and event["node"] == "slow" for event in events):
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert recorder.recorded == {"start": "succeeded", "quick": "succeeded", "slow": "cancelled"}
    [slow] = [step for batch in recorder.batches for step in batch if step.node_id == "slow"]
    assert slow.finished_at is not None and slow.duration_ms is not None and slow.error is None


async def test_a_step_cancelled_in_an_earlier_pass_runs_again() -> None:
    document = flow(
        [node("slow", "sleep", seconds=0.01, text="again"), template("after", "{{ slow.text }}!")],
        chain("start", "slow", "after"),
        outputs={"text": "{{ after.text }}"},
    )
    flow_ = compiled(document)
    cancelled = {
        "start": StepRecord("start", "input", "succeeded", outputs={"name": "Ada"}),
        "slow": StepRecord("slow", "sleep", "cancelled"),
    }
    outcome = await Engine().execute(flow_, "run-1", {"name": "Ada"}, completed=cancelled)
    assert outcome.status == "succeeded"
    assert outcome.steps["slow"].status == "succeeded"
    assert outcome.outputs == {"text": "again!"}
