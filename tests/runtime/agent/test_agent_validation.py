"""Bad tool declarations of an agent are refused when the flow is validated, each problem
with its node, its field and a code the studio can say in German and English."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.engine.validation import validate_document
from tests.runtime.agent.test_agent_runs import agent_flow, crm_tool

TOOL = "config.tools.0.connection"  # pydantic names the tool's kind in the path
NOT_OBJECT = "agent_tool_parameters_not_object"


def problems(document: dict[str, Any]) -> list[tuple[str | None, str | None, str]]:
    return [(error["node"], error["field"], error["code"]) for error in validate_document(document).errors]


# An MCP tool whose input schema was not copied from the server.
MCP_TOOL = {
    "kind": "mcp",
    "name": "ticket",
    "description": "Ticket",
    "server": "tickets",
    "tool": "create_ticket",
}


def test_a_flow_with_good_tools_is_valid() -> None:
    knowledge = {"kind": "knowledge", "name": "handbuch", "description": "Handbuch", "index": "handbuch"}
    assert problems(agent_flow([crm_tool("crm"), crm_tool("crm", "note_task", "POST"), knowledge])) == []


@pytest.mark.parametrize(
    ("tool", "field", "code"),
    [
        ({"kind": "shell", "name": "x", "description": "?"}, "config.tools.0", "union_tag_invalid"),
        (MCP_TOOL, "config.tools.0.mcp.input_schema", "missing"),
        ({**MCP_TOOL, "input_schema": {"type": "array"}}, "config.tools.0.mcp.input_schema", NOT_OBJECT),
        (crm_tool("crm", parameters={"type": "objekt"}), f"{TOOL}.parameters", "invalid_json_schema"),
        (crm_tool("crm", parameters={"type": "array"}), f"{TOOL}.parameters", NOT_OBJECT),
        (crm_tool("crm", parameters={"type": "object"}), TOOL, "agent_tool_placeholder"),
        (crm_tool("crm", method="TRACE"), f"{TOOL}.method", "literal_error"),
        (crm_tool("crm", name="löschen!"), f"{TOOL}.name", "string_pattern_mismatch"),
        (crm_tool("crm", approve="manchmal"), f"{TOOL}.approve", "literal_error"),
    ],
    ids=["unknown kind", "mcp without its schema", "mcp schema not an object", "bad schema",
         "parameters not an object", "placeholder not a parameter",
         "unknown method", "bad name", "unknown approve"],
)  # fmt: skip
def test_a_bad_tool_is_refused_with_its_field(tool: dict[str, Any], field: str, code: str) -> None:
    assert problems(agent_flow([tool])) == [("agent", field, code)]


def test_two_tools_with_one_name_are_refused() -> None:
    assert problems(agent_flow([crm_tool("crm"), crm_tool("other")])) == [
        ("agent", "config.tools", "agent_tool_duplicate")
    ]


def test_a_change_without_approval_needs_a_minimal_risk_card() -> None:
    unapproved = crm_tool("crm", "note_task", "POST", approve="never")
    report = validate_document(agent_flow([crm_tool("crm"), unapproved], risk="limited"))
    [error] = report.errors
    assert (error["node"], error["field"], error["code"]) == (
        "agent",
        "config.tools.1.approve",
        "agent_approval_required",
    )
    assert error["params"] == {"tool": "note_task", "risk": "limited", "allowed": "minimal"}
    assert problems(agent_flow([unapproved], risk="minimal")) == []
    # A tool that only reads needs no approval under any risk.
    assert problems(agent_flow([crm_tool("crm", approve="never")], risk="high")) == []


@pytest.mark.parametrize(
    ("config", "field"),
    [({"max_steps": 51}, "config.max_steps"), ({"max_steps": 0}, "config.max_steps"),
     ({"approvers": ["jeder"]}, "config.approvers"), ({"json_schema": {"type": 3}}, "config.json_schema")],
)  # fmt: skip
def test_budgets_and_approvers_are_checked(config: dict[str, Any], field: str) -> None:
    assert [(node, where) for node, where, _ in problems(agent_flow([], **config))] == [("agent", field)]
