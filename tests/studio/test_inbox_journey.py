"""People are told, end to end in Chromium: an admin chooses the mail connection for
notifications, a champion submits a version, and board1 sees the bell's count, opens the
inbox and clicks through to the review — while a real SMTP server (aiosmtpd on 127.0.0.1)
receives the board's mails. The journey works on a flow of its own."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.runtime.connections.servers import SmtpTarget
from tests.studio.conftest import Stack
from tests.studio.steps import choose, run_cases, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FLOW_NAME = "Begrüßung Posteingang"
OTHER_NAME = "Begrüßung Zweitfassung"
DOCUMENT = {
    "schema": "dirigent.flow/v1",
    "name": FLOW_NAME,
    "inputs": {"name": {"type": "string", "required": True}},
    "nodes": [
        {"id": "start", "type": "input"},
        {"id": "greet", "type": "template", "config": {"template": "Guten Tag, {{ inputs.name }}!"}},
        {"id": "end", "type": "output"},
    ],
    "edges": [{"from": "start", "to": "greet"}, {"from": "greet", "to": "end"}],
    "outputs": {"text": "{{ greet.text }}"},
    "card": {"purpose": "Begrüßt Besucher", "risk": "minimal", "owner": "Empfang"},
    "tests": [
        {
            "name": "grüßt mit Namen",
            "inputs": {"name": "Frau Müller"},
            "expect": [{"check": "equals", "output": "text", "value": "Guten Tag, Frau Müller!"}],
        }
    ],
}


def wait_for_mails(smtp: SmtpTarget, count: int, timeout_s: float = 60) -> None:
    """The outbox sends in the background (every 5 s by default)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if len(smtp.envelopes) >= count:
            return
        time.sleep(0.5)
    raise AssertionError(f"{count} mails expected within {timeout_s} s; got {smtp.envelopes}")


def test_board_member_learns_of_a_submitted_version_in_the_inbox_and_by_mail(
    stack: Stack, new_page: Any
) -> None:
    with SmtpTarget() as smtp:
        connection = stack.api(
            "admin",
            "POST",
            "/api/workspaces/demo/connections",
            json={
                "name": "benachrichtigungen",
                "kind": "email",
                "settings": {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "security": "none",
                    "sender": "dirigent@demo.local",
                    "allowed_domains": ["demo.local"],
                },
            },
        )
        try:
            _journey(stack, new_page, smtp, connection["id"])
        finally:  # later journeys' events stay in the inbox only
            stack.api(
                "admin",
                "PUT",
                "/api/admin/notification-settings",
                json={"connection_id": None, "studio_url": None},
            )


def _journey(stack: Stack, new_page: Any, smtp: SmtpTarget, connection_id: str) -> None:
    # The admin chooses the connection on the connections page.
    admin = new_page()
    sign_in(admin, stack, "admin", "/connections")
    admin.wait_for_selector("#notify-settings")
    choose(admin, "#notify-connection", "benachrichtigungen")
    admin.fill("#notify-studio-url", stack.studio_url)
    admin.click("#notify-save")
    admin.wait_for_selector("text=Einstellungen für Benachrichtigungen gespeichert.")
    shot(admin, "50-notification-settings")
    chosen = stack.api("admin", "GET", "/api/admin/notification-settings")
    assert chosen["connection_id"] == connection_id and chosen["studio_url"] == stack.studio_url

    before = stack.api("board1", "GET", "/api/notifications/unread-count")["unread"]
    flow = stack.api(
        "champion",
        "POST",
        "/api/workspaces/demo/flows",
        json={"name": FLOW_NAME, "slug": "begruessung-posteingang", "document": DOCUMENT},
    )

    # The champion runs the cases and submits version 1 in the editor.
    champion = new_page()
    sign_in(champion, stack, "champion", f"/flows/{flow['id']}")
    champion.wait_for_selector("[data-testid=flow-canvas]")
    assert run_cases(champion)
    champion.click("#submit-flow")
    champion.wait_for_selector("text=ist zur Freigabe eingereicht")

    # A second version waits for the board too (submitted over the API).
    other = stack.api(
        "champion",
        "POST",
        "/api/workspaces/demo/flows",
        json={"name": OTHER_NAME, "slug": "begruessung-zweit", "document": {**DOCUMENT, "name": OTHER_NAME}},
    )
    stack.api("champion", "POST", f"/api/flows/{other['id']}/versions/1/test", json={"live": False})
    stack.api("champion", "POST", f"/api/flows/{other['id']}/versions/1/submit")

    # board1 signs in: the bell counts the new notifications.
    board = new_page()
    sign_in(board, stack, "board1")
    board.wait_for_selector(f"#inbox-badge[data-count='{before + 2}']")
    shot(board, "51-inbox-badge")
    board.click("#inbox-bell")
    board.wait_for_url("**/inbox")
    entries = board.locator(".inbox-item[data-kind='version_submitted'][data-unread='true']")
    entries.first.wait_for()
    item = entries.filter(has_text=f"„{FLOW_NAME}“")
    assert f"champion hat Version 1 von „{FLOW_NAME}“ zur Freigabe eingereicht." in item.inner_text()
    assert entries.filter(has_text=f"„{OTHER_NAME}“").count() == 1
    shot(board, "52-inbox")
    board.click("#lang-en")
    board.wait_for_selector(f"text=champion submitted version 1 of “{FLOW_NAME}” for approval.")
    board.click("#lang-de")

    # A click leads to the review of exactly that version (whichever the queue shows first),
    # and the entry counts as read.
    for name, flow_id, left in ((FLOW_NAME, flow["id"], before + 1), (OTHER_NAME, other["id"], before)):
        board.click("#inbox-bell")
        board.wait_for_url("**/inbox")
        board.locator(".inbox-item", has_text=f"„{name}“").locator(".inbox-link").click()
        board.wait_for_url(f"**/review?version={flow_id}:1")
        board.wait_for_selector(f"text={name} · v1")
        board.wait_for_selector(f".review-item[data-key='{flow_id}:1']")
        if left:
            board.wait_for_selector(f"#inbox-badge[data-count='{left}']")
        else:
            board.wait_for_selector("#inbox-badge", state="detached")
        if name == FLOW_NAME:
            shot(board, "53-review-from-inbox")

    # The SMTP server got the board's mails, German first, linking to that review.
    wait_for_mails(smtp, 4)  # two versions, two board members
    time.sleep(1)  # and no more than that
    assert sorted(to for _, recipients in smtp.envelopes for to in recipients) == [
        "board1@demo.local",
        "board1@demo.local",
        "board2@demo.local",
        "board2@demo.local",
    ]
    mail = next(
        message
        for message in smtp.messages
        if message["To"] == "board1@demo.local" and FLOW_NAME in str(message["Subject"])
    )
    assert mail["Subject"] == f"Freigabe erbeten: {FLOW_NAME} v1 / Approval requested: {FLOW_NAME} v1"
    text = mail.get_content()
    assert text.index("Guten Tag") < text.index("Hello")
    assert f"{stack.studio_url}/review?version={flow['id']}:1" in text
