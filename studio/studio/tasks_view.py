"""Approval tasks as the tasks page shows them: a card's fields, the payload as text and
back, and the card a link (`/tasks?task=<id>`, from a notification or a mail) names."""

from __future__ import annotations

import json
from typing import Any


def payload_text(payload: Any) -> str:
    if payload is None:
        return ""
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, indent=2)


def payload_value(original: Any, text: str) -> Any:
    """The edited text back in the payload's shape (JSON stays JSON when it parses)."""
    if isinstance(original, str) or original is None:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def task_card(task: dict[str, Any]) -> dict[str, str]:
    return {
        "id": task["id"],
        "title": str(task.get("title") or ""),
        "flow": str((task.get("flow") or {}).get("name") or ""),
        "instructions": str(task.get("instructions") or ""),
        "payload": payload_text(task.get("payload")),
        "editable": "true" if task.get("editable") else "",
        "can_decide": "true" if task.get("can_decide") else "",
        # "Was this already sent?" after an interrupted call: yes/no instead of approve/reject
        "uncertain": "true" if task.get("question") == "side_effect_uncertain" else "",
        "approvals": f"{len(task.get('approvals') or [])}/{task.get('quorum') or 1}",
        "due": str(task.get("due_at") or "")[:16].replace("T", " "),
        "created": str(task.get("created_at") or "")[:16].replace("T", " "),
    }


def linked_task(wanted: str, open_ids: list[str]) -> tuple[str, bool]:
    """The card to show for `?task=<wanted>`, and whether the link names no open task of
    this person's (decided meanwhile, or someone else's): ("", True) then."""
    if not wanted:
        return "", False
    return (wanted, False) if wanted in open_ids else ("", True)


def element_id(task_id: str) -> str:
    """The card's element id (`task-<id>`)."""
    return f"task-{task_id}"


def scroll_script(task_id: str) -> str:
    """Bring the card into view once it is drawn: the list arrives with the same update as
    this script, so it looks for the card a few times (for up to two seconds)."""
    target = json.dumps(element_id(task_id))
    return (
        "(function find(tries){const card=document.getElementById(" + target + ");"
        "if(card){card.scrollIntoView({block:'center'});}"
        "else if(tries>0){setTimeout(function(){find(tries-1);},100);}})(20)"
    )
