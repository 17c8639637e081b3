"""Notifications as the inbox shows them: their sentence in German and English (from the
runtime's code and parameters), the page they lead to, and when they came."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from studio import routes
from studio.i18n import fill, has_text, translate

ICONS = {
    "version_submitted": "stamp",
    "version_approved": "circle-check",
    "version_rejected": "circle-x",
    "task_assigned": "list-checks",
    "task_overdue": "alarm-clock",
}


def sentence(kind: str, params: dict[str, Any], language: int) -> str:
    """`language` 0: German, 1: English."""
    lang = "en" if language else "de"
    key = f"notification.{kind}"
    if not has_text(key):
        return translate("notification_unknown", lang)
    text = fill(key, lang, {name: str(value) for name, value in (params or {}).items()})
    comment = str((params or {}).get("comment") or "").strip()
    if kind == "version_rejected" and comment:
        text = f"{text} {translate('notification_comment', lang, comment=comment)}"
    return text


def href(kind: str, params: dict[str, Any], target_id: str) -> str:
    """The studio page a notification leads to (the runtime's mails link to the same)."""
    flow_id = quote(str((params or {}).get("flow_id") or ""), safe="")
    if kind == "version_submitted":
        return f"{routes.REVIEW}?version={flow_id}:{(params or {}).get('number', '')}"
    if kind in ("version_approved", "version_rejected"):
        return routes.versions(flow_id)
    return f"{routes.TASKS}?task={quote(target_id, safe='')}"


def row(notification: dict[str, Any]) -> dict[str, str]:
    kind = str(notification.get("kind") or "")
    params = notification.get("params") or {}
    return {
        "id": str(notification["id"]),
        "kind": kind,
        "text_de": sentence(kind, params, 0),
        "text_en": sentence(kind, params, 1),
        "href": href(kind, params, str(notification.get("target_id") or "")),
        "created": str(notification.get("created_at") or "")[:16].replace("T", " "),
        "unread": "" if notification.get("read_at") else "true",
    }


def badge(count: int) -> str:
    """The bell's badge: the count, at most "99+"."""
    return "99+" if count > 99 else str(count)
