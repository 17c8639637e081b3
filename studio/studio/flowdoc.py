"""Pure functions on a flow document (`dirigent.flow/v1`) for the editor.

No Reflex and no HTTP here: the editor's state calls these to change the document it
holds and to shape it for the canvas and the forms, so they can be tested alone.

    add_node / connect / remove / move      edits that return a new document
    canvas_nodes / canvas_edges             the document in React Flow's shape
    form_fields / parse_value               a node's config form from its JSON schema
    upstream_variables                      the `{{ ... }}` references a node may use
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

Document = dict[str, Any]

# Positions of a node that was added without one (e.g. from a template without layout).
GRID_X, GRID_Y = 260, 130
# Edges leaving these types carry a `when`; the values a person may choose from.
BRANCHES = {"approval": ["approved", "rejected", "timeout"]}


class EditRefused(ValueError):
    """An edit that would break the document; `key` names its message (`studio/locales`)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _copy(document: Mapping[str, Any]) -> Document:
    return copy.deepcopy(dict(document))


def node_ids(document: Mapping[str, Any]) -> list[str]:
    return [str(node.get("id")) for node in document.get("nodes", [])]


def find_node(document: Mapping[str, Any], node_id: str) -> dict[str, Any] | None:
    return next((node for node in document.get("nodes", []) if node.get("id") == node_id), None)


def edge_id(source: str, target: str) -> str:
    return f"{source}->{target}"


def new_node_id(document: Mapping[str, Any], node_type: str) -> str:
    """`llm_1`, `llm_2`, ...: the first free id for a node of `node_type`."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", node_type) or "node"
    if not re.match(r"[A-Za-z_]", base):
        base = f"n_{base}"
    taken = set(node_ids(document))
    number = 1
    while f"{base}_{number}" in taken:
        number += 1
    return f"{base}_{number}"


def default_config(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Only what the schema gives a default for among the required fields.

    Required fields without a default stay missing, so validation names them on the new
    node and its form ("Field required") and the champion sees what to fill in.
    """
    properties = schema.get("properties", {})
    return {
        name: properties[name]["default"]
        for name in schema.get("required", [])
        if "default" in properties.get(name, {})
    }


def add_node(
    document: Mapping[str, Any], node_type: str, x: float, y: float, schema: Mapping[str, Any] | None = None
) -> tuple[Document, str]:
    result = _copy(document)
    node_id = new_node_id(result, node_type)
    result.setdefault("nodes", []).append(
        {"id": node_id, "type": node_type, "title": "", "config": default_config(schema or {})}
    )
    result.setdefault("layout", {})[node_id] = {"x": round(x), "y": round(y)}
    return result, node_id


def connect(document: Mapping[str, Any], source: str, target: str) -> Document:
    if source == target:
        raise EditRefused("edge_self")
    if any(edge.get("from") == source and edge.get("to") == target for edge in document.get("edges", [])):
        raise EditRefused("edge_exists")
    result = _copy(document)
    result.setdefault("edges", []).append({"from": source, "to": target})
    return result


def set_edge_when(document: Mapping[str, Any], source: str, target: str, when: str) -> Document:
    result = _copy(document)
    for edge in result.get("edges", []):
        if edge.get("from") == source and edge.get("to") == target:
            edge["when"] = when or None
    return result


def remove(
    document: Mapping[str, Any], nodes: Iterable[str] = (), edges: Iterable[tuple[str, str]] = ()
) -> Document:
    """Without the given nodes (and every edge touching them) and edges."""
    gone_nodes = set(nodes)
    gone_edges = set(edges)
    result = _copy(document)
    result["nodes"] = [node for node in result.get("nodes", []) if node.get("id") not in gone_nodes]
    result["edges"] = [
        edge
        for edge in result.get("edges", [])
        if edge.get("from") not in gone_nodes
        and edge.get("to") not in gone_nodes
        and (edge.get("from"), edge.get("to")) not in gone_edges
    ]
    layout = result.get("layout", {})
    for node_id in gone_nodes:
        layout.pop(node_id, None)
    return result


def move(document: Mapping[str, Any], moved: Iterable[Mapping[str, Any]]) -> Document:
    result = _copy(document)
    layout = result.setdefault("layout", {})
    known = set(node_ids(result))
    for item in moved:
        node_id = str(item.get("id", ""))
        if node_id in known:
            layout[node_id] = {"x": round(float(item.get("x", 0))), "y": round(float(item.get("y", 0)))}
    return result


def position(document: Mapping[str, Any], node_id: str, index: int) -> dict[str, float]:
    found = (document.get("layout") or {}).get(node_id)
    if isinstance(found, Mapping) and "x" in found and "y" in found:
        return {"x": float(found["x"]), "y": float(found["y"])}
    return {"x": 80.0 + GRID_X * index, "y": 160.0 + (GRID_Y if index % 2 else 0)}


def errors_by_node(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Validation errors per node id, each as "field: message" (field without `config.`)."""
    found: dict[str, list[str]] = {}
    for error in errors:
        node = error.get("node")
        if not node:
            continue
        field = str(error.get("field") or "").removeprefix("config.")
        message = str(error.get("message") or "")
        found.setdefault(str(node), []).append(f"{field}: {message}" if field else message)
    return found


def field_errors(errors: Iterable[Mapping[str, Any]], node_id: str) -> dict[str, str]:
    """`{config field: message}` of one node's validation errors."""
    found: dict[str, str] = {}
    for error in errors:
        field = str(error.get("field") or "")
        if error.get("node") == node_id and field.startswith("config."):
            name = field.removeprefix("config.").split(".", 1)[0]
            found.setdefault(name, str(error.get("message") or ""))
    return found


def canvas_nodes(
    document: Mapping[str, Any],
    types: Mapping[str, Mapping[str, Any]],
    errors: Mapping[str, list[str]],
    steps: Mapping[str, Mapping[str, Any]],
    type_titles: Mapping[str, str],
    status_labels: Mapping[str, str],
    tokens_label: str = "tokens",
) -> list[dict[str, Any]]:
    """The document's nodes as React Flow nodes (`type: "dirigent"`) with what to show on them."""
    result = []
    for index, node in enumerate(document.get("nodes", [])):
        node_id = str(node.get("id"))
        node_type = str(node.get("type"))
        described = types.get(node_type, {})
        step = steps.get(node_id, {})
        node_errors = list(errors.get(node_id, []))
        if step.get("error"):
            node_errors.insert(0, str(step["error"]))
        status = str(step.get("status", ""))
        result.append(
            {
                "id": node_id,
                "type": "dirigent",
                "position": position(document, node_id, index),
                "data": {
                    "label": node.get("title") or node_id,
                    "type": node_type,
                    "typeTitle": type_titles.get(node_type) or described.get("title") or node_type,
                    "category": described.get("category", "flow"),
                    "hasInput": node_type != "input",
                    "hasOutput": node_type != "output",
                    "errors": node_errors,
                    "status": status,
                    "statusLabel": status_labels.get(status, status),
                    "durationMs": step.get("duration_ms", ""),
                    "tokens": step.get("tokens", 0),
                    "tokensLabel": tokens_label,
                    "text": step.get("text", ""),
                },
            }
        )
    return result


def canvas_edges(document: Mapping[str, Any], steps: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    result = []
    for edge in document.get("edges", []):
        source, target = str(edge.get("from")), str(edge.get("to"))
        when = edge.get("when") or ""
        active = steps.get(source, {}).get("status") == "succeeded" and target in steps
        result.append(
            {
                "id": edge_id(source, target),
                "source": source,
                "target": target,
                "label": when,
                "animated": bool(active and steps.get(target, {}).get("status") == "running"),
                "style": {"strokeWidth": 2} if active else {},
            }
        )
    return result


# -- forms from JSON schema -------------------------------------------------------------------
def _kind(spec: Mapping[str, Any], name: str, choices: Mapping[str, list[str]]) -> str:
    options = spec.get("anyOf") or []
    types = {spec.get("type")} | {option.get("type") for option in options if isinstance(option, Mapping)}
    types.discard(None)
    types.discard("null")
    if name in choices:
        return "select"
    if "enum" in spec:
        return "select"
    if spec.get("format") == "template":
        return "template"
    if types == {"boolean"}:
        return "boolean"
    if types == {"integer"}:
        return "integer"
    if types == {"number"} or types == {"number", "integer"}:
        return "number"
    if "array" in types and all(
        (option.get("items") or {}).get("type") == "string"
        for option in [spec, *options]
        if isinstance(option, Mapping) and option.get("type") == "array"
    ):
        return "list"
    if "object" in types or "array" in types:
        return "json"
    return "text"


def _as_text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "list":
        return "\n".join(str(item) for item in value) if isinstance(value, list) else str(value)
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, indent=2)
    if kind == "boolean":
        return "true" if value else "false"
    return str(value)


def form_fields(
    schema: Mapping[str, Any],
    config: Mapping[str, Any],
    errors: Mapping[str, str],
    choices: Mapping[str, list[str]],
) -> list[dict[str, str]]:
    """One entry per config field: name, title, description, kind, value (text), error, required.

    `kind` is one of text, template, number, integer, boolean, select, list, json; `choices`
    offers values for fields by name (`model`: model endpoints, `index`: knowledge indexes).
    """
    required = set(schema.get("required", []))
    fields = []
    for name, spec in (schema.get("properties") or {}).items():
        if name == "timeout_s":  # an operator's knob; the runtime's default fits
            continue
        kind = _kind(spec, name, choices)
        value = config.get(name, spec.get("default"))
        fields.append(
            {
                "name": name,
                "title": str(spec.get("title") or name),
                "description": str(spec.get("description") or ""),
                "kind": kind,
                "value": _as_text(value, kind),
                "error": errors.get(name, ""),
                "required": "true" if name in required else "",
                "placeholder": _as_text(spec.get("default"), kind) if "default" in spec else "",
            }
        )
    return fields


def field_choices(schema: Mapping[str, Any], offered: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Choices per field: `enum` values, or what `offered` has for the field's name."""
    choices: dict[str, list[str]] = {}
    for name, spec in (schema.get("properties") or {}).items():
        if "enum" in spec:
            choices[name] = [str(item) for item in spec["enum"]]
        elif offered.get(name):
            current = [str(item) for item in offered[name]]
            choices[name] = current
    return choices


def parse_value(kind: str, raw: str) -> Any:
    """Text from a form field back to the config value (raises ValueError with the reason)."""
    text = raw if isinstance(raw, str) else str(raw)
    if kind in ("text", "template", "select"):
        return text
    if kind == "boolean":
        return text.lower() in ("true", "1", "yes", "on")
    if kind == "integer":
        return int(text.strip()) if text.strip() else None
    if kind == "number":
        return float(text.strip().replace(",", ".")) if text.strip() else None
    if kind == "list":
        return [line.strip() for line in re.split(r"[\n,]", text) if line.strip()]
    if kind == "json":
        return json.loads(text) if text.strip() else None
    return text


def set_config(document: Mapping[str, Any], node_id: str, name: str, value: Any) -> Document:
    result = _copy(document)
    node = find_node(result, node_id)
    if node is not None:
        config = node.setdefault("config", {})
        if value is None or (value == "" and name not in ("template", "prompt", "query")):
            config.pop(name, None)
        else:
            config[name] = value
    return result


def set_title(document: Mapping[str, Any], node_id: str, title: str) -> Document:
    result = _copy(document)
    node = find_node(result, node_id)
    if node is not None:
        node["title"] = title.strip()
    return result


def upstream_variables(
    document: Mapping[str, Any], node_id: str, types: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """`inputs.x` for every flow input and `node.field` for each output of every upstream node."""
    parents: dict[str, set[str]] = {}
    for edge in document.get("edges", []):
        parents.setdefault(str(edge.get("to")), set()).add(str(edge.get("from")))
    upstream: list[str] = []
    stack = list(parents.get(node_id, ()))
    while stack:
        current = stack.pop()
        if current in upstream or current == node_id:
            continue
        upstream.append(current)
        stack.extend(parents.get(current, ()))
    found = [f"inputs.{name}" for name in (document.get("inputs") or {})]
    for other in sorted(upstream):
        node = find_node(document, other)
        if node is None:
            continue
        for output in types.get(str(node.get("type")), {}).get("outputs", []):
            found.append(f"{other}.{output}")
    return found


def all_variables(document: Mapping[str, Any], types: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every reference an output template may use: inputs and every node's outputs."""
    found = [f"inputs.{name}" for name in (document.get("inputs") or {})]
    for node in document.get("nodes", []):
        for output in types.get(str(node.get("type")), {}).get("outputs", []):
            found.append(f"{node.get('id')}.{output}")
    return found


def edge_branches(document: Mapping[str, Any], source: str) -> list[str]:
    """The `when` values an edge leaving `source` can carry ([] = a plain edge)."""
    node = find_node(document, source)
    if node is None:
        return []
    node_type = str(node.get("type"))
    if node_type in BRANCHES:
        return BRANCHES[node_type]
    if node_type == "router":
        config = node.get("config") or {}
        branches = list(config.get("classes") or config.get("branches") or ["true", "false"])
        return [*branches, "review"] if config.get("classes") else branches
    return []
