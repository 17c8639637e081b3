"""Agents in the studio end to end in Chromium (conftest.py: the stack).

    tools in the form   a champion drops an agent on a flow, adds a connection action and a
                        knowledge search as cards, names and describes each, edits the second
                        one's description after saving: the saved working copy has every
                        edit on its own tool
    the loop in a run   an agent run (the LLM double asks for a tool, then answers) shows on
                        the runs page turn by turn: model turns with their text and tokens,
                        the tool call with its arguments, status and error

Screenshots: tests/artifacts/studio/agent-*.png.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.studio.conftest import STREAMED_ANSWER, Stack
from tests.studio.steps import blur_fill, drop_from_palette, node, shot, sign_in
from tests.support.messages_api_double import Reply, tool_call

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BLANK = {
    "schema": "dirigent.flow/v1",
    "name": "Agent-Reise",
    "inputs": {"question": {"type": "string", "required": True}},
    "nodes": [{"id": "start", "type": "input"}, {"id": "end", "type": "output"}],
    "edges": [{"from": "start", "to": "end"}],
    "outputs": {"answer": "{{ inputs.question }}"},
    "card": {"purpose": "Agenten ausprobieren", "risk": "limited", "owner": "Vertrieb"},
}


def _create(stack: Stack, document: dict[str, Any], prefix: str) -> str:
    created = stack.api(
        "champion",
        "POST",
        "/api/workspaces/demo/flows",
        json={"name": document["name"], "slug": f"{prefix}-{uuid.uuid4().hex[:6]}", "document": document},
    )
    return str(created["id"])


def _draft_tools(stack: Stack, flow_id: str, node_id: str) -> list[dict[str, Any]]:
    draft = stack.api("champion", "GET", f"/api/flows/{flow_id}/draft")
    [agent] = [item for item in draft["document"]["nodes"] if item["id"] == node_id]
    return list((agent.get("config") or {}).get("tools") or [])


def _wait_autosaved(page: Any) -> None:
    page.wait_for_selector("#autosave-state[data-state='pending']")
    page.wait_for_selector("#autosave-state[data-state='saved']", timeout=15_000)


def test_a_champion_gives_an_agent_two_tools_and_each_edit_stays_with_its_tool(
    stack: Stack, new_page: Any
) -> None:
    flow_id = _create(stack, BLANK, "agent-tools")
    page = new_page()
    sign_in(page, stack, "champion", f"/flows/{flow_id}")
    page.wait_for_selector("[data-testid=flow-canvas]")
    node(page, "start").wait_for()
    drop_from_palette(page, "agent", 420, 360)
    node(page, "agent_1").wait_for()
    node(page, "agent_1").click()
    page.wait_for_selector(".config-field[data-field='tools'] .agent-tools")

    page.click("#tool-add-connection")
    page.locator(".tool-card").nth(0).wait_for()
    _wait_autosaved(page)
    page.click("#tool-add-knowledge")
    page.locator(".tool-card").nth(1).wait_for()
    _wait_autosaved(page)
    first, second = page.locator(".tool-card").nth(0), page.locator(".tool-card").nth(1)
    first_id, second_id = first.get_attribute("data-tool"), second.get_attribute("data-tool")
    assert first_id and second_id and first_id != second_id

    blur_fill(page, f"#tool-name-{first_id}", "aufgabe_lesen")
    blur_fill(page, f"#tool-description-{first_id}", "Liest eine Aufgabe im CRM")
    blur_fill(page, f"#tool-path-{first_id}", "/tasks")
    blur_fill(page, f"#tool-name-{second_id}", "handbuch")
    blur_fill(page, f"#tool-description-{second_id}", "Sucht im Handbuch")
    _wait_autosaved(page)
    tools = _draft_tools(stack, flow_id, "agent_1")
    assert [(tool["kind"], tool["name"], tool["description"]) for tool in tools] == [
        ("connection", "aufgabe_lesen", "Liest eine Aufgabe im CRM"),
        ("knowledge", "handbuch", "Sucht im Handbuch"),
    ]
    assert tools[0]["path"] == "/tasks"
    shot(page, "agent-tools-form")

    # After the save: the second tool's description changes, and only the second tool's.
    blur_fill(page, f"#tool-description-{second_id}", "Sucht Fristen im Handbuch")
    _wait_autosaved(page)
    tools = _draft_tools(stack, flow_id, "agent_1")
    assert [tool["description"] for tool in tools] == [
        "Liest eine Aufgabe im CRM",
        "Sucht Fristen im Handbuch",
    ]
    assert [tool["name"] for tool in tools] == ["aufgabe_lesen", "handbuch"]
    # The cards keep their ids across the saves: each is still its own tool's.
    assert page.locator(".tool-card").nth(1).get_attribute("data-tool") == second_id

    # Removing the first tool leaves the second one, with its edits, under its own id.
    page.locator(f".tool-card[data-tool='{first_id}'] .tool-remove").click()
    page.wait_for_selector(f".tool-card[data-tool='{first_id}']", state="detached")
    _wait_autosaved(page)
    assert [(tool["name"], tool["description"]) for tool in _draft_tools(stack, flow_id, "agent_1")] == [
        ("handbuch", "Sucht Fristen im Handbuch")
    ]
    assert page.locator(".tool-card").count() == 1
    assert page.input_value(f"#tool-description-{second_id}") == "Sucht Fristen im Handbuch"


AGENT = {
    **BLANK,
    "name": "Agent-Lauf",
    "nodes": [
        {"id": "start", "type": "input"},
        {
            "id": "helper",
            "type": "agent",
            "config": {"prompt": "{{ inputs.question }}", "tools": []},
        },
        {"id": "end", "type": "output"},
    ],
    "edges": [{"from": "start", "to": "helper"}, {"from": "helper", "to": "end"}],
    "outputs": {"answer": "{{ helper.text }}"},
}


def test_the_runs_page_shows_an_agent_run_turn_by_turn(stack: Stack, new_page: Any) -> None:
    flow_id = _create(stack, AGENT, "agent-run")
    # The model asks for a tool the agent does not have (the loop tells it so), then answers.
    stack.llm.script(
        Reply("Ich schaue nach.", tool_calls=[tool_call("kalender", {"tag": "Freitag"})]),
        "Die Kantine öffnet um 11:30 Uhr.",
    )
    try:
        with httpx.stream(
            "POST",
            f"{stack.runtime_url}/api/flows/{flow_id}/versions/1/runs",
            json={"inputs": {"question": "Wann öffnet die Kantine?"}, "stream": True},
            headers={"authorization": f"Bearer {stack.token('champion')}", "accept": "text/event-stream"},
            timeout=60,
        ) as answer:
            assert answer.status_code == 200, answer.read()
            events = "".join(answer.iter_text())
        assert "11:30" in events
    finally:
        stack.llm.reply(Reply(STREAMED_ANSWER, chunk_delay_s=0.08))

    page = new_page()
    sign_in(page, stack, "champion", f"/flows/{flow_id}/runs")
    page.locator("#runs-tests").click()
    page.click("#runs-apply")
    page.locator(".run-row").first.click()
    page.wait_for_selector("#run-trace")
    page.locator(".trace-step[data-node='helper'] .trace-step-toggle").click()
    step = page.locator(".trace-step[data-node='helper'][data-open='true']")
    step.wait_for()
    turns = step.locator(".agent-turn")
    assert [turns.nth(n).get_attribute("data-kind") for n in range(turns.count())] == [
        "model",
        "tool",
        "model",
    ]
    headings = [re.sub(r"\s+", " ", text) for text in step.locator(".turn-heading").all_inner_texts()]
    assert headings == ["Runde 1 · Modell", "Runde 1 · Werkzeug kalender", "Runde 2 · Modell"]
    assert "Ich schaue nach." in turns.nth(0).inner_text() and "Tokens" in turns.nth(0).inner_text()
    call = turns.nth(1)
    assert "Freitag" in call.inner_text() and "nicht ausgeführt" in call.inner_text()
    assert "kalender" in call.locator(".turn-error").inner_text()
    assert "11:30 Uhr" in turns.nth(2).inner_text()
    assert '{"' not in step.inner_text()  # arguments, results and outputs by type, never JSON
    shot(page, "agent-run-turns")
