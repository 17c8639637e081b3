"""Pure helpers of the editor's working copy: history, copy and paste, palette search.

Like `flowdoc`, nothing here talks to the runtime or to Reflex; the state calls these
and keeps what they answer.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from studio.flowdoc import edge_id, find_node, new_node_id, position

Document = dict[str, Any]

HISTORY_LIMIT = 50  # undo steps kept per editor tab
PASTE_OFFSET = 40  # a pasted node lands this far right of and below its original


def pushed(stack: Sequence[Document], document: Document, limit: int = HISTORY_LIMIT) -> list[Document]:
    """`stack` with `document` on top, the oldest entries dropped beyond `limit`."""
    return [*stack[-(limit - 1) :], document] if limit > 1 else [document]


def copy_nodes(document: Mapping[str, Any], ids: Iterable[str]) -> Document:
    """The nodes `ids` with their positions and the edges among them: what paste inserts."""
    wanted = [node_id for node_id in dict.fromkeys(ids) if find_node(document, node_id) is not None]
    chosen = set(wanted)
    ids_in_order = [str(node.get("id")) for node in document.get("nodes", [])]
    order = {node_id: index for index, node_id in enumerate(ids_in_order)}
    return {
        "nodes": [copy.deepcopy(find_node(document, node_id)) for node_id in wanted],
        "edges": [
            dict(edge)
            for edge in document.get("edges", [])
            if edge.get("from") in chosen and edge.get("to") in chosen
        ],
        "layout": {node_id: position(document, node_id, order.get(node_id, 0)) for node_id in wanted},
    }


def _renamed_references(value: Any, renames: Mapping[str, str]) -> Any:
    """`{{ old.field }}` -> `{{ new.field }}` inside strings, for the pasted nodes only."""
    if isinstance(value, str) and renames:
        pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, renames)) + r")(?=\.)")
        return pattern.sub(lambda match: renames[match.group(1)], value)
    if isinstance(value, list):
        return [_renamed_references(item, renames) for item in value]
    if isinstance(value, dict):
        return {key: _renamed_references(item, renames) for key, item in value.items()}
    return value


def paste_nodes(
    document: Mapping[str, Any], clipboard: Mapping[str, Any], times: int = 1
) -> tuple[Document, list[str]]:
    """The document with the clipboard's nodes added under new ids (offset by `times`
    steps), the edges among them kept, and references between them renamed; and the new ids."""
    result = copy.deepcopy(dict(document))
    nodes = result.setdefault("nodes", [])
    layout = result.setdefault("layout", {})
    renames: dict[str, str] = {}
    for node in clipboard.get("nodes", []):
        new_id = new_node_id(result, str(node.get("type") or "node"))
        renames[str(node.get("id"))] = new_id
        nodes.append({**copy.deepcopy(node), "id": new_id})
    offset = PASTE_OFFSET * max(1, times)
    for old_id, new_id in renames.items():
        origin = (clipboard.get("layout") or {}).get(old_id) or {"x": 80, "y": 160}
        layout[new_id] = {"x": round(float(origin["x"]) + offset), "y": round(float(origin["y"]) + offset)}
    for node in nodes:
        if node["id"] in renames.values():
            node["config"] = _renamed_references(node.get("config") or {}, renames)
    edges = result.setdefault("edges", [])
    for edge in clipboard.get("edges", []):
        source, target = renames.get(str(edge.get("from"))), renames.get(str(edge.get("to")))
        if source and target:
            edges.append({**edge, "from": source, "to": target})
    return result, list(renames.values())


def still_there(document: Mapping[str, Any], node: str, edge: str) -> tuple[str, str]:
    """The selection without what the document no longer has (a deleted node, an undone edge)."""
    if node and find_node(document, node) is None:
        node = ""
    edges = {edge_id(str(item.get("from")), str(item.get("to"))) for item in document.get("edges", [])}
    if edge and edge not in edges:
        edge = ""
    return node, edge


def _folded(text: str) -> str:
    return text.casefold().replace("ß", "ss")


def palette_matches(entry: Mapping[str, Any], query: str) -> bool:
    """Whether every word of `query` occurs in the entry's `search` text (any language)."""
    words = _folded(query).split()
    haystack = _folded(str(entry.get("search") or ""))
    return all(word in haystack for word in words)
