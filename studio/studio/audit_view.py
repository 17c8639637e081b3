"""The audit trail as the audit page shows it: filters as query parameters, entries as
rows with their action in words, and the chain verification as a sentence (pure)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from studio.i18n import has_text, translate

PAGE_SIZE = 50
# Every action the runtime writes; each has a label `audit_action_<action, dots as _>`.
ACTIONS = (
    "auth.login",
    "auth.login_failed",
    "auth.login_locked",
    "auth.logout",
    "connection.called",
    "connection.created",
    "connection.deleted",
    "connection.tested",
    "connection.updated",
    "flow.created",
    "knowledge.document.deleted",
    "knowledge.document.indexed",
    "knowledge.document.replaced",
    "knowledge.index.created",
    "knowledge.index.deleted",
    "knowledge.job.finished",
    "knowledge.upload",
    "model_endpoint.registered",
    "model_endpoint.removed",
    "policy.denied",
    "run.cancelled",
    "run.feedback",
    "run.finished",
    "run.started",
    "run.test_case_created",
    "run.viewed",
    "run.waiting",
    "task.created",
    "task.decided",
    "task.expired",
    "trigger.created",
    "trigger.deleted",
    "trigger.fired",
    "trigger.updated",
    "user.created",
    "user.password_changed",
    "user.password_reset",
    "user.removed",
    "user.role_granted",
    "user.role_removed",
    "version.approved",
    "version.created",
    "version.published",
    "version.rejected",
    "version.retired",
    "version.submitted",
    "version.tested",
    "workspace.created",
)
RESOURCE_TYPES = (
    "approval_task",
    "connection",
    "flow",
    "flow_version",
    "knowledge_document",
    "knowledge_index",
    "model_endpoint",
    "request",
    "run",
    "trigger",
    "user",
    "workspace",
)


def action_label(action: str, lang: str) -> str:
    key = "audit_action_" + action.replace(".", "_")
    return translate(key, lang) if has_text(key) else action


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def query_params(filters: dict[str, str]) -> dict[str, str]:
    """The page's filters as the runtime's parameters; `until` is a day the person includes."""
    params = {
        key: filters.get(key, "").strip()
        for key in ("action", "who", "resource_type", "resource_id")
        if filters.get(key, "").strip()
    }
    since, until = _day(filters.get("since", "")), _day(filters.get("until", ""))
    if since:
        params["since"] = since.isoformat()
    if until:
        params["until"] = (until + timedelta(days=1)).isoformat()
    return params


def entry_row(entry: dict[str, Any], lang: str) -> dict[str, str]:
    detail = entry.get("detail") or {}
    action = str(entry.get("action") or "")
    return {
        "seq": str(entry.get("seq") or ""),
        "at": str(entry.get("at") or "")[:19].replace("T", " "),
        "actor": str(entry.get("actor") or "\u2013"),
        "action": action,
        "action_text": action_label(action, lang),
        "resource_type": str(entry.get("resource_type") or ""),
        "resource_id": str(entry.get("resource_id") or ""),
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else "",
        "detail_pretty": json.dumps(detail, ensure_ascii=False, sort_keys=True, indent=2) if detail else "",
        "hash": str(entry.get("entry_hash") or "")[:16],
    }


def verify_text(result: dict[str, Any], lang: str) -> tuple[bool, str, str]:
    """(intact?, the headline, the runtime's detail of the problem)."""
    if result.get("ok"):
        return True, translate("audit_chain_ok", lang, entries=result.get("entries") or 0), ""
    first_bad = result.get("first_bad_seq")
    if first_bad:
        headline = translate("audit_chain_broken_at", lang, seq=first_bad, entries=result.get("entries") or 0)
    else:
        headline = translate("audit_chain_broken", lang)
    anchor_problems = (result.get("anchors") or {}).get("problems") or []
    return False, headline, str(result.get("problem") or "; ".join(anchor_problems))


def anchor_text(result: dict[str, Any], lang: str) -> str:
    """How the chain stands against its anchors (the signed heads kept outside the database)."""
    anchors = result.get("anchors") or {}
    if anchors.get("problems"):
        return translate("audit_anchor_broken", lang, count=len(anchors["problems"]))
    if not anchors.get("anchors"):
        return translate("audit_anchor_none", lang)
    return translate(
        "audit_anchor_ok",
        lang,
        seq=anchors.get("last_anchored_seq") or 0,
        at=str(anchors.get("last_anchored_at") or "")[:16].replace("T", " "),
        unanchored=anchors.get("unanchored_entries") or 0,
    )
