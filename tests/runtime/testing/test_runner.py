"""The case runner on its own (no database): every check kind passing and failing, fixed
outputs, unfixed llm and connector nodes refused, scripted decisions, waiting, live mode."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nodes.connector import ConnectorRequest
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.engine.compiled import compile_flow
from runtime.llm.client import HFChatModel, ModelEndpoints
from runtime.testing.runner import CaseResult, SuiteResult, run_cases
from tests.support.messages_api_double import MessagesApiDouble
from tests.support.scenario import approval_flow

QUESTION = {"question": "Was kostet das Angebot?", "amount": 250}
EXTRACTED = {"customer": "Müller GmbH", "tags": ["angebot", "eilig"], "total": 250}


def invoice_flow(*cases: dict[str, Any]) -> dict[str, Any]:
    """input → answer (llm) → extract (llm, JSON) → route (amount > 100: high/low)
    → note (template, high) | send (connector, low) → end."""
    return {
        "schema": "dirigent.flow/v1",
        "name": "Rechnung",
        "inputs": {
            "question": {"type": "string", "required": True},
            "amount": {"type": "number", "required": True},
        },
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "answer", "type": "llm", "config": {"prompt": "{{ inputs.question }}"}},
            {"id": "extract", "type": "llm", "config": {"prompt": "Felder aus {{ answer.text }}"}},
            {
                "id": "route",
                "type": "router",
                "config": {
                    "condition": "'high' if inputs.amount > 100 else 'low'",
                    "branches": ["high", "low"],
                },
            },
            {
                "id": "note",
                "type": "template",
                "config": {"template": "Sehr geehrte {{ extract.json.customer }}"},
            },
            {"id": "send", "type": "connector", "config": {"connection": "crm", "action": "notify"}},
            {"id": "end", "type": "output"},
        ],
        "edges": [
            {"from": "start", "to": "answer"},
            {"from": "answer", "to": "extract"},
            {"from": "extract", "to": "route"},
            {"from": "route", "to": "note", "when": "high"},
            {"from": "route", "to": "send", "when": "low"},
            {"from": "note", "to": "end"},
            {"from": "send", "to": "end"},
        ],
        "outputs": {
            "answer": "{{ answer.text }}",
            "fields": "{{ extract.json }}",
            "tags": "{{ extract.json.tags }}",
            "letter": "{{ note.text }}",
        },
        "tests": list(cases),
    }


FIXED = {
    "answer": {"text": "Das Angebot kostet 250 €."},
    "extract": {"json": EXTRACTED},
    "send": {"status": 200, "response": {"ok": True}},
}


def case(*expect: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": "fall", "inputs": QUESTION, "fixed": FIXED, "expect": list(expect), **fields}


async def run(
    document: dict[str, Any], services: dict[str, Any] | None = None, **options: Any
) -> SuiteResult:
    return await run_cases(compile_flow(document), services or {}, **options)


async def one(document: dict[str, Any], **options: Any) -> CaseResult:
    suite = await run(document, **options)
    assert suite.total == 1
    return suite.cases[0]


# -- every check, holding and failing ---------------------------------------------------
CHECKS: list[tuple[str, dict[str, Any], str | None]] = [
    ("equals output", {"check": "equals", "output": "answer", "value": "Das Angebot kostet 250 €."}, None),
    (
        "equals output fails",
        {"check": "equals", "output": "answer", "value": "Gratis."},
        'output \'answer\': expected "Gratis.", got "Das Angebot kostet 250 €."',
    ),
    (
        "equals is JSON equality",
        {
            "check": "equals",
            "node": "extract",
            "field": "json",
            "value": {"customer": "Müller GmbH", "tags": ["angebot", "eilig"], "total": 250.0},
        },
        None,
    ),
    (
        "equals: true is not 1",
        {"check": "equals", "output": "fields", "value": {**EXTRACTED, "total": True}},
        "output 'fields': expected",
    ),
    ("contains substring", {"check": "contains", "output": "letter", "value": "Müller"}, None),
    (
        "contains substring fails",
        {"check": "contains", "output": "letter", "value": "Schulz"},
        'output \'letter\' does not contain "Schulz"; it is "Sehr geehrte Müller GmbH"',
    ),
    ("contains member", {"check": "contains", "output": "tags", "value": "eilig"}, None),
    (
        "contains member fails",
        {"check": "contains", "output": "tags", "value": "spät"},
        'output \'tags\' does not contain "spät"; it is ["angebot", "eilig"]',
    ),
    ("contains in an object", {"check": "contains", "output": "fields", "value": {"total": 250}}, None),
    ("regex", {"check": "regex", "output": "letter", "value": "^Sehr geehrte"}, None),
    (
        "regex fails",
        {"check": "regex", "output": "answer", "value": "^Sehr geehrte"},
        "output 'answer' does not match /^Sehr geehrte/",
    ),
    (
        "json_schema",
        {
            "check": "json_schema",
            "output": "fields",
            "value": {
                "type": "object",
                "required": ["customer", "total"],
                "properties": {"total": {"type": "number", "maximum": 1000}},
            },
        },
        None,
    ),
    (
        "json_schema fails",
        {
            "check": "json_schema",
            "node": "extract",
            "field": "json",
            "value": {"type": "object", "properties": {"total": {"maximum": 100}}},
        },
        "extract.json does not fit the schema at total: 250 is greater than the maximum of 100",
    ),
    (
        "json_schema parses JSON text",
        {"check": "json_schema", "node": "answer", "field": "text", "value": {"type": "string"}},
        None,
    ),
    ("branch", {"check": "branch", "node": "route", "value": "high"}, None),
    (
        "branch fails",
        {"check": "branch", "node": "route", "value": "low"},
        "'route' took the branch 'high', not 'low'",
    ),
    ("no connector call", {"check": "no_connector_call"}, None),
    ("no call of this connector", {"check": "no_connector_call", "node": "send"}, None),
    ("max duration", {"check": "max_duration_ms", "value": 60_000}, None),
    ("max duration fails", {"check": "max_duration_ms", "value": 0.0001}, "more than the 0.0001 ms allowed"),
    ("status", {"check": "status", "value": "succeeded"}, None),
    ("status fails", {"check": "status", "value": "waiting"}, "the run ended succeeded, not waiting"),
    (
        "step output of a skipped node",
        {"check": "equals", "node": "send", "field": "status", "value": 200},
        "send.status: 'send' did not run (skipped)",
    ),
]


@pytest.mark.parametrize(("check", "failure"), [row[1:] for row in CHECKS], ids=[row[0] for row in CHECKS])
async def test_each_check_holds_or_says_why_not(check: dict[str, Any], failure: str | None) -> None:
    result = await one(invoice_flow(case(check)))
    assert result.status == "succeeded", result
    if failure is None:
        assert result.passed and result.failures == [], result.failures
    else:
        assert not result.passed
        [found] = result.failures
        assert found["check"] == check["check"]
        assert failure in found["message"], found["message"]


async def test_connector_and_approval_checks_fail_when_the_flow_calls_or_waits() -> None:
    low = {**QUESTION, "amount": 50}
    result = await one(
        invoice_flow(
            case(
                {"check": "no_connector_call"},
                {"check": "branch", "node": "route", "value": "low"},
                inputs=low,
            )
        )
    )
    assert result.connector_calls == ["send"]  # a fixed connector counts: the flow would call it
    assert result.failures == [
        {
            "check": "no_connector_call",
            "code": "connector_called",
            "params": {"nodes": "send"},
            "message": "connector nodes ran: send",
        }
    ]
    result = await one(invoice_flow(case({"check": "no_connector_call", "node": "send"}, inputs=low)))
    assert result.failures[0]["message"] == "connector nodes ran: send"

    never = approval_flow()
    never["tests"] = [
        {
            "name": "x",
            "inputs": {"customer": "A"},
            "decisions": {"check": {"decision": "reject"}},
            "expect": [
                {"check": "approval_raised", "node": "check"},
                {"check": "equals", "output": "sent", "value": "egal"},
            ],
        }
    ]
    result = await one(never)
    assert result.approvals == ["check"]
    assert result.failures == [
        {
            "check": "equals",
            "code": "not_equal",
            "params": {"output": "sent", "node": "", "field": "", "expected": '"egal"', "got": "null"},
            "message": "output 'sent': expected \"egal\", got null",
        }
    ]


# -- fixed outputs and what must be fixed ------------------------------------------------
async def test_fixed_nodes_are_not_executed_and_undeclared_outputs_are_none() -> None:
    result = await one(invoice_flow(case({"check": "status", "value": "succeeded"})))
    steps = {step["node"]: step for step in result.steps}
    assert steps["answer"]["fixed"] and steps["answer"]["outputs"] == {
        "text": "Das Angebot kostet 250 €.",
        "json": None,
        "usage": None,
    }
    assert steps["extract"]["outputs"]["json"] == EXTRACTED
    assert not steps["route"]["fixed"] and steps["route"]["outputs"]["branch"] == "high"
    assert steps["send"]["status"] == "skipped" and result.branches == {"route": "high"}
    assert list(steps)[:4] == ["start", "answer", "extract", "route"] and list(steps)[-1] == "end"


async def test_a_fixed_router_takes_the_fixed_branch() -> None:
    fixed = {**FIXED, "route": {"branch": "low"}}
    result = await one(invoice_flow(case({"check": "branch", "node": "route", "value": "low"}, fixed=fixed)))
    assert result.passed and result.connector_calls == ["send"]


class NeverCall:
    """A `connections` service that records calls: the runner must never let one through."""

    def __init__(self) -> None:
        self.calls: list[ConnectorRequest] = []

    async def call(self, request: ConnectorRequest) -> Any:
        self.calls.append(request)
        raise AssertionError("a test case called a connection")


@pytest.mark.parametrize("mode", ["fixed", "live"])
async def test_an_unfixed_connector_fails_the_case_naming_it_in_every_mode(mode: str) -> None:
    fixed = {key: value for key, value in FIXED.items() if key != "send"}
    connections = NeverCall()
    result = await one(
        invoice_flow(
            case({"check": "status", "value": "succeeded"}, fixed=fixed, inputs={**QUESTION, "amount": 1})
        ),
        services={"connections": connections},
        mode=mode,
    )
    assert not result.passed and result.status == "failed"
    message = "connector node 'send' is not fixed in this case; test cases never call connections"
    assert result.error == {"node": "send", "type": "connector", "message": message, "code": "not_fixed"}
    assert result.failures[0] == {
        "check": "fixed",
        "code": "not_fixed",
        "params": {"node": "send", "type": "connector"},
        "message": message,
    }
    assert connections.calls == []
    # Not reached, not needed: the same case on the high branch passes without fixing it.
    assert (
        await one(
            invoice_flow(case({"check": "status", "value": "succeeded"}, fixed=fixed)),
            services={"connections": connections},
            mode=mode,
        )
    ).passed


async def test_an_unfixed_llm_node_fails_in_fixed_mode_and_asks_the_llm_live(
    messages_api: MessagesApiDouble,
) -> None:
    fixed = {key: value for key, value in FIXED.items() if key != "answer"}
    document = invoice_flow(case({"check": "contains", "output": "answer", "value": "Doppelt"}, fixed=fixed))
    # The double is on 127.0.0.1: model endpoints pass the egress guard, so allow loopback.
    llm = HFChatModel(
        ModelEndpoints([("default", messages_api.url, "tiny-chat", None)]),
        guard=EgressGuard(EgressPolicy.parse("127.0.0.1")),
    )
    try:
        refused = await one(document, services={"llm": llm})
        assert refused.error is not None and refused.error["node"] == "answer"
        assert refused.error["message"].startswith(
            "llm node 'answer' is not fixed in this case; in fixed mode"
        )
        assert messages_api.requests == []

        messages_api.reply("Doppelt so teuer.")
        live = await one(document, services={"llm": llm}, mode="live")
        assert live.passed, live.failures
        assert live.outputs["answer"] == "Doppelt so teuer." and len(messages_api.requests) == 1
    finally:
        await llm.aclose()


async def test_a_classifying_router_must_be_fixed_in_fixed_mode() -> None:
    document = invoice_flow()
    document["nodes"][3]["config"] = {"classes": ["high", "low"], "text": "{{ answer.text }}"}
    document["tests"] = [case({"check": "branch", "node": "route", "value": "high"})]
    result = await one(document)
    assert (
        result.error is not None and "router node 'route' classifies with the LLM" in result.error["message"]
    )
    document["tests"] = [
        case(
            {"check": "branch", "node": "route", "value": "low"},
            fixed={**FIXED, "route": {"branch": "low", "confidence": 0.9}},
        )
    ]
    assert (await one(document)).passed


async def test_a_failed_run_fails_the_case_unless_it_checks_the_status() -> None:
    document = invoice_flow()
    document["nodes"][4]["config"]["template"] = "{{ extract.json.customer.missing.deeper }}"
    document["tests"] = [
        case({"check": "no_connector_call"}, name="übersieht den Fehler"),
        case({"check": "status", "value": "failed"}, name="erwartet den Fehler"),
    ]
    suite = await run(document)
    unexpected, expected = suite.cases
    assert not unexpected.passed and unexpected.error is not None and unexpected.error["node"] == "note"
    assert unexpected.failures[0]["check"] == "status"
    assert "the run failed at 'note' (template)" in unexpected.failures[0]["message"]
    assert expected.passed and expected.status == "failed"
    assert (suite.total, suite.failed, suite.passed) == (2, 1, False)


# -- decisions -------------------------------------------------------------------------
def approval_cases(*cases: dict[str, Any]) -> dict[str, Any]:
    document = approval_flow(with_llm=True)
    document["tests"] = [
        {"inputs": {"customer": "Müller GmbH"}, "fixed": {"draft": {"text": "Guten Tag"}}, **item}
        for item in cases
    ]
    return document


async def test_decisions_resume_through_the_engine() -> None:
    suite = await run(
        approval_cases(
            {
                "name": "freigegeben",
                "decisions": {"check": {"decision": "approve", "comment": "passt"}},
                "expect": [
                    {"check": "equals", "output": "decision", "value": "approved"},
                    {"check": "contains", "output": "sent", "value": "Guten Tag"},
                    {"check": "equals", "node": "check", "field": "comment", "value": "passt"},
                    {"check": "branch", "node": "check", "value": "approved"},
                ],
            },
            {
                "name": "geändert",
                "decisions": {
                    "check": {"decision": "approve", "payload": {"to": "Müller GmbH", "text": "Neu"}}
                },
                "expect": [
                    {"check": "contains", "output": "sent", "value": "Neu"},
                    {
                        "check": "json_schema",
                        "output": "sent",
                        "value": {"type": "object", "properties": {"text": {"const": "Neu"}}},
                    },
                ],
            },
            {
                "name": "abgelehnt",
                "decisions": {"check": {"decision": "reject", "comment": "nein"}},
                "expect": [
                    {"check": "branch", "node": "check", "value": "rejected"},
                    {"check": "equals", "node": "check", "field": "comment", "value": "nein"},
                ],
            },
            {
                "name": "wartet",
                "expect": [
                    {"check": "status", "value": "waiting"},
                    {"check": "approval_raised", "node": "check"},
                ],
            },
        ),
        tester="rita",
    )
    approved, edited, rejected, waiting = suite.cases
    assert suite.passed, [case.failures for case in suite.cases]
    decided = {step["node"]: step for step in approved.steps}["check"]
    assert decided["outputs"]["decided_by"] == ["rita"]
    assert decided["outputs"]["payload"] == {"to": "Müller GmbH", "text": "Guten Tag"}  # not edited
    assert {step["node"]: step for step in edited.steps}["check"]["outputs"]["payload"]["text"] == "Neu"
    assert {step["node"]: step["status"] for step in rejected.steps}["send"] == "skipped"
    assert waiting.status == "waiting" and waiting.outputs == {} and waiting.approvals == ["check"]
    assert {step["node"]: step for step in waiting.steps}["check"]["outputs"]["request"]["payload"]["to"] == (
        "Müller GmbH"
    )


async def test_two_approvals_in_a_row_one_decided_leaves_the_case_waiting() -> None:
    document = approval_flow()
    document["nodes"].insert(3, {"id": "second", "type": "approval", "config": {"assignees": ["role:board"]}})
    document["edges"] = [
        {"from": "start", "to": "check"},
        {"from": "check", "to": "second", "when": "approved"},
        {"from": "second", "to": "send", "when": "approved"},
        {"from": "send", "to": "end"},
    ]
    document["tests"] = [
        {
            "name": "nur die erste",
            "inputs": {"customer": "A"},
            "decisions": {"check": {"decision": "approve"}},
            "expect": [{"check": "status", "value": "waiting"}],
        },
        {
            "name": "beide",
            "inputs": {"customer": "A"},
            "decisions": {"check": {"decision": "approve"}, "second": {"decision": "approve"}},
            "expect": [{"check": "equals", "output": "decision", "value": "approved"}],
        },
    ]
    first, both = (await run(copy.deepcopy(document))).cases
    assert first.passed and first.approvals == ["check", "second"] and first.branches == {"check": "approved"}
    assert both.passed and both.status == "succeeded" and both.approvals == ["check", "second"]


async def test_a_bad_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode is one of fixed, live"):
        await run(invoice_flow(case({"check": "status", "value": "succeeded"})), mode="dry")
