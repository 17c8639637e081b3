"""What changed between two flow documents, for the governance board.

`diff_documents(old, new)` compares two `dirigent.flow/v1` documents given as plain JSON
dicts (`old` may be None or empty: the first version has no live version, so everything
shows as added). Nodes are matched by id, edges by (from, to), test cases by name; `layout` is ignored, as in
the content hash. Config and card are compared field by field with dotted paths
(`config.json_schema.properties.x`); long strings (prompts, templates) also get a
unified `text_diff`. The result is JSON-serialisable and ordered by the documents
(removed items in the old document's order, everything else in the new one's).
A field that is missing on one side shows as None there. Nodes carry their `title`, and
`nodes.unchanged` lists the ids of the new document's nodes that did not change, so a
reader can colour every node of the version without comparing documents again.

`version_diff(old, new, ...)` is the same as the typed answer of
`GET /api/flows/{id}/versions/{n}/diff` (`VersionDiff`): values, never rendered text.

`diff_summary_text(diff)` renders the diff as one line for lists and notifications.

`tools` lists the agents' tools the version gains, loses or changes, each with its
side-effect class (`runtime.flows.tool_diff`).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, create_model

from runtime.flows.tool_diff import ToolsDiff, diff_tools, tools_summary_text

META_FIELDS = ("name", "description", "audience")
LONG_STRING = 80


def _is_long(value: Any) -> bool:
    return isinstance(value, str) and ("\n" in value or len(value) > LONG_STRING)


def _text_diff(old: Any, new: Any) -> list[str] | None:
    if not (_is_long(old) or _is_long(new)):
        return None
    if not all(isinstance(v, str) or v is None for v in (old, new)):
        return None
    lines = difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(), lineterm="", n=2)
    return list(lines)[2:]  # drop the `---` / `+++` headers (only those two lines)


def _fields(old: Any, new: Any, path: str) -> list[dict[str, Any]]:
    """Differences between two values; dicts are walked, anything else compared whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[dict[str, Any]] = []
        for key in [*old, *(k for k in new if k not in old)]:
            sub = f"{path}.{key}" if path else str(key)
            changes.extend(_fields(old.get(key), new.get(key), sub))
        return changes
    if old == new:
        return []
    return [{"field": path, "old": old, "new": new, "text_diff": _text_diff(old, new)}]


def _plain(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: c[k] for k in ("field", "old", "new")} for c in changes]


def _diff_nodes(old: list[dict], new: list[dict]) -> dict[str, list]:
    before = {n["id"]: n for n in old}
    after = {n["id"]: n for n in new}

    def brief(node: dict) -> dict:
        return {
            "id": node["id"],
            "type": node.get("type"),
            "title": node.get("title") or "",
            "config": node.get("config", {}),
        }

    changed = []
    for node_id, node in after.items():
        if node_id not in before:
            continue
        prev = before[node_id]
        fields = [
            *_fields(prev.get("type"), node.get("type"), "type"),
            *_fields(prev.get("title", ""), node.get("title", ""), "title"),
            *_fields(prev.get("config", {}), node.get("config", {}), "config"),
        ]
        if fields:
            changed.append(
                {"id": node_id, "type": node.get("type"), "title": node.get("title") or "", "fields": fields}
            )
    changed_ids = {change["id"] for change in changed}
    return {
        "added": [brief(n) for i, n in after.items() if i not in before],
        "removed": [brief(n) for i, n in before.items() if i not in after],
        "changed": changed,
        "unchanged": [i for i in after if i in before and i not in changed_ids],
    }


def _diff_edges(old: list[dict], new: list[dict]) -> dict[str, list]:
    before = {(e["from"], e["to"]): e.get("when") for e in old}
    after = {(e["from"], e["to"]): e.get("when") for e in new}

    def edge(key: tuple[str, str], when: Any) -> dict:
        return {"from": key[0], "to": key[1], "when": when}

    return {
        "added": [edge(k, w) for k, w in after.items() if k not in before],
        "removed": [edge(k, w) for k, w in before.items() if k not in after],
        "changed": [
            {"from": k[0], "to": k[1], "old_when": before[k], "new_when": w}
            for k, w in after.items()
            if k in before and before[k] != w
        ],
    }


def _diff_named(old: dict, new: dict) -> dict[str, list]:
    return {
        "added": [name for name in new if name not in old],
        "removed": [name for name in old if name not in new],
        "changed": [
            {"name": name, "old": old[name], "new": value}
            for name, value in new.items()
            if name in old and old[name] != value
        ],
    }


def diff_documents(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    old, new = old or {}, new or {}
    nodes = _diff_nodes(old.get("nodes") or [], new.get("nodes") or [])
    edges = _diff_edges(old.get("edges") or [], new.get("edges") or [])
    inputs = _diff_named(old.get("inputs") or {}, new.get("inputs") or {})
    outputs = _diff_named(old.get("outputs") or {}, new.get("outputs") or {})
    # Test cases by name: the board sees which cases were added, dropped or changed.
    tests = _diff_named(
        {case.get("name"): case for case in old.get("tests") or []},
        {case.get("name"): case for case in new.get("tests") or []},
    )
    card = _plain(_fields(old.get("card") or {}, new.get("card") or {}, ""))
    meta = [
        {"field": f, "old": old.get(f), "new": new.get(f)} for f in META_FIELDS if old.get(f) != new.get(f)
    ]
    node_parts = (nodes["added"], nodes["removed"], nodes["changed"])
    parts = [*node_parts, *edges.values(), *inputs.values(), *outputs.values(), *tests.values()]
    summary = {
        "nodes_added": len(nodes["added"]),
        "nodes_removed": len(nodes["removed"]),
        "nodes_changed": len(nodes["changed"]),
        "edges_added": len(edges["added"]),
        "edges_removed": len(edges["removed"]),
        "edges_changed": len(edges["changed"]),
        "changed": any(parts) or bool(card or meta),
    }
    return {
        "summary": summary,
        "nodes": nodes,
        "edges": edges,
        "inputs": inputs,
        "outputs": outputs,
        "tests": tests,
        "tools": diff_tools(old, new),
        "card": card,
        "meta": meta,
    }


# -- the typed answer of GET /api/flows/{id}/versions/{n}/diff ---------------------------------
class FieldChange(BaseModel):
    """One changed value of a node: `field` is a dotted path (`config.prompt`,
    `config.json_schema.properties.x.type`, `title`, `type`); None where it is missing."""

    field: str
    old: Any = None
    new: Any = None
    text_diff: list[str] | None = Field(
        None, description="Unified diff lines (without headers) when either side is a long text"
    )


class NodeSnapshot(BaseModel):
    """A node that is only in one of the two versions, as it is there."""

    id: str
    type: str | None = None
    title: str = ""
    config: dict[str, Any] = Field(default_factory=dict)


class NodeChange(BaseModel):
    id: str
    type: str | None = None
    title: str = ""
    fields: list[FieldChange]


class NodesDiff(BaseModel):
    added: list[NodeSnapshot]
    removed: list[NodeSnapshot]
    changed: list[NodeChange]
    unchanged: list[str] = Field(description="Ids of the new version's nodes that did not change")


# `from` is a Python keyword, so a model can carry it as a field (as the flow document's edges
# and this answer do) only when built with `create_model`; mypy sees the plain class instead.
if TYPE_CHECKING:

    class _EdgeEnds(BaseModel):
        pass

    class _Between(BaseModel):
        pass

else:
    _EdgeEnds = create_model("EdgeEnds", **{"from": (str, ...), "to": (str, ...)})
    _Between = create_model(
        "Between",
        **{
            "from": (int | None, Field(None, description="The older version's number; None: none is live")),
            "to": (int, ...),
        },
    )


class DiffEdge(_EdgeEnds):
    when: str | None = None


class EdgeChange(_EdgeEnds):
    old_when: str | None = None
    new_when: str | None = None


class EdgesDiff(BaseModel):
    added: list[DiffEdge]
    removed: list[DiffEdge]
    changed: list[EdgeChange]


class NamedChange(BaseModel):
    name: str
    old: Any = None
    new: Any = None


class NamedDiff(BaseModel):
    """Inputs, outputs or test cases by name."""

    added: list[str]
    removed: list[str]
    changed: list[NamedChange]


class ValueChange(BaseModel):
    """A card field (dotted path under `card`, e.g. `thresholds.min_confidence`) or a
    document field (`name`, `description`, `audience`)."""

    field: str
    old: Any = None
    new: Any = None


class DiffSummary(BaseModel):
    nodes_added: int
    nodes_removed: int
    nodes_changed: int
    edges_added: int
    edges_removed: int
    edges_changed: int
    changed: bool


class VersionDiff(_Between):
    """What changed from version `from` (None: nothing is live yet) to version `to`."""

    summary: DiffSummary
    nodes: NodesDiff
    edges: EdgesDiff
    inputs: NamedDiff
    outputs: NamedDiff
    tests: NamedDiff
    tools: ToolsDiff = Field(
        default_factory=ToolsDiff,
        description="Tools of agent nodes gained, lost or changed, with their side-effect class",
    )
    card: list[ValueChange]
    meta: list[ValueChange]


def version_diff(
    old: dict[str, Any] | None, new: dict[str, Any] | None, from_number: int | None, to_number: int
) -> VersionDiff:
    """`diff_documents` as the typed answer, with the numbers of the two versions."""
    return VersionDiff.model_validate({**diff_documents(old, new), "from": from_number, "to": to_number})


def _sizes(section: dict[str, list[Any]]) -> tuple[int, int, int]:
    return len(section["added"]), len(section["removed"]), len(section["changed"])


def _counts(noun: str, added: int, removed: int, changed: int, detail: str = "") -> str:
    items = [(added, "added"), (removed, "removed"), (changed, "changed")]
    words = [f"{n} {verb}" for n, verb in items if n]
    if not words:
        return ""
    first = added or removed or changed
    words[0] = words[0].replace(" ", f" {noun}{'' if first == 1 else 's'} ", 1)
    return ", ".join(words) + (f" ({detail})" if detail else "")


def _short(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and not _is_long(value)


def diff_summary_text(diff: dict[str, Any]) -> str:
    """One line, e.g. `2 nodes added, 1 changed (answer: config.prompt), risk limited → high`."""
    nodes, edges = diff["nodes"], diff["edges"]
    if any(m["field"] == "name" and m["old"] is None for m in diff["meta"]):
        added = [_counts(k[:-1], len(diff[k]["added"]), 0, 0) for k in ("nodes", "edges")]
        return "first version: " + (", ".join(a for a in added if a) or "empty")
    node_detail = "; ".join(
        f"{c['id']}: {', '.join(f['field'] for f in c['fields'])}" for c in nodes["changed"]
    )
    edge_detail = "; ".join(
        f"{e['from']}→{e['to']}: {e['old_when'] or '-'} → {e['new_when'] or '-'}" for e in edges["changed"]
    )
    parts = [
        _counts("node", *_sizes(nodes), node_detail),
        _counts("edge", *_sizes(edges), edge_detail),
    ]
    for section in ("inputs", "outputs", "tests"):
        for verb in ("added", "removed", "changed"):
            names = [n if isinstance(n, str) else n["name"] for n in diff[section][verb]]
            if names:
                parts.append(f"{section} {verb}: {', '.join(names)}")
    parts += tools_summary_text(diff.get("tools") or {})
    for change in [*diff["card"], *diff["meta"]]:
        old, new = change["old"], change["new"]
        if _short(old) and _short(new):
            parts.append(f"{change['field']} {old} → {new}")
        else:
            parts.append(f"{change['field']} changed")
    return ", ".join(p for p in parts if p) or "no changes"
