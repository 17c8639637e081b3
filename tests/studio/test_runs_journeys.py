"""The runs viewer end to end in Chromium (conftest.py: the stack).

    correction → test case   `user` asks the demo FAQ assistant (`dirigent up` published it;
                             the LLM double answers), gives thumbs down with a correction; the
                             champion opens the assistant's runs, sees the run with its
                             feedback, opens its trace (the answer beside the correction, the
                             steps' inputs and outputs as text), and takes it over as a test
                             case, which the editor's test-case tab then shows

Screenshots: tests/artifacts/studio/runs-*.png.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.studio.conftest import STREAMED_ANSWER, Stack
from tests.studio.steps import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FAQ = "faq-assistant"
QUESTION = "Wann öffnet die Kantine am Freitag?"
CORRECTION = "Die Kantine öffnet freitags um 11:30 Uhr, nicht um 9 Uhr."
KEY_PHRASE = "11:30 Uhr"


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _ask_and_correct(stack: Stack, page: Any) -> str:
    """As `user`: ask the FAQ assistant, thumbs down with a correction; the run's id."""
    sign_in(page, stack, "user", "/assistants")
    page.locator(f".assistant-item[data-slug='{FAQ}']").click()
    page.wait_for_selector("#chat-input:not([disabled])")
    page.fill("#chat-input", QUESTION)
    page.click("#chat-send")
    answer = page.locator(".chat-assistant[data-status='succeeded']").last
    answer.wait_for(timeout=30_000)
    bar = answer.locator(".feedback-bar")
    run_id = str(bar.get_attribute("data-run"))
    bar.locator(".feedback-down").click()
    bar.locator(".feedback-correction textarea").fill(CORRECTION)
    bar.locator(".feedback-send").click()
    page.wait_for_selector(".feedback-bar[data-rating='down'] .feedback-saved")
    return run_id


def test_a_champion_turns_a_users_correction_into_a_test_case(stack: Stack, new_page: Any) -> None:
    faq = next(flow for flow in stack.api("champion", "GET", "/api/flows") if flow["slug"] == FAQ)
    run_id = _ask_and_correct(stack, new_page())

    page = new_page()
    sign_in(page, stack, "champion", "/flows")
    page.locator(f".flow-row[data-slug='{FAQ}'] .flow-runs").click()
    row = page.locator(f".run-row[data-run='{run_id}']")
    row.wait_for(timeout=30_000)
    feedback = row.locator(".run-feedback")
    assert feedback.get_attribute("data-rating") == "down"
    assert feedback.get_attribute("data-correction") == "true"
    assert "user" in row.inner_text()

    row.click()
    page.wait_for_selector(f"#run-trace[data-run='{run_id}']")
    assert CORRECTION in page.inner_text("#trace-correction")
    assert _words(STREAMED_ANSWER) in _words(page.inner_text("#trace-answer"))
    page.locator(".trace-step[data-node='answer'] .trace-step-toggle").click()
    step = page.locator(".trace-step[data-node='answer'][data-open='true']")
    step.wait_for()
    inputs, outputs = step.locator(".step-inputs").inner_text(), step.locator(".step-outputs").inner_text()
    assert QUESTION in inputs and _words(STREAMED_ANSWER) in _words(outputs)
    for text in (inputs, outputs, page.inner_text("#trace-answer")):
        assert '{"' not in text and '":' not in text, text  # rendered by type, not JSON
    shot(page, "runs-trace")

    page.click("#make-case")
    page.wait_for_selector("#run-case-expected")
    assert page.input_value("#run-case-expected") == CORRECTION
    assert "answer" in page.inner_text("#case-llm-warning")  # the llm node is not fixed: live mode
    page.click("#case-check-contains")
    page.fill("#run-case-expected", KEY_PHRASE)
    shot(page, "runs-case-dialog")
    # Someone saves the working copy meanwhile (another tab's autosave): the first attempt is
    # refused (412), the dialog says so and keeps what was typed; the second one goes through.
    before = stack.api("champion", "GET", f"/api/flows/{faq['id']}/draft")
    _put_draft(stack, faq["id"], before["document"], before["etag"])
    page.click("#run-case-create")
    page.wait_for_selector("#run-case-error")
    assert "inzwischen geändert" in page.inner_text("#run-case-error")
    assert page.input_value("#run-case-expected") == KEY_PHRASE
    page.click("#run-case-create")
    page.wait_for_selector("#run-case-created")

    draft = stack.api("champion", "GET", f"/api/flows/{faq['id']}/draft")
    case = draft["document"]["tests"][-1]
    assert case["inputs"] == {"question": QUESTION}
    assert case["expect"] == [{"check": "contains", "output": "answer", "value": KEY_PHRASE}]
    assert run_id in case["description"]

    page.click("#run-case-open-editor")
    card = page.locator(f".case-card[data-name='{case['name']}']")
    card.wait_for(timeout=30_000)
    assert KEY_PHRASE in card.inner_text()
    assert page.get_attribute("#tab-cases", "data-state") == "active"
    card.scroll_into_view_if_needed()
    shot(page, "runs-case-in-editor")

    # Leave the demo assistant's working copy as other journeys expect it.
    now = stack.api("champion", "GET", f"/api/flows/{faq['id']}/draft")
    document = {**now["document"], "tests": [item for item in now["document"]["tests"] if item != case]}
    _put_draft(stack, faq["id"], document, now["etag"])


def _put_draft(stack: Stack, flow_id: str, document: dict[str, Any], etag: str) -> None:
    saved = httpx.put(
        f"{stack.runtime_url}/api/flows/{flow_id}/draft",
        json={"document": document},
        headers={"authorization": f"Bearer {stack.token('champion')}", "If-Match": etag},
        timeout=30,
    )
    assert saved.status_code == 200, saved.text
