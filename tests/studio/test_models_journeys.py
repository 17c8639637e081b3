"""Models, end to end in Chromium: a champion's flow names a model nobody connected and
the test panel says what to do and who can; an admin connects a model server (a second
Messages API double that wants an API key, on 127.0.0.1, which the test runtime's
DIRIGENT_EGRESS_ALLOW allows), tests it, and the champion's next test run uses it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.studio.conftest import Stack
from tests.studio.steps import blur_fill, node, shot, sign_in
from tests.support.messages_api_double import MessagesApiDouble

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MODEL = "gpu-journey"
KEY = "sk-journey-5e0b2c"
ANSWER = "Antwort vom GPU-Modell."


@pytest.fixture
def gpu_server() -> Iterator[MessagesApiDouble]:
    with MessagesApiDouble("vendor/gpu-model", api_key=KEY) as double:
        double.reply(ANSWER)
        yield double


def _flow_using(stack: Stack, model: str) -> dict[str, Any]:
    document = {
        "schema": "dirigent.flow/v1",
        "name": "Modell-Reise",
        "inputs": {"question": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "answer", "type": "llm", "config": {"model": model, "prompt": "{{ inputs.question }}"}},
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "answer"}, {"from": "answer", "to": "end"}],
        "outputs": {"answer": "{{ answer.text }}"},
        "card": {"purpose": "Modelle ausprobieren", "risk": "minimal", "owner": "IT"},
    }
    body = {"name": "Modell-Reise", "slug": "modell-reise", "document": document}
    return stack.api("champion", "POST", "/api/workspaces/demo/flows", json=body)  # type: ignore[no-any-return]


def _test_run(page: Any, status: str) -> None:
    page.click("#tab-test")
    blur_fill(page, "#test-input-question", "Welche GPU haben wir?")
    page.click("#run-test")
    page.wait_for_selector(f"#run-status[data-status='{status}']", timeout=30_000)


def test_admin_connects_a_model_and_the_champions_test_run_uses_it(
    stack: Stack, new_page: Any, gpu_server: MessagesApiDouble
) -> None:
    flow = _flow_using(stack, MODEL)

    # Without the model: the test panel says in German what to do and who can do it.
    champion = new_page()
    sign_in(champion, stack, "champion", f"/flows/{flow['id']}")
    champion.wait_for_selector("[data-testid=flow-canvas]")
    assert champion.locator("#nav-models").count() == 0  # admins only
    _test_run(champion, "failed")
    said = champion.inner_text("#run-error")
    assert "Für diesen Flow ist kein Sprachmodell angebunden" in said, said
    assert "Eine Administratorin oder ein Administrator kann unter „Modelle“ eines anbinden." in said
    assert f"„{MODEL}“" in said
    shot(champion, "models-01-no-model")

    # The admin connects the GPU server with its key, and tests it.
    admin = new_page()
    sign_in(admin, stack, "admin")
    admin.click("#nav-models")
    admin.wait_for_selector(".model-card[data-name='default'] .model-from-environment")
    admin.click("#new-model")
    admin.fill("#model-name", MODEL)
    admin.fill("#model-base-url", gpu_server.url + "/v1")
    admin.fill("#model-id", "vendor/gpu-model")
    admin.fill("#model-api-key", KEY)
    admin.click("#model-save")
    admin.wait_for_selector("#model-dialog", state="detached")
    card = admin.locator(f".model-card[data-name='{MODEL}']")
    card.locator(".model-has-key").wait_for()
    card.locator(".model-test").click()
    result = card.locator(".model-test-result")
    result.wait_for()
    assert result.get_attribute("data-ok") == "true", result.inner_text()
    assert "Antwortet (" in result.inner_text() and " ms)" in result.inner_text()
    card.locator(".model-last-test:has-text('Antwortet')").wait_for()  # remembered in the list
    assert gpu_server.headers[-1]["authorization"] == f"Bearer {KEY}"
    assert gpu_server.last_request["max_tokens"] == 1
    assert KEY not in admin.content()
    shot(admin, "models-02-list")

    # Editing shows that a key is stored, never the key; keeping it is the default.
    card.locator(".model-edit").click()
    admin.wait_for_selector("#model-dialog .model-key-stored")
    assert admin.is_checked("#model-key-keep")
    assert admin.locator("#model-api-key").count() == 0  # only after "replace"
    assert admin.input_value("#model-name") == MODEL
    assert KEY not in admin.content()
    shot(admin, "models-03-edit")
    admin.keyboard.press("Escape")
    admin.wait_for_selector("#model-dialog", state="detached")

    # The champion's next test run uses it; the llm block offers it by name.
    champion.reload()
    champion.wait_for_selector("[data-testid=flow-canvas]")
    _test_run(champion, "succeeded")
    assert ANSWER in champion.inner_text("#run-output")
    assert gpu_server.last_request["model"] == "vendor/gpu-model"
    node(champion, "answer").click()
    champion.click(".config-field[data-field='model'] [role=combobox]")
    champion.get_by_role("option", name=MODEL, exact=True).wait_for()
    shot(champion, "models-04-test-run")
    champion.keyboard.press("Escape")

    stored = [item for item in stack.api("admin", "GET", "/api/model-endpoints") if item["name"] == MODEL]
    assert stored and stored[0]["has_api_key"] is True and stored[0]["last_test"]["ok"] is True
