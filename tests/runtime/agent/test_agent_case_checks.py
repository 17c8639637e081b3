"""Test cases of an agent: scripted model turns, fixed tool results, and the checks
`tool_called`, `tool_not_called`, `steps_at_most` — each passing and failing where it should.
No model is asked and no connection is ever called (the runner gets no services at all)."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.engine.compiled import compile_flow
from runtime.engine.validation import validate_document
from runtime.testing.runner import CaseResult, run_cases
from tests.runtime.agent.test_agent_runs import agent_flow, crm_tool

HANDBOOK = {"kind": "knowledge", "name": "handbuch", "description": "Handbuch", "index": "handbuch"}
# The model reads task 7 and the handbook, then answers: three turns.
TURNS = [
    {"tool_calls": [{"tool": "read_task", "arguments": {"id": 7}}], "prompt_tokens": 10},
    {"text": "Ich schaue nach.", "tool_calls": [{"tool": "handbuch", "arguments": {"query": "Frist"}}]},
    {"text": "Aufgabe 7 ist offen; die Frist ist 14 Tage."},
]
TOOLS = {"read_task": {"id": 7, "state": "offen"}, "handbuch": ["Die Frist beträgt 14 Tage."]}


def flow(*expect: dict[str, Any], script: dict[str, Any] | None = None, **case: Any) -> dict[str, Any]:
    document = agent_flow([crm_tool("crm"), crm_tool("crm", "note_task", "POST"), HANDBOOK])
    document["tests"] = [
        {
            "name": "fall",
            "inputs": {"question": "Wie steht Aufgabe 7?"},
            "agents": {"agent": script or {"turns": TURNS, "tools": TOOLS}},
            "expect": list(expect),
            **case,
        }
    ]
    return document


async def run(document: dict[str, Any]) -> CaseResult:
    assert validate_document(document).errors == []
    suite = await run_cases(compile_flow(document), {}, mode="fixed")
    return suite.cases[0]


def codes(result: CaseResult) -> list[tuple[str, str]]:
    return [(failure["check"], failure["code"]) for failure in result.failures]


async def test_a_scripted_agent_runs_its_loop_on_the_script_and_the_checks_hold() -> None:
    result = await run(
        flow(
            {"check": "equals", "output": "answer", "value": "Aufgabe 7 ist offen; die Frist ist 14 Tage."},
            {"check": "tool_called", "node": "agent", "value": "read_task", "arguments": {"id": 7}},
            {"check": "tool_called", "node": "agent", "value": "handbuch"},
            {"check": "tool_not_called", "node": "agent", "value": "note_task"},
            {"check": "steps_at_most", "node": "agent", "value": 3},
        )
    )
    assert result.passed, result.failures
    [step] = [step for step in result.steps if step["node"] == "agent"]
    calls = [item for item in step["outputs"]["steps"] if item["kind"] == "tool"]
    assert [(call["tool"], call["status"]) for call in calls] == [
        ("read_task", "succeeded"),
        ("handbuch", "succeeded"),
    ]
    assert "offen" in calls[0]["result"] and "14 Tage" in calls[1]["result"]
    assert step["outputs"]["sources"][0]["text"] == "Die Frist beträgt 14 Tage."


@pytest.mark.parametrize(
    ("check", "code", "words"),
    [
        ({"check": "tool_called", "node": "agent", "value": "note_task"}, "tool_not_called",
         "did not call the tool 'note_task'; it called: read_task({\"id\": 7}), handbuch"),
        ({"check": "tool_called", "node": "agent", "value": "read_task", "arguments": {"id": 8}},
         "tool_not_called", "did not call the tool 'read_task' with {\"id\": 8}"),
        ({"check": "tool_not_called", "node": "agent", "value": "read_task"}, "tool_called",
         "called the tool 'read_task' 1 time(s)"),
        ({"check": "steps_at_most", "node": "agent", "value": 2}, "too_many_steps",
         "took 3 model turns, more than the 2 allowed"),
    ],
    ids=["tool not called", "other arguments", "tool called", "too many turns"],
)  # fmt: skip
async def test_each_agent_check_fails_saying_what_the_agent_did(
    check: dict[str, Any], code: str, words: str
) -> None:
    result = await run(flow(check))
    assert codes(result) == [(check["check"], code)]
    assert words in result.failures[0]["message"]


async def test_a_connection_tool_without_a_fixed_result_is_never_called() -> None:
    result = await run(flow({"check": "status", "value": "succeeded"}, script={"turns": TURNS, "tools": {}}))
    assert ("fixed", "not_fixed") in codes(result)
    assert "calls the tool 'read_task', whose result is not fixed" in result.failures[0]["message"]


async def test_a_script_that_ends_too_early_fails_the_case_naming_the_turn() -> None:
    result = await run(
        flow({"check": "status", "value": "succeeded"}, script={"turns": TURNS[:1], "tools": TOOLS})
    )
    assert ("fixed", "not_fixed") in codes(result)
    assert "asks the model for turn 2, but the case scripts 1" in result.failures[0]["message"]


WRITE = [
    {"tool_calls": [{"tool": "note_task", "arguments": {"id": 7, "note": "Nachfassen"}}]},
    {"text": "Notiz angelegt."},
]


async def test_a_held_call_waits_and_counts_as_called_and_a_decision_lets_it_run() -> None:
    called = {
        "check": "tool_called",
        "node": "agent",
        "value": "note_task",
        "arguments": {"note": "Nachfassen"},
    }
    raised = {"check": "approval_raised", "node": "agent"}
    waiting = await run(
        flow(called, raised, {"check": "status", "value": "waiting"}, script={"turns": WRITE, "tools": {}})
    )
    assert waiting.passed, waiting.failures
    approved = await run(
        flow(
            called,
            {"check": "equals", "output": "answer", "value": "Notiz angelegt."},
            script={"turns": WRITE, "tools": {"note_task": {"ok": True}}},
            decisions={"agent": {"decision": "approve"}},
        )
    )
    assert approved.passed, approved.failures
    # Approved but not fixed: still never called — the case fails naming the tool.
    unfixed = await run(
        flow(called, script={"turns": WRITE, "tools": {}}, decisions={"agent": {"decision": "approve"}})
    )
    assert ("fixed", "not_fixed") in codes(unfixed)
    refused = await run(
        flow(
            {"check": "equals", "output": "answer", "value": "Notiz angelegt."},
            script={"turns": WRITE, "tools": {}},
            decisions={"agent": {"decision": "reject"}},
        )
    )
    assert refused.passed, refused.failures  # a refused call is told to the model, never made
    [step] = [step for step in refused.steps if step["node"] == "agent"]
    assert [item["status"] for item in step["outputs"]["steps"] if item["kind"] == "tool"] == ["refused"]


def test_validation_names_unknown_tools_and_agent_checks_on_other_nodes() -> None:
    document = flow(
        {"check": "tool_called", "node": "agent", "value": "löschen"},
        {"check": "steps_at_most", "node": "start", "value": 2},
        script={"turns": [{"tool_calls": [{"tool": "weg", "arguments": {}}]}], "tools": {"nix": 1}},
    )
    found = [(error["field"], error["code"]) for error in validate_document(document).errors]
    assert found == [
        ("tests[0].agents.agent.turns[0].tool_calls[0].tool", "case_unknown_tool"),
        ("tests[0].agents.agent.tools.nix", "case_unknown_tool"),
        ("tests[0].expect[0].value", "case_unknown_tool"),
        ("tests[0].expect[1].node", "not_an_agent_node"),
    ]


async def test_unscripted_in_fixed_mode_the_agent_checks_say_the_agent_did_not_run() -> None:
    document = flow({"check": "steps_at_most", "node": "agent", "value": 2})
    del document["tests"][0]["agents"]
    result = (await run_cases(compile_flow(document), {}, mode="fixed")).cases[0]
    assert ("steps_at_most", "agent_did_not_run") in codes(result)
