"""What the board sees is what it approves, end to end in Chromium: a champion changes the
prompt of a live flow's LLM block and its card in the editor and submits; board1 reads the
review (the graph coloured by change, the prompt's line diff under its German field title,
the card with German labels, the connection that touches production), the same in English,
and the champion finds the same diff on the versions page. Nothing on the page is JSON or
an escaped line break.

The journey works on a flow of its own, so it does not depend on the other journeys.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.studio.conftest import Stack
from tests.studio.steps import blur_fill, choose, node, run_cases, shot, sign_in, wait_problems

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLUG = "rueckfragen-vertrieb"
CONNECTION = "review-crm"
PROMPT = "Du bist der Innendienst.\nBeantworte die Rückfrage kurz.\nRückfrage: {{ inputs.question }}"
ADDED_LINE = "Nenne immer die Frist für die Antwort."
PURPOSE = "Beantwortet Rückfragen zu Angeboten und legt eine Aufgabe im CRM an."
NEW_PURPOSE = "Beantwortet Rückfragen zu Angeboten, nennt Fristen und legt eine Aufgabe im CRM an."


def _document() -> dict[str, Any]:
    return {
        "schema": "dirigent.flow/v1",
        "name": "Rückfragen an den Vertrieb",
        "inputs": {"question": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "answer", "type": "llm", "title": "Antwort entwerfen", "config": {"prompt": PROMPT}},
            {
                "id": "task",
                "type": "connector",
                "title": "Aufgabe im CRM",
                "config": {
                    "connection": CONNECTION,
                    "action": "create_task",
                    "method": "POST",
                    "path": "/tasks",
                },
            },
            {"id": "end", "type": "output"},
        ],
        "edges": [
            {"from": "start", "to": "answer"},
            {"from": "answer", "to": "task"},
            {"from": "task", "to": "end"},
        ],
        "outputs": {"answer": "{{ answer.text }}"},
        "card": {
            "purpose": PURPOSE,
            "risk": "limited",
            "owner": "Vertriebsinnendienst",
            "data_sources": ["CRM"],
        },
        "tests": [
            {
                "name": "Frist genannt",
                "inputs": {"question": "Bis wann gilt das Angebot?"},
                "fixed": {
                    "answer": {"text": "Das Angebot gilt bis zum 30. Juni."},
                    "task": {"status": 201, "response": {"id": 7}},
                },
                "expect": [{"check": "contains", "output": "answer", "value": "30. Juni"}],
            }
        ],
    }


def _live_flow(stack: Stack) -> str:
    """Version 1 of the flow, live, with a connection that changes data in production."""
    stack.api(
        "admin",
        "POST",
        "/api/workspaces/demo/connections",
        json={
            "name": CONNECTION,
            "kind": "http",
            "settings": {
                "base_url": "http://127.0.0.1:9/crm",
                "auth": {"type": "none"},
                "allowed_methods": ["POST"],
            },
            "secrets": {},
        },
    )
    created = stack.api(
        "champion",
        "POST",
        "/api/workspaces/demo/flows",
        json={"name": "Rückfragen an den Vertrieb", "slug": SLUG, "document": _document()},
    )
    flow_id = str(created["id"])
    report = stack.api("champion", "POST", f"/api/flows/{flow_id}/versions/1/test", json={"live": False})
    assert report["passed"], report
    stack.api("champion", "POST", f"/api/flows/{flow_id}/versions/1/submit")
    stack.api("board2", "POST", f"/api/flows/{flow_id}/versions/1/approve", json={"comment": "ok"})
    stack.api("champion", "POST", f"/api/flows/{flow_id}/versions/1/publish")
    return flow_id


def _no_json_and_no_escapes(page: Any) -> None:
    text = page.inner_text("body")
    assert "\\n" not in text
    assert '{"' not in text and '":' not in text


def _card_top(page: Any, selector: str) -> float:
    return float(page.evaluate(f'document.querySelector("{selector}").getBoundingClientRect().top'))


def test_the_board_reads_the_changes_it_approves(stack: Stack, new_page: Any) -> None:
    flow_id = _live_flow(stack)

    # The champion adds a line to the prompt and says so on the card, then submits version 2.
    page = new_page()
    sign_in(page, stack, "champion", f"/flows/{flow_id}")
    node(page, "answer").click()
    page.wait_for_selector("#field-prompt")
    blur_fill(page, "#field-prompt", PROMPT + "\n" + ADDED_LINE)
    page.click("#tab-card")
    blur_fill(page, "#card-purpose", NEW_PURPOSE)
    wait_problems(page, 0)
    page.wait_for_selector("#autosave-state[data-state='saved']", timeout=15_000)
    assert run_cases(page)
    page.wait_for_selector("#editor-version:has-text('Version 2')")
    page.click("#submit-flow")
    page.wait_for_selector("text=ist zur Freigabe eingereicht")

    # board1 opens the review: the graph coloured by change, with a legend.
    board = new_page()
    sign_in(board, stack, "board1", "/review")
    board.locator(f".review-item[data-key='{flow_id}:2']").click()
    board.wait_for_selector("#diff-canvas .dg-diff-changed[data-node-id='answer']")
    for unchanged in ("start", "task", "end"):
        assert board.locator(f"#diff-canvas .dg-diff-unchanged[data-node-id='{unchanged}']").count() == 1
    assert "geändert" in board.inner_text("#diff-canvas [data-node-id='answer']")
    assert board.inner_text("#diff-legend [data-status='changed']").replace(" ", "") == "geändert·1"

    # The changed block: its German type, the field titled from its schema, the prompt as lines.
    card = board.locator(".change-card[data-node='answer']")
    assert card.get_attribute("data-status") == "changed"
    assert "Antwort entwerfen" in card.inner_text() and "Sprachmodell" in card.inner_text()
    assert board.locator(".change-card").count() == 1  # nothing else changed
    prompt = card.locator(".diff-field[data-field='answer.config.prompt']")
    assert prompt.locator(".diff-field-title").inner_text() == "Prompt"
    added = prompt.locator(".diff-line[data-kind='added']")
    assert added.count() == 1 and ADDED_LINE in added.inner_text()
    same = [
        line.strip()
        for line in prompt.locator(".diff-line[data-kind='same'] .diff-line-text").all_inner_texts()
    ]
    assert same == PROMPT.splitlines()
    assert prompt.locator(".diff-line[data-kind='removed']").count() == 0

    # The card with German labels, the changed purpose marked with before and after.
    purpose = board.locator("#review-card .card-row[data-key='purpose']")
    assert purpose.get_attribute("data-status") == "changed"
    assert "Zweck" in purpose.inner_text()
    assert PURPOSE in purpose.locator(".diff-old").inner_text()
    assert NEW_PURPOSE in purpose.locator(".diff-new").inner_text()
    assert board.locator("#review-card .card-row[data-key='owner']").get_attribute("data-status") == "same"
    assert "Verantwortlich" in board.inner_text("#review-card")

    # What it uses: the CRM connection changes data in production; the model it calls.
    connection = board.locator(f".use-connection[data-name='{CONNECTION}']")
    assert connection.get_attribute("data-production") == "true"
    assert connection.get_attribute("data-side-effects") == "true"
    assert "berührt Produktion" in connection.inner_text() and "ändert Daten" in connection.inner_text()
    assert "create_task" in connection.inner_text() and "127.0.0.1" in connection.inner_text()
    assert board.locator(".use-model[data-name='default']").count() == 1
    # The test report is still there.
    board.locator("#review-tests #report-summary").wait_for()
    _no_json_and_no_escapes(board)
    board.locator("#diff-view").scroll_into_view_if_needed()
    shot(board, "review-1-diff-de")

    # Clicking the block on the canvas scrolls to its changes.
    before = _card_top(board, ".change-card[data-node='answer']")
    board.locator("#diff-canvas .react-flow__node[data-id='answer']").click()
    board.wait_for_function(
        "() => document.querySelector(\".change-card[data-node='answer']\").getBoundingClientRect().top < 120"
    )
    assert _card_top(board, ".change-card[data-node='answer']") < before
    shot(board, "review-2-prompt-line-diff")
    board.locator("#review-uses").scroll_into_view_if_needed()
    shot(board, "review-3-card-and-uses")

    # The same in English, at once.
    board.click("#lang-en")
    board.wait_for_selector("#diff-legend [data-status='changed'] >> text=changed")
    assert "LLM" in card.inner_text()
    assert prompt.locator(".diff-field-title").inner_text() == "Prompt"
    assert ADDED_LINE in prompt.locator(".diff-line[data-kind='added']").inner_text()
    assert "Purpose" in purpose.inner_text() and "Owner" in board.inner_text("#review-card")
    assert "touches production" in connection.inner_text() and "changes data" in connection.inner_text()
    _no_json_and_no_escapes(board)
    board.locator("#diff-view").scroll_into_view_if_needed()
    shot(board, "review-4-diff-en")
    board.click("#lang-de")
    board.wait_for_selector("#diff-legend [data-status='changed'] >> text=geändert")

    # The champion compares the two versions on the versions page: the same diff.
    versions = new_page()
    sign_in(versions, stack, "champion", f"/flows/{flow_id}/versions")
    versions.wait_for_selector("#diff-canvas .dg-diff-changed[data-node-id='answer']")
    prompt = versions.locator(
        ".change-card[data-node='answer'] .diff-field[data-field='answer.config.prompt']"
    )
    assert prompt.locator(".diff-field-title").inner_text() == "Prompt"
    assert ADDED_LINE in prompt.locator(".diff-line[data-kind='added']").inner_text()
    assert (
        versions.locator("#review-card .card-row[data-key='purpose']").get_attribute("data-status")
        == "changed"
    )
    _no_json_and_no_escapes(versions)
    versions.locator("#diff-view").scroll_into_view_if_needed()
    shot(versions, "review-5-versions-diff")

    # Version 3 drops the CRM call and adds a note: against version 1 the CRM block is a
    # ghost (removed), the note is new, and both have their cards.
    document = stack.api("champion", "GET", f"/api/flows/{flow_id}/versions/2")["document"]
    document["nodes"] = [item for item in document["nodes"] if item["id"] != "task"]
    document["nodes"].insert(
        2,
        {
            "id": "note",
            "type": "template",
            "title": "Notiz",
            "config": {"template": "Frist: {{ answer.text }}"},
        },
    )
    document["edges"] = [
        {"from": "start", "to": "answer"},
        {"from": "answer", "to": "note"},
        {"from": "note", "to": "end"},
    ]
    document["tests"][0]["fixed"].pop("task")
    stack.api("champion", "POST", f"/api/flows/{flow_id}/versions", json={"document": document})
    versions.reload()
    versions.wait_for_selector(".version-row[data-number='3']")
    choose(versions, "#diff-to", "v3")  # the page keeps the versions compared last: choose both
    choose(versions, "#diff-from", "v1")
    versions.wait_for_selector("#diff-canvas .dg-diff-removed[data-node-id='task']")
    assert versions.locator("#diff-canvas .dg-diff-added[data-node-id='note']").count() == 1
    assert versions.locator("#diff-canvas .dg-diff-changed[data-node-id='answer']").count() == 1
    assert versions.locator(".change-card[data-node='task']").get_attribute("data-status") == "removed"
    note = versions.locator(".change-card[data-node='note']")
    assert note.get_attribute("data-status") == "added" and "Textvorlage" in note.inner_text()
    assert "Frist: {{ answer.text }}" in note.locator(".diff-line[data-kind='added']").inner_text()
    _no_json_and_no_escapes(versions)
    versions.locator("#diff-view").scroll_into_view_if_needed()
    shot(versions, "review-6-versions-added-removed")
