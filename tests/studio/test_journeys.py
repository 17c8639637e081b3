"""What people do in the studio, end to end in Chromium (see conftest.py for the stack).

The journeys share one runtime, so they run in this order: the champion's flow from the
first journey is what the board reviews and the user chats with.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.studio.conftest import STREAMED_ANSWER, Stack
from tests.studio.steps import (
    add_case,
    blur_fill,
    connect,
    drop_from_palette,
    node,
    run_cases,
    shot,
    sign_in,
    wait_problems,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FLOW_NAME = "Urlaubs-Assistent"
FLOW_SLUG = "urlaub"


# -- journeys ------------------------------------------------------------------------------------
def test_sign_in_wrong_password_then_right_then_sign_out(stack: Stack, new_page: Any) -> None:
    page = new_page()
    page.goto(f"{stack.studio_url}/flows")
    page.wait_for_url(re.compile(r"/login"))
    shot(page, "01-sign-in")
    page.fill("#login-username", "champion")
    page.fill("#login-password", "not-the-password")
    page.click("#login-submit")
    assert "Benutzername oder Passwort stimmt nicht" in page.inner_text("#login-error")

    page.fill("#login-password", stack.passwords["champion"])
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/flows/?$"))  # back where the person wanted to go
    page.wait_for_selector(".flow-row[data-slug='faq-assistant']")
    shot(page, "02-flows")

    page.click("#lang-en")
    page.wait_for_selector("text=New flow")
    page.click("#lang-de")
    page.wait_for_selector("text=Neuer Flow")

    token = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "dirigent_token")
    page.click("#user-menu")
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/login"))
    page.goto(f"{stack.studio_url}/flows")
    page.wait_for_url(re.compile(r"/login"))
    # Signing out ended the session in the runtime: the token is refused, not merely forgotten.
    after = httpx.get(f"{stack.runtime_url}/api/me", headers={"authorization": f"Bearer {token}"}, timeout=10)
    assert after.status_code == 401


def test_expired_token_sends_back_to_sign_in(stack: Stack, new_page: Any) -> None:
    """A person comes back with a token cookie the runtime no longer accepts (expired overnight)."""
    page = new_page()
    page.context.add_cookies(
        [{"name": "dirigent_token", "value": "expired.or.forged", "domain": "127.0.0.1", "path": "/"}]
    )
    page.goto(f"{stack.studio_url}/flows")
    page.wait_for_url(re.compile(r"/login"))
    page.wait_for_selector("text=Ihre Anmeldung ist abgelaufen")


def test_champion_builds_tests_and_submits_a_flow(stack: Stack, new_page: Any) -> None:
    page = new_page()
    sign_in(page, stack, "champion", "/flows")
    page.click("#new-flow")
    page.click("text=Leerer Flow")
    page.fill("#new-flow-name", FLOW_NAME)
    # The short name follows the name until the person edits it: wait for the suggestion first.
    page.wait_for_function("document.querySelector('#new-flow-slug').value === 'urlaubs-assistent'")
    page.fill("#new-flow-slug", FLOW_SLUG)
    page.click("#new-flow-create")
    page.wait_for_selector("[data-testid=flow-canvas]")
    node(page, "start").wait_for()

    # Replace the blank flow's start -> end edge by start -> LLM -> end, on the canvas.
    page.locator(".react-flow__edge[data-id='start->end']").click(force=True)
    page.keyboard.press("Delete")
    page.wait_for_selector(".react-flow__edge[data-id='start->end']", state="detached")
    drop_from_palette(page, "llm", 330, 180)
    node(page, "llm_1").wait_for()
    connect(page, "start", "llm_1")
    connect(page, "llm_1", "end")

    # The LLM's prompt is required: the problem shows on the node and on the field.
    node(page, "llm_1").click()
    page.wait_for_selector(".config-field[data-field='prompt'] .field-error")
    assert "llm_1" in page.locator(".dg-invalid").first.get_attribute("data-node-id")
    shot(page, "03-editor-validation-error")
    blur_fill(page, "#field-prompt", "Beantworte kurz: {{ inputs.question }}")
    page.wait_for_selector(".config-field[data-field='prompt'] .field-error", state="detached")
    assert page.locator(".dg-invalid").count() == 0

    # The flow's answer is the LLM's text; the card says what it is for and that it is high risk.
    page.click("#tab-flow")
    blur_fill(page, "#output-answer", "{{ llm_1.text }}")
    page.click("#tab-card")
    blur_fill(page, "#card-purpose", "Beantwortet Fragen zum Urlaubsantrag.")
    blur_fill(page, "#card-owner", "Personalabteilung")
    page.click("#card-risk")
    page.click("text=hoch (zwei Freigaben nötig)")
    wait_problems(page, 0)

    # Edits go to the working copy; a version is cut on request.
    page.wait_for_selector("#autosave-state[data-state='saved']", timeout=15_000)
    page.click("#cut-version")
    page.wait_for_selector("#editor-version:has-text('Version 2')")

    page.click("#tab-test")
    blur_fill(page, "#test-input-question", "Wie beantrage ich Urlaub?")
    page.click("#run-test")
    page.wait_for_selector("#run-status[data-status='succeeded']", timeout=30_000)
    assert STREAMED_ANSWER in page.inner_text("#stream-text")
    assert STREAMED_ANSWER in page.inner_text("#run-output")
    assert (
        "succeeded" in node(page, "llm_1").get_attribute("class")
        or node(page, "llm_1").locator(".dg-status-succeeded").count() == 1
    )
    shot(page, "04-editor-test-run")

    # Submitting needs test cases that pass: one case pins the LLM's answer and checks the output.
    page.click("#tab-cases")
    page.wait_for_selector("#cases-empty")
    assert page.get_attribute("#test-gate", "data-gate") == "missing"
    add_case(
        page,
        "Urlaub im Portal",
        inputs={"question": "Wie beantrage ich Urlaub?"},
        fixed={"llm_1": '{"text": "Urlaub beantragen Sie im Personalportal."}'},
        contains="Personalportal",
    )
    card = page.locator(".case-card[data-name='Urlaub im Portal']")
    card.wait_for()
    assert "llm_1.text = Urlaub beantragen Sie im Personalportal." in card.inner_text()
    assert "Ergebnis „answer“ enthält „Personalportal“" in card.inner_text()
    # The case is in the working copy; running the cases makes it version 3 first.
    assert run_cases(page)
    page.wait_for_selector("#editor-version:has-text('Version 3')")
    page.wait_for_selector("#test-gate[data-gate='passed']:has-text('Tests bestanden')")
    assert page.locator(".report-step[data-node='llm_1'][data-fixed='true']").count() == 1
    shot(page, "04b-editor-test-cases")

    page.click("#submit-flow")
    page.wait_for_selector("text=ist zur Freigabe eingereicht")
    version = stack.api("champion", "GET", f"/api/flows/{_flow_id(stack)}/versions/3")
    assert version["state"] == "submitted"
    assert version["document"]["tests"][0]["fixed"] == {
        "llm_1": {"text": "Urlaub beantragen Sie im Personalportal."}
    }
    page.goto(f"{stack.studio_url}/flows")
    page.wait_for_selector(f".flow-row[data-slug='{FLOW_SLUG}'] >> text=Eingereicht")


def _flow_id(stack: Stack) -> str:
    flows = stack.api("champion", "GET", "/api/flows")
    return next(flow["id"] for flow in flows if flow["slug"] == FLOW_SLUG)


def test_board_reviews_diff_four_eyes_and_approves(stack: Stack, new_page: Any) -> None:
    flow_id = _flow_id(stack)
    first = new_page()
    sign_in(first, stack, "board1", "/review")
    item = first.locator(f".review-item[data-key='{flow_id}:3']")
    item.click()
    first.wait_for_selector("#diff-view >> text=llm_1")
    shot(first, "05-review-diff")
    first.fill("#review-comment", "Passt, Prompt ist klar.")
    first.click("#approve-version")
    first.wait_for_selector("text=freigegeben")
    # High risk needs two approvals: board1 has decided, so the buttons explain why they are off.
    first.locator(f".review-item[data-key='{flow_id}:3']").click()
    first.wait_for_selector("#disabled-reason")
    assert "schon geprüft" in first.inner_text("#disabled-reason")
    assert first.locator("#approve-version").is_disabled()
    first.locator("#disabled-reason").scroll_into_view_if_needed()
    shot(first, "06-review-four-eyes")

    second = new_page()
    sign_in(second, stack, "board2", "/review")
    second.locator(f".review-item[data-key='{flow_id}:3']").click()
    second.fill("#review-comment", "Zweite Freigabe.")
    second.click("#approve-version")
    second.wait_for_selector("text=freigegeben")
    version = stack.api("champion", "GET", f"/api/flows/{flow_id}/versions/3")
    assert version["state"] == "approved"


def test_champion_sees_versions_and_publishes(stack: Stack, new_page: Any) -> None:
    flow_id = _flow_id(stack)
    page = new_page()
    sign_in(page, stack, "champion", f"/flows/{flow_id}/versions")
    page.wait_for_selector(".version-row[data-number='3'] .version-state[data-state='approved']")
    assert page.get_attribute(".version-row[data-number='3'] .version-gate", "data-gate") == "passed"
    page.wait_for_selector("#diff-view")
    shot(page, "07-versions")
    page.click("#publish-3")
    page.wait_for_selector(".version-row[data-number='3'] .version-state[data-state='published']")


def test_user_chats_with_the_published_assistant(stack: Stack, new_page: Any) -> None:
    page = new_page()
    sign_in(page, stack, "user", "/assistants")
    page.locator(f".assistant-item[data-slug='{FLOW_SLUG}']").click()
    page.fill("#chat-input", "Wie beantrage ich Urlaub?")
    page.click("#chat-send")
    page.wait_for_selector(".chat-assistant[data-status='running']")
    page.wait_for_selector(".chat-assistant[data-status='succeeded']", timeout=30_000)
    assert STREAMED_ANSWER in page.locator(".chat-assistant").last.inner_text()
    shot(page, "08-assistant-chat")


def test_user_cannot_open_the_editor(stack: Stack, new_page: Any) -> None:
    flow_id = _flow_id(stack)
    page = new_page()
    sign_in(page, stack, "user")
    assert page.locator("#nav-flows").count() == 0
    page.goto(f"{stack.studio_url}/flows/{flow_id}")
    page.wait_for_selector("#load-error")
    assert page.locator("[data-testid=flow-canvas]").count() == 0
    shot(page, "09-user-no-editor")


def test_task_approval_resumes_a_waiting_run(stack: Stack, new_page: Any) -> None:
    flows = stack.api("champion", "GET", "/api/flows")
    flow_id = next(flow["id"] for flow in flows if flow["slug"] == "approval-demo")
    report = stack.api("champion", "POST", f"/api/flows/{flow_id}/versions/1/test", json={"live": False})
    assert report["passed"], report  # the starter flow's own cases gate its submission
    stack.api("champion", "POST", f"/api/flows/{flow_id}/versions/1/submit")
    stack.api("board1", "POST", f"/api/flows/{flow_id}/versions/1/approve", json={"comment": "ok"})
    stack.api("champion", "POST", f"/api/flows/{flow_id}/versions/1/publish")

    user = new_page()
    sign_in(user, stack, "user", "/assistants")
    user.locator(".assistant-item[data-slug='approval-demo']").click()
    user.fill("#chat-input-topic", "Lieferverzögerung Auftrag 4711")
    user.locator("#chat-input-topic").blur()
    user.fill("#chat-input", "Firma Müller GmbH")
    user.click("#chat-send")
    user.wait_for_selector(".chat-assistant[data-status='waiting'] .waiting-notice", timeout=30_000)
    shot(user, "10-chat-waiting")

    champion = new_page()
    sign_in(champion, stack, "champion", "/tasks")
    card = champion.locator(".task-card").first
    card.wait_for()
    card.locator(".task-payload textarea").fill("Guten Tag, die Lieferung kommt am Freitag.")
    card.locator(".task-payload textarea").blur()
    card.locator(".task-comment textarea").fill("Termin ergänzt")
    card.locator(".task-comment textarea").blur()
    shot(champion, "11-tasks")
    card.locator(".task-approve").click()
    champion.wait_for_selector("text=Entschieden")

    user.wait_for_selector(".chat-assistant[data-status='succeeded']", timeout=30_000)
    assert "die Lieferung kommt am Freitag" in user.locator(".chat-assistant").last.inner_text()
    shot(user, "12-chat-resumed")
