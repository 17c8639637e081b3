"""The models page's pure parts (tested without a browser): rows for the list, the form
back to a request body, the test button's answer in words.

The API key is write-only: the list says whether one is stored, never what it is. Editing
an endpoint with a stored key offers keep (the default: the key is left out of the
request), replace (a new key is required) or remove (`api_key: null`).
"""

from __future__ import annotations

import re
from typing import Any

from studio.i18n import probe_failure_text, translate

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
KEY_CHOICES = ("keep", "replace", "remove")


def _short_time(stamp: Any) -> str:
    """`2026-03-02T09:15:02.123+00:00` as `2026-03-02 09:15` (UTC, as stored)."""
    text = str(stamp or "")
    return text[:16].replace("T", " ") if text else ""


def endpoint_row(item: dict[str, Any], lang: str) -> dict[str, str]:
    """One endpoint as the page's list shows it (every value text, for `rx.foreach`)."""
    last = item.get("last_test") or None
    if last:
        tested = probe_result_text(last, lang)
        state = "ok" if last.get("ok") else "failed"
        when = _short_time(last.get("at"))
    else:
        tested, state, when = translate("model_never_tested", lang), "none", ""
    return {
        "name": str(item.get("name") or ""),
        "base_url": str(item.get("base_url") or ""),
        "model": str(item.get("model") or ""),
        "source": str(item.get("source") or "admin"),
        "has_key": "true" if item.get("has_api_key") else "false",
        "created_by": translate("model_created_by", lang, name=item["created_by"])
        if item.get("created_by")
        else "",
        "last_test": tested,
        "last_test_state": state,
        "last_test_at": when,
    }


def probe_result_text(result: dict[str, Any], lang: str) -> str:
    """The test button's answer: "Antwortet (87 ms)", or why it failed, in words."""
    if result.get("ok"):
        latency = result.get("latency_ms")
        shown = f"{float(latency):.0f}" if isinstance(latency, int | float) else "?"
        return translate("model_test_ok", lang, latency=shown)
    reason = probe_failure_text(str(result.get("error") or "bad_response"), lang)
    return translate("model_test_failed", lang, reason=reason)


def request_from_form(
    form: dict[str, Any], *, editing: bool, has_key: bool, key_choice: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The request body from the form, and problems by field (text keys to translate).

    Creating: name, base_url, model and the key when one was typed. Editing: base_url and
    model (the name is the endpoint's key and stays), and the key as `key_choice` says.
    """
    problems: dict[str, str] = {}
    name = str(form.get("name") or "").strip()
    base_url = str(form.get("base_url") or "").strip()
    model = str(form.get("model") or "").strip()
    api_key = str(form.get("api_key") or "").strip()
    if not editing:
        if not name:
            problems["name"] = "model_name_missing"
        elif not NAME.match(name):
            problems["name"] = "model_name_invalid"
    if not base_url:
        problems["base_url"] = "model_url_missing"
    if not model:
        problems["model"] = "model_id_missing"
    body: dict[str, Any] = {"base_url": base_url, "model": model}
    if not editing:
        body = {"name": name, **body}
    if editing and has_key:
        if key_choice == "replace":
            if api_key:
                body["api_key"] = api_key
            else:
                problems["api_key"] = "model_key_missing"
        elif key_choice == "remove":
            body["api_key"] = None
    elif api_key:  # nothing stored yet: a typed key is set, an empty field sets none
        body["api_key"] = api_key
    return body, problems
