"""Pure edits of a flow input's spec from the editor's inputs panel (all form values are text).

    spec_form(spec)                        the spec as the panel's fields show it
    edit_input_spec(spec, field, text)     the spec with one field set from what was typed

Fields: `title`, `description`, `type`, `enum` (one choice per line), `default`. Empty
text removes an optional field, so an input nobody described stays as it was (and its
document keeps its content hash). Values that do not parse stay as typed: the runtime's
validation then names the field (`inputs.<name>.enum`), which the panel shows.
"""

from __future__ import annotations

import json
from typing import Any

TYPES = ("string", "number", "integer", "boolean", "object", "array")
ENUM_TYPES = ("string", "number", "integer")


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def spec_form(spec: dict[str, Any]) -> dict[str, str]:
    return {
        "type": str(spec.get("type") or "string"),
        "title": str(spec.get("title") or ""),
        "description": str(spec.get("description") or ""),
        "enum": "\n".join(_shown(choice) for choice in spec.get("enum") or []),
        "default": _shown(spec.get("default")),
    }


def typed_value(type_name: str, text: str) -> Any:
    """`text` as a value of the input type, or the text itself when it does not parse."""
    text = text.strip()
    try:
        if type_name == "integer":
            return int(text)
        if type_name == "number":
            number = float(text.replace(",", "."))
            return int(number) if number.is_integer() else number
        if type_name == "boolean":
            lowered = text.lower()
            if lowered in ("true", "ja", "yes", "1"):
                return True
            if lowered in ("false", "nein", "no", "0"):
                return False
            return text
        if type_name in ("object", "array"):
            return json.loads(text)
    except ValueError:
        return text
    return text


def edit_input_spec(spec: dict[str, Any], field: str, text: str) -> dict[str, Any]:
    """A new spec with `field` set from `text` (see the module docstring)."""
    edited = dict(spec)
    type_name = str(edited.get("type") or "string")
    if field in ("title", "description"):
        if text.strip():
            edited[field] = text.strip()
        elif field == "title":
            edited.pop("title", None)
        else:
            edited["description"] = ""
    elif field == "type":
        if text not in TYPES or text == type_name:
            return edited
        edited["type"] = text
        # Choices and a default of the old type would not fit the new one.
        if text not in ENUM_TYPES:
            edited.pop("enum", None)
        else:
            choices = [typed_value(text, _shown(choice)) for choice in edited.get("enum") or []]
            if choices:
                edited["enum"] = choices
        if "default" in edited and edited["default"] is not None:
            edited["default"] = typed_value(text, _shown(edited["default"]))
    elif field == "enum":
        choices = [line.strip() for line in text.splitlines() if line.strip()]
        if choices:
            edited["enum"] = [typed_value(type_name, choice) for choice in choices]
        else:
            edited.pop("enum", None)
    elif field == "default":
        if text.strip():
            edited["default"] = typed_value(type_name, text)
        else:
            edited.pop("default", None)
    return edited
