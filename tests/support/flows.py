"""Flow documents for tests: builders, the graph shapes, and two TEST-ONLY node types.

    flow(nodes, edges, inputs=..., outputs=...)   a complete `dirigent.flow/v1` document
    node("a", "template", template="...")         one node; keyword arguments are its config
    template("a", "{{ inputs.q }}")               a template node
    edge("a", "b", when="approved")               one edge
    chain("start", "a", "b")                      edges start → a → b
    SHAPES                                        linear, fan-out, fan-in, diamond (CONVENTIONS 9)

`TEST_REGISTRY` is the default registry plus the test-only types below; the engine and
durability tests (and the second process in `tests.support.worker`) compile with it, so
both processes agree on every content hash.

    sleep   waits `seconds` times the `sleep_scale` service (default 1) and reports its pid,
            so a test sees which process ran a step and when
    fail    fails on purpose: a NodeError, a bug (ZeroDivisionError), outputs that miss a
            declared name, or a result that is not a dict
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

from pydantic import Field

from nodes.base import Node, NodeConfig, NodeContext, Outputs, Scope, template_field
from nodes.errors import NodeError
from nodes.registry import DEFAULT_REGISTRY, NodeRegistry

SCHEMA = "dirigent.flow/v1"


# -- builders ---------------------------------------------------------------------------
def node(node_id: str, node_type: str, **config: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"id": node_id, "type": node_type}
    if config:
        spec["config"] = config
    return spec


def template(node_id: str, text: str) -> dict[str, Any]:
    return node(node_id, "template", template=text)


def edge(source: str, target: str, when: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"from": source, "to": target}
    if when is not None:
        spec["when"] = when
    return spec


def chain(*node_ids: str) -> list[dict[str, Any]]:
    return [edge(source, target) for source, target in pairwise(node_ids)]


def flow(
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    *,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, str] | None = None,
    name: str = "Test flow",
    **extra: Any,
) -> dict[str, Any]:
    """A document with an `input` node called `start` first (unless `nodes` brings one)."""
    if not any(spec.get("type") == "input" for spec in nodes):
        nodes = [node("start", "input"), *nodes]
    return {
        "schema": SCHEMA,
        "name": name,
        "inputs": inputs if inputs is not None else {"name": {"type": "string", "required": True}},
        "nodes": nodes,
        "edges": edges,
        "outputs": outputs or {},
        **extra,
    }


# -- graph shapes -----------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """A graph shape: its document, the generations it runs in, and what it produces."""

    name: str
    document: dict[str, Any]
    generations: list[list[str]]
    result: str


def _shapes() -> list[Shape]:
    linear = flow(
        [template("a", "{{ inputs.name }}-a"), template("b", "{{ a.text }}-b"), node("end", "output")],
        chain("start", "a", "b", "end"),
        outputs={"result": "{{ b.text }}"},
    )
    fan_out = flow(
        [template(x, "{{ inputs.name }}-" + x) for x in ("a", "b", "c")] + [node("end", "output")],
        [edge("start", x) for x in ("a", "b", "c")] + [edge(x, "end") for x in ("a", "b", "c")],
        outputs={"result": "{{ a.text }},{{ b.text }},{{ c.text }}"},
    )
    fan_in = flow(
        [template("a", "x"), template("b", "y"), template("join", "{{ a.text }}+{{ b.text }}")],
        [edge("start", "a"), edge("start", "b"), edge("a", "join"), edge("b", "join")],
        outputs={"result": "{{ join.text }}"},
    )
    diamond = flow(
        [
            template("top", "{{ inputs.name }}"),
            template("left", "L{{ top.text }}"),
            template("right", "R{{ top.text }}"),
            template("bottom", "{{ left.text }}|{{ right.text }}"),
        ],
        [
            edge("start", "top"),
            edge("top", "left"),
            edge("top", "right"),
            edge("left", "bottom"),
            edge("right", "bottom"),
        ],
        outputs={"result": "{{ bottom.text }}"},
    )
    return [
        Shape("linear", linear, [["start"], ["a"], ["b"], ["end"]], "Ada-a-b"),
        Shape("fan-out", fan_out, [["start"], ["a", "b", "c"], ["end"]], "Ada-a,Ada-b,Ada-c"),
        Shape("fan-in", fan_in, [["start"], ["a", "b"], ["join"]], "x+y"),
        Shape("diamond", diamond, [["start"], ["top"], ["left", "right"], ["bottom"]], "LAda|RAda"),
    ]


SHAPES: list[Shape] = _shapes()


# -- a flow with a person in the loop --------------------------------------------------
APPROVAL_INPUTS = {
    "customer": {"type": "string", "required": True},
    "amount": {"type": "number", "required": True},
}


def approval_flow(
    *,
    timeout: str | None = None,
    timeout_edge: bool = True,
    quorum: int = 1,
    assignees: tuple[str, ...] = ("user:rita", "user:ralf"),
    editable: bool = True,
) -> dict[str, Any]:
    """draft → check (approval) → send if approved / note if rejected / escalate on timeout → end.

    `send` also has a plain edge from `draft`, so it shows the gate: it runs only when
    `check` was approved, although `draft` always succeeds.
    """
    config: dict[str, Any] = {
        "assignees": list(assignees),
        "quorum": quorum,
        "editable": editable,
        "title": "Offer for {{ inputs.customer }}",
        "payload": "{{ draft.text }}",
    }
    if timeout:
        config["timeout"] = timeout
    nodes = [
        template("draft", '{"customer": "{{ inputs.customer }}", "amount": {{ inputs.amount }}}'),
        node("check", "approval", **config),
        template(
            "send",
            "sent {{ check.payload.amount }} to {{ check.payload.customer }} "
            "({{ check.decision }} by {{ check.decided_by | join(',') }}: {{ check.comment }})",
        ),
        template("note", "not sent: {{ check.decision }}"),
        node("end", "output"),
    ]
    edges = [
        *chain("start", "draft", "check"),
        edge("draft", "send"),
        edge("check", "send", "approved"),
        edge("check", "note", "rejected"),
        edge("send", "end"),
        edge("note", "end"),
    ]
    if timeout_edge:
        nodes.insert(4, template("escalate", "escalated after {{ check.decision }}"))
        edges += [edge("check", "escalate", "timeout"), edge("escalate", "end")]
    return flow(
        nodes,
        edges,
        inputs=APPROVAL_INPUTS,
        name="Offer approval",
        outputs={
            "decision": "{{ check.decision }}",
            "payload": "{{ check.payload }}",
            "sent": "{{ send.text }}",
            "note": "{{ note.text }}",
            "escalated": "{{ escalate.text }}" if timeout_edge else "{{ check.branch }}",
        },
    )


# -- test-only node types ---------------------------------------------------------------
class SleepNode(Node):
    """TEST NODE: sleeps, then says how long, in which process, from when to when."""

    type = "sleep"
    title = "Sleep (test only)"
    outputs = ("slept", "pid", "started", "finished", "text")
    template_fields = ("text",)

    class Config(NodeConfig):
        seconds: float = Field(0.2, ge=0, description="How long to sleep")
        timeout_s: float | None = Field(None, gt=0, description="Overrides the default timeout")
        text: str = template_field("Rendered and passed on as `text`", "")

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs:
        config: Any = self.config
        seconds = config.seconds * float(ctx.services.get("sleep_scale", 1.0))
        started = time.monotonic()
        await ctx.send({"type": "sleeping", "seconds": seconds, "pid": os.getpid()})
        await asyncio.sleep(seconds)
        return {
            "slept": seconds,
            "pid": os.getpid(),
            "started": started,
            "finished": time.monotonic(),
            "text": await ctx.render(config.text, scope),
        }


class FailNode(Node):
    """TEST NODE: fails in the way its config says."""

    type = "fail"
    title = "Fail (test only)"
    outputs = ("never",)

    class Config(NodeConfig):
        mode: Literal["node_error", "bug", "missing_outputs", "not_a_dict"] = "node_error"
        message: str = "the test told this node to fail"

    async def run(self, ctx: NodeContext, scope: Scope) -> Any:
        config: Any = self.config
        if config.mode == "node_error":
            raise NodeError(config.message, field="config.message")
        if config.mode == "bug":
            return 1 / 0
        if config.mode == "missing_outputs":
            return {"something_else": 1}
        return ["not", "a", "dict"]


TEST_REGISTRY: NodeRegistry = DEFAULT_REGISTRY.with_types(SleepNode, FailNode)

__all__ = [
    "APPROVAL_INPUTS",
    "SHAPES",
    "TEST_REGISTRY",
    "FailNode",
    "Shape",
    "SleepNode",
    "approval_flow",
    "chain",
    "edge",
    "flow",
    "node",
    "template",
]
