"""Flow validation: graph shapes, every kind of error (node, field, message), limits, hashes."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pytest

from nodes.errors import TemplateBudgetExceeded, TemplateError
from nodes.registry import DEFAULT_REGISTRY
from runtime.codes import CODES
from runtime.engine.compiled import compile_flow
from runtime.engine.document import canonical_document
from runtime.engine.executor import Engine
from runtime.engine.validation import MAX_DOCUMENT_BYTES, MAX_NODES, validate_document
from tests.support.flows import SHAPES, Shape, chain, edge, flow, node, template

# (node, field, fragments the message must contain)
Expected = list[tuple[str | None, str | None, tuple[str, ...]]]


def assert_errors(document: Any, expected: Expected) -> None:
    report = validate_document(document)
    assert not report.valid and report.content_hash is None
    for error in report.errors:
        assert set(error) == {"node", "field", "code", "params", "message"}, error
        assert isinstance(error["message"], str) and error["message"]
        # Every problem has a listed code, and every parameter its text names is filled.
        assert CODES[error["code"]].family == "problem", error
        assert set(error["params"]) == set(CODES[error["code"]].params), error
    found = [(error["node"], error["field"]) for error in report.errors]
    assert found == [(node_id, field) for node_id, field, _ in expected], report.errors
    for error, (_, _, fragments) in zip(report.errors, expected, strict=True):
        for fragment in fragments:
            assert fragment in error["message"], (fragment, error)


# -- valid shapes -----------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.name)
def test_valid_shapes_validate_and_hash(shape: Shape) -> None:
    report = validate_document(shape.document)
    assert report.valid, report.errors
    assert report.errors == []
    assert report.content_hash is not None and len(report.content_hash) == 64
    assert report.graph is not None and set(report.graph.nodes) == set(report.instances)
    assert report.as_json() == {"valid": True, "content_hash": report.content_hash, "errors": []}


def test_every_default_node_type_validates_in_one_flow() -> None:
    document = flow(
        [
            template("prompt", "Frage: {{ inputs.name }}"),
            node("answer", "llm", prompt="{{ prompt.text }}", system="kurz"),
            node("route", "router", condition="answer.text | length > 10"),
            node(
                "check",
                "approval",
                assignees=["role:board", "user:rita"],
                quorum=2,
                timeout="P3D",
                editable=True,
                title="Senden an {{ inputs.name }}?",
                payload='{"text": {{ answer.text | json }}}',
            ),
            template("send", "{{ check.payload.text }} ({{ check.decided_by | join(', ') }})"),
            node("end", "output"),
        ],
        [
            *chain("start", "prompt", "answer", "route"),
            edge("route", "check", "true"),
            edge("route", "end", "false"),
            edge("check", "send", "approved"),
            edge("send", "end"),
        ],
        outputs={"text": "{{ send.text }}", "usage": "{{ answer.usage }}"},
    )
    report = validate_document(document)
    assert report.valid, report.errors


# -- each kind of error -----------------------------------------------------------------
def _cycle() -> dict[str, Any]:
    return flow(
        [template("a", "x"), template("b", "x"), template("c", "x"), node("end", "output")],
        [*chain("start", "a", "b", "c", "a"), edge("c", "end")],
    )


ERROR_CASES: dict[str, tuple[Any, Expected]] = {
    "cycle names every node on it": (
        _cycle(),
        [(n, None, ("cycle", "a → b → c → a")) for n in ("a", "b", "c")],
    ),
    "self loop is a cycle": (
        flow([template("a", "x")], [edge("start", "a"), edge("a", "a")]),
        [("a", None, ("cycle", "a → a"))],
    ),
    "unreachable node": (
        flow([template("a", "x"), template("island", "x")], [edge("start", "a")]),
        [("island", None, ("'island' cannot be reached from the input node 'start'",))],
    ),
    "unreachable behind a node that is not connected": (
        flow([template("a", "x"), template("b", "x")], [edge("a", "b")]),
        [("a", None, ("cannot be reached",)), ("b", None, ("cannot be reached",))],
    ),
    "unknown node type lists the known ones": (
        flow([node("a", "retreival")], [edge("start", "a")]),
        [
            (
                "a",
                "type",
                ("unknown node type 'retreival'", "known types: " + ", ".join(sorted(DEFAULT_REGISTRY))),
            )
        ],
    ),
    "config field that does not exist": (
        flow([node("a", "template", template="x", x=1)], [edge("start", "a")]),
        [("a", "config.x", ("not permitted",))],
    ),
    "config field missing": (
        flow([node("a", "template")], [edge("start", "a")]),
        [("a", "config.template", ("required",))],
    ),
    "config value out of range": (
        flow([node("r", "router", condition="true", threshold=2)], [edge("start", "r")]),
        [("r", "config.threshold", ("less than or equal to 1",))],
    ),
    "config rule across fields": (
        flow([node("r", "router", condition="true", classes=["a"])], [edge("start", "r")]),
        [("r", "config", ("exactly one of them",))],
    ),
    "approval assignee and timeout": (
        flow([node("check", "approval", assignees=["bob"], timeout="3 days")], [edge("start", "check")]),
        [
            ("check", "config.assignees", ("'bob' is not an assignee", "role:<role> or user:<username>")),
            ("check", "config.timeout", ("'3 days' is not an ISO-8601 duration", "P3D")),
        ],
    ),
    "approval timeout of zero": (
        flow([node("check", "approval", assignees=["role:board"], timeout="PT0S")], [edge("start", "check")]),
        [("check", "config.timeout", ("longer than zero",))],
    ),
    "duplicate ids": (
        flow([template("a", "x"), template("a", "y")], [edge("start", "a")]),
        [("a", "id", ("'a' is used by more than one node",))],
    ),
    "edge to a missing node": (
        flow([template("a", "x")], [edge("start", "a"), edge("a", "ghost")]),
        [("a", "edges.1", ("a → ghost", "'ghost'", "not a node"))],
    ),
    "edge from a missing node": (
        flow([template("a", "x")], [edge("start", "a"), edge("ghost", "a")]),
        [("a", "edges.1", ("ghost → a", "'ghost'"))],
    ),
    "edge between two missing nodes": (
        flow([template("a", "x")], [edge("start", "a"), edge("x", "y")]),
        [(None, "edges.1", ("'x', 'y'",))],
    ),
    "edge twice": (
        flow([template("a", "x")], [edge("start", "a"), edge("start", "a")]),
        [("start", "edges.1", ("there twice",))],
    ),
    "when on a node that does not branch": (
        flow([template("a", "x"), template("b", "x")], [edge("start", "a"), edge("a", "b", "yes")]),
        [("a", "edges.1.when", ("'a' (template) does not branch", "'when'"))],
    ),
    "when with an unknown branch lists the branches": (
        flow(
            [node("r", "router", condition="inputs.name == 'x'"), template("a", "x")],
            [edge("start", "r"), edge("r", "a", "maybe")],
        ),
        [("r", "edges.1.when", ("'maybe' is not a branch of 'r'", "its branches: true, false"))],
    ),
    "when with an unknown approval outcome": (
        flow(
            [node("check", "approval", assignees=["role:board"]), template("a", "x")],
            [edge("start", "check"), edge("check", "a", "approve")],
        ),
        [("check", "edges.1.when", ("'approve'", "approved, rejected, timeout"))],
    ),
    "reference to a node that is not upstream": (
        flow([template("a", "{{ b.text }}"), template("b", "x")], [edge("start", "a"), edge("start", "b")]),
        [("a", "config.template", ("'b' is not upstream of this node", "connect it first"))],
    ),
    "reference to a downstream node": (
        flow([template("a", "{{ b.text }}"), template("b", "x")], chain("start", "a", "b")),
        [("a", "config.template", ("'b' is not upstream",))],
    ),
    "reference to an undeclared output lists the outputs": (
        flow([template("a", "x"), template("b", "{{ a.txt }}")], chain("start", "a", "b")),
        [("b", "config.template", ("'a' has no output 'txt'", "its outputs: text"))],
    ),
    "reference by subscript to an undeclared output": (
        flow([template("a", "x"), template("b", "{{ a['txt'] }}")], chain("start", "a", "b")),
        [("b", "config.template", ("'a' has no output 'txt'",))],
    ),
    "reference to an undeclared input lists the inputs": (
        flow([template("a", "{{ inputs.nam }}")], [edge("start", "a")]),
        [("a", "config.template", ("'inputs.nam' is not a declared input", "declared: name"))],
    ),
    "reference to an input through the input node": (
        flow([template("a", "{{ start.nam }}")], [edge("start", "a")]),
        [("a", "config.template", ("'start' has no output 'nam'", "its outputs: name"))],
    ),
    "reference to nothing at all": (
        flow([template("a", "{{ ghost.text }}")], [edge("start", "a")]),
        [("a", "config.template", ("'ghost' is neither a node nor 'inputs'",))],
    ),
    "router condition is checked like a template": (
        flow([node("r", "router", condition="inputs.amount > 5")], [edge("start", "r")]),
        [("r", "config.condition", ("'inputs.amount' is not a declared input",))],
    ),
    "approval payload is checked": (
        flow(
            [
                node("check", "approval", assignees=["role:board"], payload="{{ draft.txt }}"),
                template("draft", "x"),
            ],
            [edge("start", "draft"), edge("draft", "check")],
        ),
        [("check", "config.payload", ("'draft' has no output 'txt'",))],
    ),
    "template syntax error": (
        flow([template("a", "{{ inputs.name ")], [edge("start", "a")]),
        [("a", "config.template", ("template syntax error on line 1",))],
    ),
    "unresolvable flow outputs": (
        flow(
            [template("a", "x")],
            [edge("start", "a")],
            outputs={
                "w": "{{ ghost.text }}",
                "x": "{{ a.nope }}",
                "y": "{{ inputs.nope }}",
                "z": "{{ a.text",
            },
        ),
        [
            (None, "outputs.w", ("'ghost' is neither a node nor 'inputs'",)),
            ("a", "outputs.x", ("'a' has no output 'nope'",)),
            (None, "outputs.y", ("'inputs.nope' is not a declared input",)),
            (None, "outputs.z", ("template syntax error",)),
        ],
    ),
    "no input node": (
        {"schema": "dirigent.flow/v1", "name": "x", "nodes": [template("a", "x")]},
        [(None, "nodes", ("needs an 'input' node",))],
    ),
    "two input nodes": (
        flow([node("start", "input"), node("again", "input")], [edge("start", "again")]),
        [("again", "type", ("one 'input' node", "'start' is already one"))],
    ),
    "reserved id": (
        flow([template("inputs", "x")], [edge("start", "inputs")]),
        [("inputs", "id", ("'inputs' is reserved",))],
    ),
    "malformed id": (
        flow([template("1st", "x")], [edge("start", "1st")]),
        [("1st", "id", ("node ids start with a letter",))],
    ),
    "node without a type": (
        flow([{"id": "a"}], [edge("start", "a")]),
        [("a", "type", ("required",))],
    ),
    "document without a name": (
        {"schema": "dirigent.flow/v1", "nodes": []},
        [(None, "name", ("required",))],
    ),
    "document of another schema": (
        {"schema": "dirigent.flow/v2", "name": "x"},
        [(None, "schema", ("dirigent.flow/v1",))],
    ),
    "document that is not an object": (
        ["nodes"],
        [(None, None, ("JSON object",))],
    ),
}


@pytest.mark.parametrize(("document", "expected"), ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_errors_name_node_field_and_problem(document: Any, expected: Expected) -> None:
    assert_errors(document, expected)


def test_all_errors_are_reported_at_once() -> None:
    document = flow(
        [
            template("a", "{{ inputs.nope }}"),
            node("b", "mystery"),
            template("c", "{{ a.nope }}"),
            template("a", "dup"),
        ],
        [*chain("start", "a", "c"), edge("start", "b"), edge("c", "gone")],
    )
    report = validate_document(document)
    assert {(error["node"], error["field"]) for error in report.errors} == {
        ("a", "id"),
        ("b", "type"),
        ("c", "edges.3"),
        ("a", "config.template"),
        ("c", "config.template"),
    }


def test_a_cycle_does_not_hide_other_errors() -> None:
    document = _cycle()
    document["nodes"].append(template("island", "{{ inputs.nope }}"))
    report = validate_document(document)
    fields = {(error["node"], error["field"]) for error in report.errors}
    assert {("a", None), ("b", None), ("c", None), ("island", None)} <= fields


# -- what is valid although it looks like a reference ---------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "{% for d in a.text.split() %}{{ d }}{% endfor %}",  # loop variables are not references
        "{% set x = a.text %}{{ x | upper }}",  # nor are set targets
        "{{ range(3) | list }} {{ a['text'] }}",  # nor Jinja globals; subscripts are checked
        "{{ start.name }} {{ inputs }} {{ a }}",  # the input node's outputs are the flow inputs
        "plain text without any placeholders",
    ],
)
def test_template_forms_that_validate(text: str) -> None:
    report = validate_document(flow([template("a", "x"), template("b", text)], chain("start", "a", "b")))
    assert report.valid, report.errors


def test_a_node_on_an_untaken_branch_may_be_referenced_downstream() -> None:
    document = flow(
        [
            node("r", "router", condition="inputs.name == 'x'"),
            template("yes", "Y"),
            template("no", "N"),
            template("join", "{{ yes.text }}{{ no.text }}"),
        ],
        [
            edge("start", "r"),
            edge("r", "yes", "true"),
            edge("r", "no", "false"),
            edge("yes", "join"),
            edge("no", "join"),
        ],
    )
    assert validate_document(document).valid


# -- the sandbox: structure is fine, running is not ------------------------------------
SSTI_PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ inputs.name.__class__.__base__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'] }}",
    "{% set d = {} %}{{ d.update({'a': 1}) }}",
]
# Refused by the template budget (nodes/rendering/budget.py): a stable code and the limit.
EXHAUSTION_PAYLOADS = [
    ("{{ 9 ** 99 ** 99 ** 99 ** 99 }}", "number_bits"),  # left-associative: the result explodes
    (
        "{% set ns = namespace(x=9) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}{% endfor %}"
        "{{ ns.x }}",
        "number_bits",
    ),
    ("{{ 'x' * 100000000 }}", "string_chars"),
    ("{{ 'x'.ljust(10 ** 10) }}", "format_width"),
    ("{{ '{:>{w}}'.format(1, w=10 ** 9) }}", "format_width"),
    (
        "{% for i in range(9999) %}{% for j in range(9999) %}{{ i }}{% endfor %}{% endfor %}",
        "loop_iterations",
    ),
]


def _ssti_document(payload: str) -> dict[str, object]:
    return flow(
        [template("evil", payload), node("end", "output")],
        chain("start", "evil", "end"),
        outputs={"text": "{{ evil.text }}"},
    )


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
async def test_ssti_payload_validates_structurally_but_fails_in_the_sandbox(payload: str) -> None:
    document = _ssti_document(payload)
    report = validate_document(document)
    assert report.valid, report.errors

    outcome = await Engine().execute(compile_flow(document), "run-ssti", {"name": "Ada"})
    assert outcome.status == "failed"
    error = outcome.error
    assert error is not None
    assert error["node"] == "evil" and error["type"] == "template"
    assert error["kind"] == TemplateError.__name__, error
    assert "sandbox forbids" in error["message"] or "unsafe" in error["message"], error
    assert "end" not in outcome.steps


@pytest.mark.parametrize(("payload", "limit"), EXHAUSTION_PAYLOADS)
async def test_exhausting_payload_validates_structurally_but_is_refused_by_the_budget(
    payload: str, limit: str
) -> None:
    document = _ssti_document(payload)
    assert validate_document(document).valid

    outcome = await Engine().execute(compile_flow(document), "run-ssti", {"name": "Ada"})
    assert outcome.status == "failed"
    error = outcome.error
    assert error is not None
    assert error["node"] == "evil" and error["type"] == "template"
    assert error["kind"] == TemplateBudgetExceeded.__name__, error
    assert error["code"] == "template_budget_exceeded" and error["limit"] == limit, error
    assert "exceeds its budget" in error["message"], error
    assert "end" not in outcome.steps


# -- limits -----------------------------------------------------------------------------
def test_document_over_one_mebibyte_is_refused_with_its_size() -> None:
    document = flow([template("a", "x")], [edge("start", "a")])
    document["description"] = "x" * MAX_DOCUMENT_BYTES
    report = validate_document(document)
    assert report.too_large and not report.valid and report.document is None
    [error] = report.errors
    assert error["node"] is None and error["field"] is None
    size = len(json.dumps(document, ensure_ascii=False).encode())
    assert f"{size} bytes" in error["message"] and "1 MiB" in error["message"]


def test_size_given_by_the_caller_counts() -> None:
    small = flow([template("a", "x")], [edge("start", "a")])
    assert validate_document(small, raw_size=MAX_DOCUMENT_BYTES).valid
    report = validate_document(small, raw_size=MAX_DOCUMENT_BYTES + 1)
    assert report.too_large and "1 MiB" in report.errors[0]["message"]


def test_more_than_2000_nodes_are_refused() -> None:
    count = MAX_NODES + 1
    ids = [f"n{index}" for index in range(count - 1)]
    document = flow([node(node_id, "output") for node_id in ids], [edge("start", node_id) for node_id in ids])
    assert len(document["nodes"]) == count
    report = validate_document(document)
    assert report.too_large
    assert report.errors == [
        {
            "node": None,
            "field": "nodes",
            "code": "too_many_nodes",
            "params": {"count": count, "limit": MAX_NODES},
            "message": f"the flow has {count} nodes; the limit is {MAX_NODES}",
        }
    ]


def test_exactly_2000_nodes_in_a_chain_validate_quickly() -> None:
    ids = [f"n{index}" for index in range(MAX_NODES - 1)]
    nodes = [template(ids[0], "{{ inputs.name }}")]
    nodes += [template(current, f"{{{{ {previous}.text }}}}") for previous, current in pairwise(ids)]
    document = flow(nodes, chain("start", *ids), outputs={"last": f"{{{{ {ids[-1]}.text }}}}"})
    began = time.perf_counter()
    report = validate_document(document)
    elapsed = time.perf_counter() - began
    assert report.valid, report.errors[:3]
    assert elapsed < 5, f"validating {MAX_NODES} nodes took {elapsed:.2f} s"


# -- the content hash -------------------------------------------------------------------
def _hash(document: dict[str, Any]) -> str:
    report = validate_document(document)
    assert report.valid, report.errors
    assert report.content_hash is not None
    return report.content_hash


def _base() -> dict[str, Any]:
    return flow(
        [
            template("a", "Hallo {{ inputs.name }}"),
            node("check", "approval", assignees=["role:board"], timeout="P3D"),
            template("b", "{{ check.decision }}"),
            node("end", "output"),
        ],
        [*chain("start", "a", "check"), edge("check", "b", "approved"), edge("b", "end")],
        outputs={"text": "{{ b.text }}"},
        card={"purpose": "Test", "risk": "limited", "owner": "QA"},
        layout={"a": {"x": 10, "y": 20}},
    )


def _reorder_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _reorder_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder_keys(item) for item in value]
    return value


def test_hash_ignores_layout() -> None:
    moved = _base()
    moved["layout"] = {"a": {"x": 999, "y": -5}, "check": {"x": 1, "y": 1}}
    without = _base()
    del without["layout"]
    assert _hash(_base()) == _hash(moved) == _hash(without)
    assert b"layout" not in canonical_document(validate_document(_base()).document)  # type: ignore[arg-type]


def test_hash_ignores_key_order_and_spelled_out_defaults() -> None:
    reordered = _reorder_keys(_base())
    assert list(reordered) != list(_base())
    spelled_out = _base()
    spelled_out["description"] = ""
    spelled_out["audience"] = []
    spelled_out["nodes"][1]["title"] = ""
    assert _hash(_base()) == _hash(reordered) == _hash(spelled_out)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target: Any = document
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


CONTENT_CHANGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "name": _set("name", "Other"),
    "description": _set("description", "now with a description"),
    "input required": _set("inputs.name.required", False),
    "input added": _set("inputs.extra", {"type": "number"}),
    "template text": _set("nodes.1.config.template", "Hello {{ inputs.name }}"),
    "template whitespace": _set("nodes.1.config.template", "Hallo  {{ inputs.name }}"),
    "approval timeout": _set("nodes.2.config.timeout", "P4D"),
    "node title": _set("nodes.1.title", "Greeting"),
    "edge condition": _set("edges.2.when", "rejected"),
    "edge added": lambda document: document["edges"].append(edge("check", "end", "timeout")),
    "output mapping": _set("outputs.text", "{{ b.text }}!"),
    "card risk": _set("card.risk", "high"),
    "card owner": _set("card.owner", "Someone else"),
    "audience": _set("audience", ["hr"]),
}


@pytest.mark.parametrize("change", CONTENT_CHANGES.values(), ids=CONTENT_CHANGES.keys())
def test_any_content_change_changes_the_hash(change: Callable[[dict[str, Any]], None]) -> None:
    changed = copy.deepcopy(_base())
    change(changed)
    assert _hash(changed) != _hash(_base())


def test_hash_is_sha256_of_the_canonical_json() -> None:
    import hashlib

    report = validate_document(_base())
    assert report.document is not None
    canonical = canonical_document(report.document)
    assert report.content_hash == hashlib.sha256(canonical).hexdigest()
    assert (
        canonical
        == json.dumps(
            json.loads(canonical), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    )
