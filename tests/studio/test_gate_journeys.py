"""Test cases gate approval, end to end in Chromium: a flow from a starter whose
cases pass goes to the board with its report; a failing case blocks submission, and only
an admin may submit anyway, with a reason.

Each journey works on flows of its own, so it does not depend on `test_journeys.py`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.studio.conftest import Stack
from tests.studio.steps import run_cases, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEMPLATE = "finance-invoice-check"
FROM_TEMPLATE = "rechnungspruefung-nord"
FAILING = "rueckruf-notiz"


def _flow(stack: Stack, slug: str) -> dict[str, Any]:
    return next(flow for flow in stack.api("champion", "GET", "/api/flows") if flow["slug"] == slug)


def test_champion_starts_from_a_template_and_the_board_reads_its_report(stack: Stack, new_page: Any) -> None:
    templates = stack.api("champion", "GET", "/api/starters")
    template = next(item for item in templates if item["slug"] == TEMPLATE)
    cases = template["document"]["tests"]
    page = new_page()
    sign_in(page, stack, "champion", "/flows")
    page.click("#new-flow")
    page.click(f"#template-{TEMPLATE}")
    page.wait_for_selector(f"#template-{TEMPLATE}[data-selected='true']")
    # The gallery says what the template needs and shows its README.
    for connection in template["needs"]["connections"]:
        page.wait_for_selector(f"#new-flow-dialog >> text='Verbindung: {connection}'")
    section = next(line for line in template["readme"].splitlines() if line.startswith("## "))
    page.wait_for_selector(f"#template-readme >> text={section.removeprefix('## ').strip()}")
    shot(page, "20-template-gallery")
    page.fill("#new-flow-name", "Rechnungsprüfung Nord")
    page.wait_for_function(f"document.querySelector('#new-flow-slug').value === '{FROM_TEMPLATE}'")
    page.click("#new-flow-create")
    page.wait_for_selector("[data-testid=flow-canvas]")
    page.wait_for_selector("#editor-flow-name:has-text('Rechnungsprüfung Nord')")

    # The template's cases are listed in words; they pass with fixed outputs, no LLM, no ERP.
    page.click("#tab-cases")
    page.wait_for_selector(".case-card")
    assert page.locator(".case-card").count() == len(cases)
    assert page.get_attribute("#test-gate", "data-gate") == "missing"
    assert run_cases(page)
    assert page.locator(".report-case[data-passed='true']").count() == len(cases)
    page.wait_for_selector("#test-gate[data-gate='passed']:has-text('Tests bestanden')")
    assert page.locator(".report-step[data-fixed='true']").count() > 0
    shot(page, "21-template-tests-passed")
    page.click("#submit-flow")
    page.wait_for_selector("text=ist zur Freigabe eingereicht")

    flow = _flow(stack, FROM_TEMPLATE)
    key = f"{flow['id']}:1"
    board = new_page()
    sign_in(board, stack, "board1", "/review")
    board.locator(f".review-item[data-key='{key}']").click()
    report = board.locator("#review-tests")
    report.locator("#report-summary").wait_for()
    assert f"{len(cases)} von {len(cases)} Tests bestanden" in report.inner_text()
    for case in cases:
        assert report.locator(f".report-case[data-name='{case['name']}'][data-passed='true']").count() == 1
    report.scroll_into_view_if_needed()
    shot(board, "22-review-test-report")
    board.fill("#review-comment", "Tests bestanden, Karte vollständig.")
    board.click("#approve-version")
    board.wait_for_selector("text=freigegeben")
    version = stack.api("champion", "GET", f"/api/flows/{flow['id']}/versions/1")
    assert [review["decision"] for review in version.get("reviews") or []] == ["approve"] or (
        version["state"] == "approved"
    )


def _create_failing_candidate(stack: Stack) -> str:
    """A flow whose one case passes: a note built from the caller's name."""
    document = {
        "schema": "dirigent.flow/v1",
        "name": "Rückruf-Notiz",
        "inputs": {"name": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "note", "type": "template", "config": {"template": "Bitte Rückruf an {{ inputs.name }}."}},
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "note"}, {"from": "note", "to": "end"}],
        "outputs": {"text": "{{ note.text }}"},
        "card": {"purpose": "Notiert Rückrufbitten.", "risk": "minimal", "owner": "Empfang"},
        "tests": [
            {
                "name": "Frau Weber",
                "inputs": {"name": "Frau Weber"},
                "expect": [{"check": "contains", "output": "text", "value": "Rückruf an Frau Weber"}],
            }
        ],
    }
    created = stack.api(
        "champion",
        "POST",
        "/api/workspaces/demo/flows",
        json={"name": "Rückruf-Notiz", "slug": FAILING, "document": document},
    )
    return str(created["id"])


def test_a_failing_case_blocks_submission_until_an_admin_overrides(stack: Stack, new_page: Any) -> None:
    flow_id = _create_failing_candidate(stack)
    page = new_page()
    sign_in(page, stack, "champion", f"/flows/{flow_id}")
    page.click("#tab-cases")
    card = page.locator(".case-card[data-name='Frau Weber']")
    assert "Ergebnis „text“ enthält „Rückruf an Frau Weber“" in card.inner_text()

    # The champion expects something the flow does not say: the changed case goes to the
    # working copy, and running the cases makes it version 2.
    card.locator(".case-edit").click()
    page.fill("#check-value-c0", "Rückruf an Herrn Weber")
    page.click("#case-save")
    page.wait_for_selector("#case-dialog", state="detached")
    assert not run_cases(page)
    page.wait_for_selector("#editor-version:has-text('Version 2')")
    failed = page.locator(".report-case[data-name='Frau Weber'][data-passed='false']")
    assert "enthält" in failed.locator(".report-failure").first.inner_text()
    page.wait_for_selector("#test-gate[data-gate='failed']:has-text('1 von 1 Tests fehlgeschlagen')")
    shot(page, "23-case-failed")

    page.click("#submit-flow")
    page.wait_for_selector("#submit-refused")
    assert "1 von 1 Testfällen dieser Version sind im letzten Lauf fehlgeschlagen" in page.inner_text(
        "#submit-refused"
    )
    assert page.locator("#refusal-detail").count() == 1
    assert page.locator("#override").count() == 0  # a champion cannot override
    shot(page, "24-submit-refused")
    assert stack.api("champion", "GET", f"/api/flows/{flow_id}/versions/2")["state"] == "draft"

    admin = new_page()
    sign_in(admin, stack, "admin", f"/flows/{flow_id}")
    admin.click("#submit-flow")
    admin.wait_for_selector("#override")
    admin.fill("#override-reason", "Prüftext wird im nächsten Release korrigiert; Freigabe dringend.")
    shot(admin, "25-admin-override")
    admin.click("#override-submit")
    admin.wait_for_selector("text=ist zur Freigabe eingereicht")
    assert stack.api("champion", "GET", f"/api/flows/{flow_id}/versions/2")["state"] == "submitted"
    # The override and its reason are in the audit trail.
    entries = stack.api("admin", "GET", "/api/audit", params={"action": "version.submitted", "limit": 50})
    submitted = next(entry for entry in entries if entry["detail"].get("flow_id") == flow_id)
    assert submitted["detail"]["tests"] == "failed"
    assert submitted["detail"]["override_reason"].startswith("Prüftext wird im nächsten Release korrigiert")
