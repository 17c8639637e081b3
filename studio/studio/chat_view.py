"""What the chat shows, as pure functions (tested without a browser).

outputs_markdown   a run's declared outputs as Markdown, by type: text as it is,
                   objects as a list of „label: value“, lists of records as a table,
                   never JSON. The chat renders it with `safe_markdown` (no raw HTML,
                   no remote images).
source_groups      the passages the run's knowledge searches used, grouped by document
input_fields       the assistant's declared inputs as form fields (title, hint,
                   required, widget by type, default) and `parse_inputs` back
run_error_text     why a run failed, in the reader's language where its code is known
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from studio.i18n import describe_step_error

# The output shown on its own, first, when a flow declares several.
MAIN_OUTPUTS = ("answer", "result", "text")
MAX_DEPTH = 4
EMPTY = "\u2013"  # an en dash: no value
YES, NO = "\u2713", "\u2717"  # check mark and ballot x: the same in every language


def _inline(value: Any) -> str:
    """A scalar as one line of Markdown text."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text.replace("\n", " ") if text else EMPTY


def _scalar_or_cell(value: Any) -> str:
    return _cell(value) if isinstance(value, dict | list) else _inline(value)


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return ", ".join(_inline(item) for item in (value.values() if isinstance(value, dict) else value))
    return _inline(value).replace("|", "\\|")


def _is_table(items: list[Any]) -> bool:
    """A list of records with plain values and the same fields: a table reads best."""
    if len(items) < 2 or not all(isinstance(item, dict) and item for item in items):
        return False
    keys = list(items[0])
    flat = all(not isinstance(value, dict | list) for item in items for value in item.values())
    return flat and all(list(item) == keys for item in items) and len(keys) <= 8


def _table(items: list[dict[str, Any]]) -> str:
    keys = list(items[0])
    lines = ["| " + " | ".join(_cell(key) for key in keys) + " |", "|" + " --- |" * len(keys)]
    lines += ["| " + " | ".join(_cell(item[key]) for key in keys) + " |" for item in items]
    return "\n".join(lines)


def _label(key: str) -> str:
    return key.replace("_", " ").strip()[:1].upper() + key.replace("_", " ").strip()[1:]


def _block(value: Any, depth: int = 0) -> str:
    """Any JSON value as Markdown (a list item's content when `depth` > 0)."""
    indent = "  " * depth
    if isinstance(value, dict):
        if not value:
            return f"{indent}- {EMPTY}"
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item and depth < MAX_DEPTH:
                lines.append(f"{indent}- **{_label(str(key))}:**")
                lines.append(_block(item, depth + 1))
            else:
                lines.append(f"{indent}- **{_label(str(key))}:** {_scalar_or_cell(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        if not value:
            return f"{indent}- {EMPTY}"
        if depth == 0 and _is_table(value):
            return _table(value)
        lines = []
        for number, item in enumerate(value, start=1):
            if isinstance(item, dict) and item and all(not isinstance(v, dict | list) for v in item.values()):
                # A flat record on one line: „Name: Kunz · Betrag: 120“.
                fields = " · ".join(f"**{_label(str(k))}:** {_inline(v)}" for k, v in item.items())
                lines.append(f"{indent}- {fields}")
            elif isinstance(item, dict | list) and item and depth < MAX_DEPTH:
                lines.append(f"{indent}- {number}.")
                lines.append(_block(item, depth + 1))
            else:
                lines.append(f"{indent}- {_scalar_or_cell(item)}")
        return "\n".join(lines)
    return indent + _inline(value)


def value_markdown(value: Any) -> str:
    """One output value: text stays text (it may be Markdown), anything else a list or table."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict | list):
        return _block(value)
    return _inline(value)


def outputs_markdown(outputs: Any) -> str:
    """A run's outputs as the chat shows them.

    One output: its value. Several: the main text output (`answer`, `result`, `text`) first,
    then the others as „label: value“, each by its type."""
    if not isinstance(outputs, dict):
        return "" if outputs is None else value_markdown(outputs)
    if len(outputs) == 1:
        return value_markdown(next(iter(outputs.values())))
    main = next((name for name in MAIN_OUTPUTS if isinstance(outputs.get(name), str)), None)
    parts = [value_markdown(outputs[main])] if main else []
    rest = {key: value for key, value in outputs.items() if key != main}
    lines = []
    for key, value in rest.items():
        if isinstance(value, str) and ("\n" in value.strip() or len(value) > 120):
            parts.append(f"**{_label(key)}**\n\n{value}")
        elif isinstance(value, dict | list) and value:
            parts.append(f"**{_label(key)}**\n\n{_block(value)}")
        else:
            lines.append(f"- **{_label(key)}:** {_inline(value)}")
    if lines:
        parts.append("\n".join(lines))
    return "\n\n".join(part for part in parts if part.strip())


# -- sources --------------------------------------------------------------------------------
@dataclass
class SourcePassage:
    chunk_id: str = ""
    where: str = ""  # "S. 3 · Reisekosten" / "page 3 · travel"
    text: str = ""
    score: str = ""


@dataclass
class SourceGroup:
    document_id: str = ""
    source: str = ""
    count: str = ""  # "1 Textstelle" / "2 Textstellen"
    passages: list[SourcePassage] = field(default_factory=list)


PREVIEW_CHARS = 280


def _where(passage: dict[str, Any], page_word: str) -> str:
    parts = []
    if passage.get("page") not in (None, ""):
        parts.append(f"{page_word} {passage['page']}")
    if passage.get("section"):
        parts.append(str(passage["section"]))
    return " · ".join(parts)


# Node types whose outputs carry passages, and the output that holds them.
SOURCE_OUTPUTS = {"retrieval": "documents", "agent": "sources"}


def source_groups(
    run: dict[str, Any], page_word: str = "S.", counts: tuple[str, str] = ("Textstelle", "Textstellen")
) -> list[SourceGroup]:
    """The passages of the run's retrieval steps (and those its agents' knowledge tools
    found: their `sources`), one group per document, in the order the documents were first
    found; a passage found twice is listed once (best score kept).
    `counts`: the words for one passage and for several."""
    groups: dict[str, SourceGroup] = {}
    seen: dict[str, SourcePassage] = {}
    for step in run.get("steps") or []:
        found = SOURCE_OUTPUTS.get(str(step.get("node_type")))
        if found is None:
            continue
        for passage in (step.get("outputs") or {}).get(found) or []:
            key = str(passage.get("document_id") or passage.get("source") or "")
            chunk = str(passage.get("chunk_id") or "")
            score = f"{float(passage.get('score') or 0):.2f}"
            if chunk and chunk in seen:
                seen[chunk].score = max(seen[chunk].score, score)
                continue
            group = groups.setdefault(
                key,
                SourceGroup(
                    document_id=str(passage.get("document_id") or ""), source=str(passage.get("source") or "")
                ),
            )
            text = " ".join(str(passage.get("text") or "").split())
            item = SourcePassage(
                chunk_id=chunk,
                where=_where(passage, page_word),
                text=text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1].rstrip() + "…",
                score=score,
            )
            group.passages.append(item)
            if chunk:
                seen[chunk] = item
    for group in groups.values():
        group.count = f"{len(group.passages)} {counts[0] if len(group.passages) == 1 else counts[1]}"
    return list(groups.values())


# -- inputs ---------------------------------------------------------------------------------
@dataclass
class InputField:
    """One declared input as the chat's form shows it (everything text, for the page)."""

    name: str = ""
    label: str = ""
    hint: str = ""
    required: bool = False
    widget: str = "text"  # text | number | switch | select | json
    choices: list[str] = field(default_factory=list)
    default: str = ""


def main_input(inputs: dict[str, Any]) -> str:
    """The input that takes the chat message: the first required text input without
    choices, else the first text input without choices, else "" (a form only)."""
    texts = [
        name
        for name, spec in inputs.items()
        if (spec or {}).get("type", "string") == "string" and not (spec or {}).get("enum")
    ]
    for name in texts:
        if (inputs[name] or {}).get("required"):
            return name
    return texts[0] if texts else ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def input_fields(inputs: dict[str, Any], skip: str = "") -> list[InputField]:
    """The inputs other than `skip` (the chat message), in declared order."""
    fields = []
    for name, raw in inputs.items():
        if name == skip:
            continue
        spec = raw or {}
        kind = spec.get("type", "string")
        widget = (
            "select"
            if spec.get("enum")
            else {
                "number": "number",
                "integer": "number",
                "boolean": "switch",
                "object": "json",
                "array": "json",
            }.get(kind, "text")
        )
        fields.append(
            InputField(
                name=name,
                label=str(spec.get("title") or name),
                hint=str(spec.get("description") or ""),
                required=bool(spec.get("required")),
                widget=widget,
                choices=[_text(choice) for choice in spec.get("enum") or []],
                default=_text(spec.get("default")),
            )
        )
    return fields


class InputProblem(ValueError):
    """A value that does not fit its input; `name` says which, the message what is wrong."""

    def __init__(self, name: str, key: str) -> None:
        super().__init__(key)
        self.name = name
        self.key = key


def parse_inputs(inputs: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The form's text values in the inputs' types; empty ones are left out (the runtime
    applies defaults and says which required ones are missing). Raises `InputProblem`."""
    parsed: dict[str, Any] = {}
    for name, text in values.items():
        spec = inputs.get(name)
        if spec is None or text is None or str(text).strip() == "":
            continue
        text = str(text)
        kind = (spec or {}).get("type", "string")
        choices = (spec or {}).get("enum")
        if choices:
            match = next((choice for choice in choices if _text(choice) == text), None)
            if match is None:
                raise InputProblem(name, "input_not_a_choice")
            parsed[name] = match
        elif kind == "boolean":
            parsed[name] = text == "true"
        elif kind in ("number", "integer"):
            try:
                number = float(text.replace(",", ".").strip())
            except ValueError:
                raise InputProblem(name, "input_not_a_number") from None
            if kind == "integer":
                if not number.is_integer():
                    raise InputProblem(name, "input_not_an_integer")
                parsed[name] = int(number)
            else:
                parsed[name] = int(number) if number.is_integer() else number
        elif kind in ("object", "array"):
            try:
                value = json.loads(text)
            except ValueError:
                raise InputProblem(name, "input_not_json") from None
            if not isinstance(value, dict if kind == "object" else list):
                raise InputProblem(name, "input_not_json")
            parsed[name] = value
        else:
            parsed[name] = text
    return parsed


# -- errors ---------------------------------------------------------------------------------
def run_error_text(run: dict[str, Any], lang: str) -> str:
    """Why the run failed: a known code (e.g. `no_model_endpoint`) in the reader's language,
    else the runtime's words."""
    error = run.get("error")
    return describe_step_error(error, lang) if isinstance(error, dict) else ""
