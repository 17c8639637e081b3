"""An agent's tools in the node form, as cards (pure, tested without a browser).

The node form is generated from the node type's JSON schema (`flowdoc.form_fields`); a list
of tools of different kinds would be a JSON text there. Here each tool is a card with its
kind (connection / knowledge), name, description and the kind's fields:

    connection   a connection of the workspace, the method, the path with {placeholders},
                 the parameters as a JSON schema, and when its calls wait for a person
    knowledge    an index of the workspace and how many passages (top_k)

Each card is keyed by a stable id, never by its position: `ToolIds` keeps one id per tool
of a node together with the tools' names when the ids were given, and gives new ids when
the document's tools are no longer those (an undo, a reload, another tab), so an edit can
never land on another tool. The ids live in the studio only; the document has none.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from studio.flowdoc import Document, find_node

TOOL_KINDS = ("connection", "knowledge")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
APPROVE = ("auto", "always", "never")
# What every card shows (as text); the kind's fields are empty on the other kind.
CARD_FIELDS = (
    "kind", "name", "description", "connection", "method", "path", "parameters", "approve", "index", "top_k",
)  # fmt: skip


class ToolFormError(ValueError):
    """A tool field that cannot be read (parameters not JSON, top_k not a number)."""


def tools_of(document: Mapping[str, Any], node_id: str) -> list[dict[str, Any]]:
    node = find_node(document, node_id) or {}
    tools = (node.get("config") or {}).get("tools") or []
    return [tool if isinstance(tool, dict) else {} for tool in tools]


def tool_names(tools: list[dict[str, Any]]) -> list[str]:
    return [str(tool.get("name") or "") for tool in tools]


def current_ids(remembered: Mapping[str, Any] | None, tools: list[dict[str, Any]]) -> list[str]:
    """The ids of `tools`: the remembered ones when they were given to exactly these tools
    (same names, in the same order), else new ones. New ones are derived from the tools
    themselves, so the form and an edit made from it agree on them before they are remembered,
    and tools whose content changed underneath (an undo) get other ids: their cards are drawn anew."""
    remembered = remembered or {}
    ids = list(remembered.get("ids") or [])
    if len(ids) == len(tools) and list(remembered.get("names") or []) == tool_names(tools):
        return [str(tool_id) for tool_id in ids]
    whole = json.dumps(tools, sort_keys=True, ensure_ascii=False, default=str)
    return [hashlib.sha256(f"{number}\n{whole}".encode()).hexdigest()[:12] for number in range(len(tools))]


def remember(ids: list[str], tools: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {"ids": list(ids), "names": tool_names(tools)}


def _free_name(kind: str, taken: list[str]) -> str:
    stem = "suche" if kind == "knowledge" else "aktion"
    number = 1
    while f"{stem}_{number}" in taken:
        number += 1
    return f"{stem}_{number}"


def new_tool(kind: str, taken: list[str]) -> dict[str, Any]:
    """A tool of `kind` with a free name and the kind's defaults; the champion fills in the rest."""
    if kind not in TOOL_KINDS:
        raise ToolFormError(f"kind is one of {', '.join(TOOL_KINDS)}, not {kind!r}")
    tool: dict[str, Any] = {"kind": kind, "name": _free_name(kind, taken), "description": ""}
    if kind == "connection":
        tool.update(connection="", method="GET", path="/", parameters={"type": "object", "properties": {}})
    else:
        tool.update(index="", top_k=5)
    return tool


def _with_tools(document: Mapping[str, Any], node_id: str, tools: list[dict[str, Any]]) -> Document:
    result: Document = copy.deepcopy(dict(document))
    node = find_node(result, node_id)
    if node is not None:
        node.setdefault("config", {})["tools"] = tools
    return result


def add_tool(document: Mapping[str, Any], node_id: str, kind: str) -> Document:
    tools = copy.deepcopy(tools_of(document, node_id))
    return _with_tools(document, node_id, [*tools, new_tool(kind, tool_names(tools))])


def remove_tool(document: Mapping[str, Any], node_id: str, index: int) -> Document:
    tools = copy.deepcopy(tools_of(document, node_id))
    del tools[index]
    return _with_tools(document, node_id, tools)


def parse_tool_field(field: str, raw: str) -> Any:
    """A card's text back to the tool's value; raises `ToolFormError` with the reason."""
    text = raw if isinstance(raw, str) else str(raw)
    if field == "parameters":
        try:
            value = json.loads(text) if text.strip() else {"type": "object", "properties": {}}
        except ValueError as exc:
            raise ToolFormError(f"parameters: {exc}") from None
        if not isinstance(value, dict):
            raise ToolFormError("parameters: a JSON object (a JSON schema)")
        return value
    if field == "top_k":
        try:
            return int(text.strip())
        except ValueError:
            raise ToolFormError(f"top_k: {text!r} is not a whole number") from None
    return text.strip() if field in ("name", "connection", "index", "path") else text


def set_tool_field(document: Mapping[str, Any], node_id: str, index: int, field: str, raw: str) -> Document:
    """Tool `index` with `field` set from the card's text. A new kind starts the tool over with
    that kind's fields, keeping its name and description."""
    if field not in CARD_FIELDS:
        raise ToolFormError(f"a tool has no field {field!r}")
    tools = copy.deepcopy(tools_of(document, node_id))
    tool = tools[index]
    if field == "kind":
        if raw != tool.get("kind"):
            fresh = new_tool(raw, [])
            fresh.update(name=tool.get("name") or fresh["name"], description=tool.get("description") or "")
            tools[index] = fresh
    else:
        tool[field] = parse_tool_field(field, raw)
    return _with_tools(document, node_id, tools)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, indent=2)
    return str(value)


def tool_cards(
    tools: list[dict[str, Any]], ids: list[str], errors: Mapping[str, str]
) -> list[dict[str, str]]:
    """One card per tool: its id (`key`), every field as text, and the runtime's problems
    with it (`errors` by field path, `tools.0.name` or `tools.0.connection.path`)."""
    cards = []
    for index, (tool_id, tool) in enumerate(zip(ids, tools, strict=True)):
        prefix = f"tools.{index}"
        # pydantic names the tool's kind in the path (`tools.0.connection.path`): left out.
        kind = f"{tool.get('kind')}."
        said = [
            f"{field[len(prefix) + 1 :].removeprefix(kind) or tool.get('name') or index}: {message}"
            for field, message in errors.items()
            if field == prefix or field.startswith(prefix + ".")
        ]
        card = {field: _text(tool.get(field)) for field in CARD_FIELDS}
        card.update(key=tool_id, errors="\n".join(said))
        if not card["approve"]:
            card["approve"] = "auto"
        cards.append(card)
    return cards
