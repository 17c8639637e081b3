"""The text of notification mails: German first, then English, with a link to the studio.

A mail says what waits or what was decided, names the flow or the task's title, and
links to the studio page; it never carries run inputs, outputs or payloads (the task's
title is the approval node's, as the tasks page shows it). The links use the studio's
routes (`studio/studio/routes.py`): the review page for a submitted version, the flow's
versions for a decided one, the tasks page for a task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from runtime.notifications.models import Notification

MAX_TITLE = 200


@dataclass(frozen=True)
class MailText:
    subject: str
    text: str


# kind -> ((German subject, German sentence), (English subject, English sentence))
_TEXTS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "version_submitted": (
        (
            "Freigabe erbeten: {flow} v{number}",
            "{by} hat Version {number} von „{flow}“ zur Freigabe eingereicht. "
            "Sie gehören zum Freigabegremium und können sie prüfen:",
        ),
        (
            "Approval requested: {flow} v{number}",
            "{by} submitted version {number} of “{flow}” for approval. "
            "As a member of the governance board you can review it:",
        ),
    ),
    "version_approved": (
        (
            "Freigegeben: {flow} v{number}",
            "Version {number} von „{flow}“ ist freigegeben und kann veröffentlicht werden:",
        ),
        (
            "Approved: {flow} v{number}",
            "Version {number} of “{flow}” is approved and can be published:",
        ),
    ),
    "version_rejected": (
        (
            "Abgelehnt: {flow} v{number}",
            "{by} hat Version {number} von „{flow}“ abgelehnt; die Begründung steht bei der Version:",
        ),
        (
            "Rejected: {flow} v{number}",
            "{by} rejected version {number} of “{flow}”; the reason is shown with the version:",
        ),
    ),
    "task_assigned": (
        ("Aufgabe: {title}", "Eine Aufgabe wartet auf Ihre Entscheidung: {title}"),
        ("Task: {title}", "A task awaits your decision: {title}"),
    ),
    "task_overdue": (
        (
            "Überfällig: {title}",
            "Eine Aufgabe wurde nicht rechtzeitig entschieden und ist abgelaufen: {title}",
        ),
        ("Overdue: {title}", "A task was not decided in time and has expired: {title}"),
    ),
}
KINDS = tuple(_TEXTS)


def one_line(value: Any, limit: int = MAX_TITLE) -> str:
    """A parameter as one line of at most `limit` characters (no header injection)."""
    text = " ".join(str(value if value is not None else "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def studio_path(kind: str, params: dict[str, Any], target_id: str) -> str:
    """The studio page a notification leads to."""
    if kind == "version_submitted":
        return f"/review?version={quote(str(params.get('flow_id', '')))}:{params.get('number', '')}"
    if kind in ("version_approved", "version_rejected"):
        return f"/flows/{quote(str(params.get('flow_id', '')))}/versions"
    return f"/tasks?task={quote(target_id)}"


def render(notification: Notification, studio_url: str) -> MailText:
    (de_subject, de_text), (en_subject, en_text) = _TEXTS[notification.kind]
    values = {key: one_line(value) for key, value in (notification.params or {}).items()}
    values.setdefault("by", "")
    base = studio_url.rstrip("/")
    link = base + studio_path(notification.kind, notification.params or {}, notification.target_id)
    inbox = f"{base}/inbox"
    german = de_text.format(**values)
    english = en_text.format(**values)
    text = (
        f"Guten Tag,\n\n{german}\n{link}\n\n"
        f"Alle Benachrichtigungen finden Sie in Ihrem Posteingang in Dirigent: {inbox}\n\n"
        "— English —\n\n"
        f"Hello,\n\n{english}\n{link}\n\n"
        f"All notifications are in your inbox in Dirigent: {inbox}\n"
    )
    subject = one_line(f"{de_subject.format(**values)} / {en_subject.format(**values)}", 250)
    return MailText(subject=subject, text=text)
