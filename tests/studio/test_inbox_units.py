"""The inbox's pure parts without a browser: a notification's sentence in German and English,
the page it leads to, the bell's badge, and the client calls of the inbox API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.api import RuntimeClient

from runtime.notifications.mails import KINDS
from runtime.notifications.mails import studio_path as runtime_path
from studio import i18n, inbox_view

SUBMITTED = {
    "id": "n1",
    "kind": "version_submitted",
    "params": {"flow_id": "f1", "flow": "Begrüßung", "number": 3, "by": "champion"},
    "target_type": "version",
    "target_id": "v9",
    "created_at": "2026-12-07T18:30:12.123+00:00",
    "read_at": None,
}


def test_a_notification_reads_in_german_and_english() -> None:
    row = inbox_view.row(SUBMITTED)
    assert row["text_de"] == "champion hat Version 3 von „Begrüßung“ zur Freigabe eingereicht."
    assert row["text_en"] == "champion submitted version 3 of “Begrüßung” for approval."
    assert row["href"] == "/review?version=f1:3"
    assert row["created"] == "2026-12-07 18:30" and row["unread"] == "true"


@pytest.mark.parametrize(
    ("kind", "params", "german", "english", "href"),
    [
        (
            "version_approved",
            {"flow_id": "f1", "flow": "X", "number": 2, "by": "board1"},
            "Version 2 von „X“ ist freigegeben (board1)",
            "Version 2 of “X” is approved (board1)",
            "/flows/f1/versions",
        ),
        (
            "version_rejected",
            {"flow_id": "f1", "flow": "X", "number": 2, "by": "board1", "comment": "Quelle?"},
            "board1 hat Version 2 von „X“ abgelehnt. Begründung: Quelle?",
            "board1 rejected version 2 of “X”. Reason: Quelle?",
            "/flows/f1/versions",
        ),
        (
            "version_rejected",
            {"flow_id": "f1", "flow": "X", "number": 2, "by": "board1", "comment": ""},
            "board1 hat Version 2 von „X“ abgelehnt.",
            "board1 rejected version 2 of “X”.",
            "/flows/f1/versions",
        ),
        (
            "task_assigned",
            {"task_id": "t1", "title": "Mail an Müller"},
            "Eine Aufgabe wartet auf Ihre Entscheidung: Mail an Müller",
            "A task awaits your decision: Mail an Müller",
            "/tasks?task=t1",
        ),
        (
            "task_overdue",
            {"task_id": "t1", "title": "Mail"},
            "Nicht rechtzeitig entschieden und abgelaufen: Mail",
            "Not decided in time, expired: Mail",
            "/tasks?task=t1",
        ),
        ("something_new", {}, "Neue Benachrichtigung", "New notification", "/tasks?task=t1"),
    ],
)
def test_every_kind_has_its_sentence_and_page(
    kind: str, params: dict[str, Any], german: str, english: str, href: str
) -> None:
    row = inbox_view.row({"id": "n", "kind": kind, "params": params, "target_id": "t1", "read_at": "x"})
    assert row["text_de"].startswith(german) and row["text_en"].startswith(english)
    assert row["href"] == href and row["unread"] == ""


def test_a_missing_parameter_reads_empty_instead_of_failing() -> None:
    assert inbox_view.sentence("task_assigned", {}, 0) == "Eine Aufgabe wartet auf Ihre Entscheidung: "


def test_the_studio_and_the_mails_agree_on_every_link() -> None:
    params = {"flow_id": "f1", "number": 4, "task_id": "t7"}
    for kind in KINDS:
        assert inbox_view.href(kind, params, "t7") == runtime_path(kind, params, "t7"), kind
    assert {
        key.removeprefix("notification.") for key in i18n.CATALOGS["de"] if key.startswith("notification.")
    } == set(KINDS)


def test_the_badge_stops_at_99() -> None:
    assert [inbox_view.badge(n) for n in (1, 99, 100, 4000)] == ["1", "99", "99+", "99+"]


def test_new_error_codes_read_as_sentences() -> None:
    for code in ("not_an_email_connection", "invalid_studio_url", "invalid_cursor"):
        german = i18n.describe_error(code, "x", 400, "de")
        english = i18n.describe_error(code, "x", 400, "en")
        assert german != english and not german.startswith("Fehler"), code


async def test_the_client_calls_the_inbox_api() -> None:
    seen: list[tuple[str, str, dict[str, str], Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append(
            (request.method, request.url.raw_path.decode().split("?")[0], dict(request.url.params), body)
        )
        if request.url.path.endswith("unread-count"):
            return httpx.Response(200, json={"unread": 4})
        return httpx.Response(200, json={"items": [], "unread": 0, "next_cursor": None})

    client = RuntimeClient("t", base_url="http://runtime.test", transport=httpx.MockTransport(handler))
    assert await client.unread_count() == 4
    await client.notifications(limit=30, cursor="c1")
    await client.mark_read("n/1")
    await client.mark_all_read()
    await client.set_notification_settings("c9", None)
    assert seen == [
        ("GET", "/api/notifications/unread-count", {}, None),
        ("GET", "/api/notifications", {"limit": "30", "cursor": "c1"}, None),
        ("POST", "/api/notifications/n%2F1/read", {}, None),
        ("POST", "/api/notifications/read-all", {}, None),
        ("PUT", "/api/admin/notification-settings", {}, {"connection_id": "c9", "studio_url": None}),
    ]
