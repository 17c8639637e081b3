"""Agents in the studio without a browser: an agent step's loop turn by turn in the run
trace, and the tools a version gains or loses in the diff with the runtime's side-effect
class. The steps are a real agent loop's (a scripted test case through the runtime's case
runner) and the diff is the runtime's own, so the studio is tested against what it gets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.diffview import diff_rows

from runtime.engine.compiled import compile_flow
from runtime.flows.diff import version_diff
from runtime.testing.runner import run_cases
from studio import agent_tools_form, runs_view
from tests.runtime.agent.test_agent_case_checks import HANDBOOK, WRITE, flow
from tests.runtime.agent.test_agent_runs import agent_flow, crm_tool


async def agent_step(**case: Any) -> dict[str, Any]:
    """The agent's step of a scripted case, shaped as the trace answers a step."""
    suite = await run_cases(compile_flow(flow({"check": "status", "value": "succeeded"}, **case)), {})
    [step] = [step for step in suite.cases[0].steps if step["node"] == "agent"]
    return {"node_id": "agent", "node_type": "agent", "status": step["status"], "outputs": step["outputs"]}


async def test_an_agent_step_shows_its_loop_turn_by_turn_in_order() -> None:
    step = await agent_step()
    view = runs_view.step_view(step, "de")
    shown = [(turn.kind, turn.heading, turn.status_label) for turn in view.turns]
    assert shown == [
        ("model", "Runde 1 · Modell", ""),
        ("tool", "Runde 1 · Werkzeug read_task", "ausgeführt"),
        ("model", "Runde 2 · Modell", ""),
        ("tool", "Runde 2 · Werkzeug handbuch", "ausgeführt"),
        ("model", "Runde 3 · Modell", ""),
    ]
    first, read = view.turns[0], view.turns[1]
    assert first.tokens == "10 + 0 Tokens"
    assert view.turns[2].text == "Ich schaue nach."
    # Arguments and results by type, never JSON.
    assert read.arguments == "- **Id:** 7"
    assert "offen" in read.text and '"' not in read.text
    # The loop is shown as turns, not once more among the outputs.
    assert "Runde" not in view.outputs and "read_task" not in view.outputs
    assert "Aufgabe 7 ist offen" in view.outputs
    english = runs_view.step_view(step, "en").turns
    assert [turn.heading for turn in english[:2]] == ["Turn 1 · model", "Turn 1 · tool read_task"]


async def test_a_held_call_shows_the_decision_and_a_refused_one_its_error() -> None:
    approved = runs_view.step_view(
        await agent_step(
            script={"turns": WRITE, "tools": {"note_task": {"ok": True}}},
            decisions={"agent": {"decision": "approve"}},
        ),
        "de",
    )
    [held, call] = [turn for turn in approved.turns if turn.kind != "model"]
    assert (held.kind, held.decision) == ("approval", "zur Freigabe vorgelegt")
    assert (call.status_label, call.decision, call.is_error) == (
        "ausgeführt",
        "freigegeben von tester",
        False,
    )
    refused = runs_view.step_view(
        await agent_step(script={"turns": WRITE, "tools": {}}, decisions={"agent": {"decision": "reject"}}),
        "en",
    )
    [call] = [turn for turn in refused.turns if turn.kind == "tool"]
    assert (call.status_label, call.decision, call.is_error) == ("not done", "rejected by tester", True)
    assert call.text and not call.text.startswith("{")


def test_other_steps_have_no_turns_and_a_broken_steps_output_is_not_a_crash() -> None:
    llm = runs_view.step_view(
        {"node_id": "a", "node_type": "llm", "outputs": {"text": "x", "steps": [1]}}, "de"
    )
    assert llm.turns == [] and "steps" in llm.outputs.lower()
    odd = runs_view.step_view(
        {"node_id": "a", "node_type": "agent", "outputs": {"steps": [1, {"kind": "x"}]}}, "de"
    )
    assert [turn.kind for turn in odd.turns] == ["tool"]


def test_the_diff_shows_gained_and_lost_tools_with_their_side_effect_class() -> None:
    live = agent_flow([crm_tool("crm"), HANDBOOK])
    new = agent_flow([crm_tool("crm", method="PUT"), crm_tool("crm", "note_task", "POST")])
    diff = version_diff(live, new, 1, 2).model_dump(mode="json", by_alias=True)
    rows = {row["key"]: row for row in diff_rows(diff, "de")}
    assert rows["section-tools"]["label"] == "Werkzeuge der Agenten"
    added = rows["tool+agent · note_task"]
    assert (added["kind"], added["new"]) == (
        "added",
        "ändert etwas · wartet auf Freigabe · POST crm /tasks/{id}",
    )
    removed = rows["tool-agent · handbuch"]
    assert (removed["kind"], removed["old"]) == (
        "removed",
        "liest nur · ohne Freigabe · Wissensindex „handbuch“",
    )
    changed = rows["tool~agent · read_task"]
    assert changed["label"] == "agent · read_task (method)"
    assert (changed["old"], changed["new"]) == (
        "liest nur · ohne Freigabe · GET crm /tasks/{id}",
        "ändert etwas · wartet auf Freigabe · PUT crm /tasks/{id}",
    )
    english = {row["key"]: row for row in diff_rows(diff, "en")}
    assert english["tool+agent · note_task"]["new"].startswith("changes something · waits for approval")
    assert not any(key.startswith("tool") for key in (row["key"] for row in diff_rows(
        version_diff(live, live, 1, 2).model_dump(mode="json", by_alias=True), "de")))  # fmt: skip


# -- the agent's tools in its form -----------------------------------------------------------------
def _agent_document(tools: list[dict[str, Any]]) -> dict[str, Any]:
    return agent_flow(tools)


def test_tools_are_added_edited_and_removed_by_id_never_by_position() -> None:
    document = agent_tools_form.add_tool(_agent_document([]), "agent", "connection")
    document = agent_tools_form.add_tool(document, "agent", "knowledge")
    tools = agent_tools_form.tools_of(document, "agent")
    assert [(tool["kind"], tool["name"]) for tool in tools] == [
        ("connection", "aktion_1"),
        ("knowledge", "suche_1"),
    ]
    ids = agent_tools_form.current_ids(None, tools)
    assert len(set(ids)) == 2
    remembered = agent_tools_form.remember(ids, tools)
    # Remembered ids stay with their tools while the names are the same...
    assert agent_tools_form.current_ids(remembered, tools) == ids
    # ...and after an undo that put other tools there, the tools get other ids (drawn anew).
    other = [tools[1], tools[0]]
    assert set(agent_tools_form.current_ids(remembered, other)).isdisjoint(ids)
    # Removing the first tool: the second keeps its id and its values.
    removed = agent_tools_form.remove_tool(document, "agent", ids.index(ids[0]))
    left = agent_tools_form.tools_of(removed, "agent")
    assert [tool["name"] for tool in left] == ["suche_1"]
    cards = agent_tools_form.tool_cards(left, ids[1:], {})
    assert (cards[0]["key"], cards[0]["kind"], cards[0]["top_k"]) == (ids[1], "knowledge", "5")


def test_each_field_is_read_back_and_a_new_kind_keeps_name_and_description() -> None:
    document = agent_tools_form.add_tool(_agent_document([]), "agent", "connection")
    edit = agent_tools_form.set_tool_field
    document = edit(document, "agent", 0, "description", "Legt eine Notiz an")
    document = edit(document, "agent", 0, "method", "POST")
    document = edit(document, "agent", 0, "path", " /tasks/{id}/notes ")
    schema = '{"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}'
    document = edit(document, "agent", 0, "parameters", schema)
    [tool] = agent_tools_form.tools_of(document, "agent")
    assert tool["path"] == "/tasks/{id}/notes" and tool["parameters"]["required"] == ["id"]
    assert tool["method"] == "POST" and tool["description"] == "Legt eine Notiz an"
    with pytest.raises(agent_tools_form.ToolFormError, match="parameters"):
        edit(document, "agent", 0, "parameters", "{nicht json")
    with pytest.raises(agent_tools_form.ToolFormError, match="top_k"):
        edit(document, "agent", 0, "top_k", "viele")
    switched = edit(document, "agent", 0, "kind", "knowledge")
    [tool] = agent_tools_form.tools_of(switched, "agent")
    assert tool == {
        "kind": "knowledge", "name": "aktion_1", "description": "Legt eine Notiz an", "index": "", "top_k": 5,
    }  # fmt: skip


def test_a_card_shows_the_runtimes_problems_of_its_own_tool_only() -> None:
    from runtime.engine.validation import validate_document

    document = agent_flow([crm_tool("crm"), crm_tool("crm", "note_task", parameters={"type": "array"})])
    errors = {
        str(error["field"]).removeprefix("config."): str(error["message"])
        for error in validate_document(document).errors
        if str(error["field"]).startswith("config.tools.")
    }
    tools = agent_tools_form.tools_of(document, "agent")
    first, second = agent_tools_form.tool_cards(tools, ["a", "b"], errors)
    assert first["errors"] == "" and second["errors"].startswith("parameters: ")
    assert second["parameters"].startswith("{") and second["approve"] == "auto"
