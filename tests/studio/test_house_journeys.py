"""Two ways into the studio end to end in Chromium: the link of a task notification
(`/tasks?task=<id>`) brings that task's card into view, and a person changes their own
password on the account page (the user menu's "Konto")."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.studio.conftest import Stack
from tests.studio.steps import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUNS = 4  # enough cards that the oldest is below the first screen


def _waiting_test_runs(stack: Stack) -> list[str]:
    """Test runs of the approval starter by the champion, each waiting for a task that the
    reviewer (a second champion: four eyes) decides."""
    flows = stack.api("champion", "GET", "/api/flows")
    flow_id = next(flow["id"] for flow in flows if flow["slug"] == "approval-demo")
    runs = []
    for number in range(RUNS):
        run = stack.api(
            "champion",
            "POST",
            f"/api/flows/{flow_id}/versions/1/runs",
            json={"inputs": {"recipient": f"Kunde {number}", "topic": f"Anliegen {number}"}, "wait_s": 10},
        )
        assert run["status"] == "waiting", run
        runs.append(str(run["run_id"] if "run_id" in run else run["id"]))
    return runs


def test_a_task_link_rings_that_card_and_scrolls_to_it(stack: Stack, new_page: Any) -> None:
    runs = _waiting_test_runs(stack)
    try:
        tasks = [task for task in stack.api("reviewer", "GET", "/api/tasks") if task["run_id"] in runs]
        assert len(tasks) == RUNS
        oldest = tasks[-1]["id"]  # the list is newest first: the oldest card is the last one

        page = new_page()
        sign_in(page, stack, "reviewer", f"/tasks?task={oldest}")
        card = page.locator(f".task-card[data-task='{oldest}']")
        card.wait_for()
        page.wait_for_selector(f".task-card[data-task='{oldest}'][data-linked='true']")
        assert page.locator(".task-card[data-linked='true']").count() == 1
        page.wait_for_function(
            """(id) => { const box = document.getElementById('task-' + id).getBoundingClientRect();
                          return box.top >= 0 && box.top < window.innerHeight; }""",
            arg=oldest,
        )
        first = page.locator(".task-card").first
        assert first.get_attribute("data-task") != oldest
        assert first.bounding_box()["y"] < 0  # scrolled past the newer cards
        assert page.locator("#task-link-gone").count() == 0
        shot(page, "house-01-task-link")

        # A link to a task that is not open (any more): the list, and a notice saying so.
        page.goto(f"{stack.studio_url}/tasks?task=no-such-task")
        page.wait_for_selector("#task-link-gone")
        assert page.locator(".task-card[data-linked='true']").count() == 0
    finally:
        for run_id in runs:
            stack.api("champion", "POST", f"/api/runs/{run_id}/cancel")


def test_a_person_changes_their_own_password(stack: Stack, new_page: Any) -> None:
    original = stack.passwords["board2"]
    new = "ein-ganz-neues-Passwort-2026"
    try:
        page = new_page()
        sign_in(page, stack, "board2")
        page.click("#user-menu")
        page.click("#account-link")
        page.wait_for_selector("#password-form")
        assert "board2" in page.inner_text("#account-user")

        page.fill("#account-current-password", "nicht-mein-passwort")
        page.fill("#account-new-password", new)
        page.fill("#account-repeat-password", new)
        page.click("#password-save")
        page.wait_for_selector("#current_password-error")
        assert page.inner_text("#current_password-error") == "Das bisherige Passwort stimmt nicht."

        page.fill("#account-current-password", original)
        page.fill("#account-repeat-password", new + "x")
        page.click("#password-save")
        page.wait_for_selector("#repeat_password-error")
        assert page.locator("#current_password-error").count() == 0

        page.fill("#account-new-password", "kurz")
        page.fill("#account-repeat-password", "kurz")
        page.click("#password-save")
        page.wait_for_selector("#new_password-error")
        assert "zu kurz" in page.inner_text("#new_password-error")

        page.fill("#account-new-password", new)
        page.fill("#account-repeat-password", new)
        page.click("#password-save")
        page.wait_for_selector("text=Passwort geändert")
        shot(page, "house-02-password-changed")
        # This tab stays signed in with the answer's new token; the old password is gone.
        page.goto(f"{stack.studio_url}/inbox")
        page.wait_for_selector("#user-menu")
        assert "/login" not in page.url
        refused = httpx.post(
            f"{stack.runtime_url}/api/auth/login",
            json={"username": "board2", "password": original},
            timeout=10,
        )
        assert refused.status_code == 401
        accepted = httpx.post(
            f"{stack.runtime_url}/api/auth/login", json={"username": "board2", "password": new}, timeout=10
        )
        assert accepted.status_code == 200
    finally:  # later journeys sign in with the demo password
        stack.api("admin", "POST", "/api/users/board2/password", json={"new_password": original})
