"""Knowledge, connections, monitoring, audit and chat feedback, end to end in Chromium.

Each journey sets up what it needs through the runtime's API (a published FAQ assistant,
some runs), so it does not depend on `test_journeys.py`; what a person sees is checked
in the page, what the runtime stored through its API.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.studio.conftest import STREAMED_ANSWER, Stack
from tests.studio.steps import choose, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FAQ = "faq-assistant"
SECRET = "geheim-Token-7c1f"
TRAVEL = (
    "# Reisekostenrichtlinie\n\nFür Dienstreisen mit dem privaten Auto erstatten wir eine "
    "Kilometerpauschale von 0,30 Euro je gefahrenem Kilometer. Belege reichen Sie binnen "
    "vier Wochen über das Personalportal ein.\n"
)


def _flow(stack: Stack, slug: str) -> dict[str, Any]:
    return next(flow for flow in stack.api("champion", "GET", "/api/flows") if flow["slug"] == slug)


def _published(stack: Stack, slug: str) -> dict[str, Any]:
    """The flow `slug`, published (its test cases run, submitted, approved, published) if it was not."""
    flow = _flow(stack, slug)
    if not flow.get("live_version"):
        number = flow["latest_version"]["number"]
        base = f"/api/flows/{flow['id']}/versions/{number}"
        if flow["latest_version"]["state"] == "draft":
            stack.api("champion", "POST", f"{base}/test", json={"live": False})
            stack.api("champion", "POST", f"{base}/submit")
        if stack.api("champion", "GET", base)["state"] == "submitted":
            stack.api("board1", "POST", f"{base}/approve", json={"comment": "ok"})
        stack.api("champion", "POST", f"{base}/publish")
        flow = _flow(stack, slug)
    return flow


def test_champion_uploads_documents_and_finds_one_by_search(
    stack: Stack, new_page: Any, tmp_path: Any
) -> None:
    files = {"reisekosten.md": TRAVEL, "alt.txt": "Veraltete Notiz ohne Bedeutung.", "programm.exe": "MZ"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    page = new_page()
    sign_in(page, stack, "champion", "/knowledge")
    page.click("#new-index")
    page.fill("#index-name", "handbuch")
    page.fill("#index-description", "Richtlinien für alle")
    page.click("#index-create")
    page.wait_for_selector("#index-title:has-text('handbuch')")
    page.wait_for_selector("#documents-empty")

    page.fill("#upload-labels", "intern")
    page.locator("#upload-labels").blur()
    page.set_input_files("#knowledge-upload input[type=file]", [str(tmp_path / name) for name in files])
    page.wait_for_selector("#picked-files >> text=programm.exe")
    page.click("#upload-start")
    page.wait_for_selector("#job-progress")
    page.wait_for_selector("#job-panel[data-status='completed_with_errors']", timeout=180_000)
    failed = page.locator(".job-file[data-name='programm.exe']")
    assert failed.get_attribute("data-status") == "failed"
    assert "Dieser Dateityp wird nicht unterstützt" in failed.inner_text()
    row = page.locator(".document-row[data-name='reisekosten.md']")
    row.wait_for()
    assert row.get_attribute("data-status") == "indexed"
    assert "intern" in row.inner_text() and "aufgenommen" in row.inner_text()

    page.fill("#search-query", "Wie hoch ist die Kilometerpauschale?")
    page.click("#search-submit")
    hit = page.locator(".search-hit").first
    hit.wait_for()
    assert "reisekosten.md" in hit.locator(".hit-source").inner_text()
    assert "0,30 Euro" in hit.inner_text()
    shot(page, "30-knowledge")
    page.locator("#search-hits").scroll_into_view_if_needed()
    shot(page, "30b-knowledge-search")
    page.click("#lang-en")
    page.wait_for_selector("text=Try a search")
    assert "indexed" in page.locator(".document-row[data-name='reisekosten.md']").inner_text()
    page.click("#lang-de")

    page.locator(".document-row[data-name='alt.txt'] .document-delete").click()
    page.click("#confirm-delete")
    page.wait_for_selector(".document-row[data-name='alt.txt']", state="detached")
    index = next(
        item
        for item in stack.api("champion", "GET", "/api/workspaces/demo/knowledge")
        if item["name"] == "handbuch"
    )
    stored = stack.api("champion", "GET", f"/api/knowledge/{index['id']}/documents")
    assert [(doc["filename"], doc["labels"]) for doc in stored] == [("reisekosten.md", ["intern"])]


def test_admin_creates_tests_and_edits_a_connection_without_seeing_its_secret(
    stack: Stack, new_page: Any
) -> None:
    page = new_page()
    sign_in(page, stack, "admin", "/connections")
    page.click("#new-connection")
    page.fill("#conn-name", "status-api")
    page.fill("#conn-base-url", stack.runtime_url)
    choose(page, "#conn-auth-type", "Token (Bearer)")
    page.fill("#conn-secret-token", SECRET)
    page.fill("#conn-allowed-paths", "/health")
    page.fill("#conn-test-path", "/health")
    page.click("#conn-save")
    card = page.locator(".conn-card[data-name='status-api']")
    card.wait_for()
    assert "token: gesetzt" in card.inner_text()

    card.locator(".conn-test").click()
    result = card.locator(".conn-test-result")
    result.wait_for()
    assert result.get_attribute("data-ok") == "true"
    assert "Test bestanden: 127.0.0.1 antwortet mit HTTP 200" in result.inner_text()

    card.locator(".conn-edit").click()
    page.wait_for_selector("#conn-dialog .secret-set")
    assert page.input_value("#conn-secret-token") == ""  # never filled back
    assert "leer lassen" in (page.get_attribute("#conn-secret-token", "placeholder") or "")
    assert SECRET not in page.content()
    shot(page, "31-connections-edit")
    page.fill("#conn-timeout-s", "5")
    page.click("#conn-save")
    page.wait_for_selector("#conn-dialog", state="detached")
    page.wait_for_selector("text=Verbindung „status-api“ gespeichert.")
    assert SECRET not in page.content()
    shot(page, "31-connections")

    stored = next(
        item
        for item in stack.api("admin", "GET", "/api/workspaces/demo/connections")
        if item["name"] == "status-api"
    )
    assert stored["settings"]["timeout_s"] == 5 and stored["settings"]["auth"]["type"] == "bearer"
    assert stored["secrets"]["token"]["set"] is True  # kept although the form sent no token
    assert SECRET not in json.dumps(stored)


def test_user_gives_thumbs_down_with_a_correction(stack: Stack, new_page: Any) -> None:
    _published(stack, FAQ)
    page = new_page()
    sign_in(page, stack, "user", "/assistants")
    page.locator(f".assistant-item[data-slug='{FAQ}']").click()
    page.fill("#chat-input", "Wie viele Urlaubstage habe ich?")
    page.click("#chat-send")
    answer = page.locator(".chat-assistant[data-status='succeeded']").last
    answer.wait_for(timeout=30_000)
    assert STREAMED_ANSWER in answer.inner_text()
    bar = answer.locator(".feedback-bar")
    run_id = bar.get_attribute("data-run")
    bar.locator(".feedback-down").click()
    bar.locator(".feedback-correction textarea").fill("Richtig ist: 30 Tage laut Tarifvertrag.")
    shot(page, "34a-chat-correction")
    bar.locator(".feedback-send").click()
    page.wait_for_selector(".feedback-bar[data-rating='down'] .feedback-saved")
    shot(page, "34-chat-feedback")

    run = stack.api("user", "GET", f"/api/runs/{run_id}")
    assert run["feedback"]["rating"] == "down"
    assert run["feedback"]["correction"] == "Richtig ist: 30 Tage laut Tarifvertrag."


def test_monitoring_shows_the_runs_of_an_assistant(stack: Stack, new_page: Any) -> None:
    flow = _published(stack, FAQ)
    for question in (
        "Wo finde ich das Personalportal?",
        "Wann ist Betriebsversammlung?",
        "Wer hilft bei IT?",
    ):
        stack.api("user", "POST", f"/api/assistants/{FAQ}/runs", json={"inputs": {"question": question}})
    expected = next(
        item
        for item in stack.api("champion", "GET", "/api/monitoring?workspace=demo")["assistants"]
        if item["flow_id"] == flow["id"]
    )["summary"]
    assert expected["runs"]["total"] >= 3

    page = new_page()
    sign_in(page, stack, "champion", "/monitoring")
    row = page.locator(f"#assistant-table .monitoring-row[data-scope='flow:{flow['id']}']")
    row.wait_for()
    row.click()
    page.wait_for_selector(f"#scope-title:has-text('{flow['name']}')")
    runs_tile = page.locator(".monitoring-tile[data-key='tile_runs'] .tile-value")
    assert runs_tile.inner_text() == str(expected["runs"]["total"])
    page.wait_for_selector("#chart-runs .recharts-bar-rectangle")
    page.wait_for_selector("#chart-latency .recharts-line-dot")
    assert page.locator("#chart-tokens .recharts-bar-rectangle").count() > 0
    assert page.locator("#role-table .monitoring-row[data-scope='role:user']").count() == 1
    page.locator("#scope-title").scroll_into_view_if_needed()
    shot(page, "32-monitoring")
    page.locator("#role-table").scroll_into_view_if_needed()
    shot(page, "32b-monitoring-tables")

    page.fill("#range-since", "2020-01-01")
    page.fill("#range-until", "2020-01-31")
    page.click("#range-apply")
    page.wait_for_selector("text=Im gewählten Zeitraum gab es keine Läufe.")
    page.click("#range-30")
    page.wait_for_selector("#chart-runs .recharts-bar-rectangle")


def test_board_verifies_the_audit_chain_filters_and_exports(stack: Stack, new_page: Any) -> None:
    page = new_page()
    sign_in(page, stack, "board1", "/audit")
    banner = page.locator("#chain-result")
    banner.wait_for()
    assert banner.get_attribute("data-ok") == "true"
    assert re.search(r"Prüfkette intakt: alle \d+ Einträge sind unverändert", banner.inner_text())
    assert stack.api("board1", "GET", "/api/audit/verify")["ok"] is True
    page.wait_for_selector(".audit-row")
    shot(page, "33-audit")

    choose(page, "#audit-action", "Anmeldung")
    page.fill("#audit-who", "board1")
    page.click("#audit-apply")
    page.wait_for_function(
        "() => { const rows = [...document.querySelectorAll('.audit-row')]; return rows.length > 0"
        " && rows.every(r => r.dataset.action === 'auth.login' && r.dataset.actor === 'board1'); }"
    )
    stored = stack.api("board1", "GET", "/api/audit?action=auth.login&who=board1&limit=50")
    assert page.locator(".audit-row").count() >= len(stored) - 1  # our own sign-ins may add one meanwhile
    page.locator(".audit-row").first.click()
    page.wait_for_selector("text=Prüfsumme")
    shot(page, "33-audit-filtered")

    with page.expect_download() as download:
        page.click("#audit-export")
    lines = download.value.path().read_text().splitlines()
    assert lines and all(json.loads(line)["action"] == "auth.login" for line in lines)

    page.click("#audit-clear")
    page.wait_for_function("() => document.querySelectorAll('.audit-row').length === 50")
    first_seq = page.locator(".audit-row").first.get_attribute("data-seq")
    page.click("#audit-older")
    page.wait_for_selector("#audit-page:has-text('Seite 2')")
    page.wait_for_function(
        "(first) => { const row = document.querySelector('.audit-row');"
        " return row && Number(row.dataset.seq) < first - 49; }",
        arg=int(first_seq or 0),
    )
