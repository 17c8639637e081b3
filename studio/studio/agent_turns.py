"""An agent step's loop as the runs page shows it, turn by turn (pure, tested without a browser).

The agent node's `steps` output lists, in order, each model turn (`kind: model`: its text,
the tools it asked for, its tokens) and each tool call (`kind: tool`: the tool, the model's
arguments, the result or the error, its status, and for a call held for a person the
decision and who made it); `kind: approval` marks a call that waited for a person. Values
are shown by type as the chat shows them (`chat_view`): arguments and results are JSON
texts, parsed first, so a person reads lists and tables, never JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from studio.chat_view import value_markdown
from studio.i18n import has_text, translate

TOOL_STATUSES = ("succeeded", "failed", "refused")
DECISIONS = ("approved", "refused", "unanswered")


@dataclass
class TurnView:
    """One entry of the loop: `kind` is model | tool | approval."""

    key: str = ""
    kind: str = ""
    heading: str = ""  # „Runde 2 · Modell“, „Runde 2 · Werkzeug note_task“
    text: str = ""  # the model's text (Markdown), or the tool's result / error
    tokens: str = ""  # „120 + 35 Tokens“
    arguments: str = ""  # the model's arguments, by type
    status: str = ""  # succeeded | failed | refused (tools)
    status_label: str = ""
    decision: str = ""  # „freigegeben von board1“, „abgelehnt“, „wartet auf Freigabe“
    is_error: bool = False


def _parsed(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "[", '"'):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _shown(value: Any) -> str:
    value = _parsed(value)
    if value in (None, "", {}, []):
        return ""
    return value if isinstance(value, str) else value_markdown(value)


def _number(count: Any, lang: str) -> str:
    text = f"{int(count or 0):,}"
    return text if lang == "en" else text.replace(",", ".")


def _decision(entry: dict[str, Any], lang: str) -> str:
    decision = str(entry.get("decision") or "")
    if decision not in DECISIONS:
        return ""
    by = ", ".join(str(person) for person in entry.get("decided_by") or [])
    said = translate(f"turn_decision_{decision}", lang)
    return translate("turn_decided_by", lang, decision=said, people=by) if by else said


def turn_view(entry: dict[str, Any], number: int, lang: str) -> TurnView:
    kind = str(entry.get("kind") or "")
    turn = entry.get("turn") or ""
    key = f"{number}-{kind}-{entry.get('call_id') or turn}"
    if kind == "model":
        usage = entry.get("usage") or {}
        return TurnView(
            key=key,
            kind="model",
            heading=translate("turn_model", lang, turn=turn),
            text=str(entry.get("text") or ""),
            tokens=translate(
                "turn_tokens",
                lang,
                prompt=_number(usage.get("prompt_tokens"), lang),
                completion=_number(usage.get("completion_tokens"), lang),
            ),
        )
    tool = str(entry.get("tool") or "")
    if kind == "approval":
        return TurnView(
            key=key,
            kind="approval",
            heading=translate("turn_tool", lang, turn=turn, tool=tool),
            decision=translate("turn_waited", lang),
        )
    status = str(entry.get("status") or "")
    result = _parsed(entry.get("result"))
    error = result.get("error") if isinstance(result, dict) and status != "succeeded" else None
    status_key = f"turn_status_{status}"
    return TurnView(
        key=key,
        kind="tool",
        heading=translate("turn_tool", lang, turn=turn, tool=tool),
        text=str(error) if error is not None else _shown(result),
        arguments=_shown(entry.get("arguments")),
        status=status,
        status_label=translate(status_key, lang) if has_text(status_key) else status,
        decision=_decision(entry, lang),
        is_error=error is not None or status in ("failed", "refused"),
    )


def turn_views(steps: list[Any], lang: str) -> list[TurnView]:
    """The loop's entries in order; anything that is not an entry is left out."""
    return [turn_view(entry, number, lang) for number, entry in enumerate(steps) if isinstance(entry, dict)]
