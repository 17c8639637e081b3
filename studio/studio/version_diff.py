"""A version diff as the board reads it: the graph coloured by change, one card per block
that was added, changed or removed, the documentation card, and the smaller sections.

No Reflex and no HTTP here: `build_diff_view` takes what the runtime answered (the diff of
`GET .../diff`, both versions' documents, `GET /api/node-types`) and the UI language, and
returns a `DiffView` that the review and the versions page render with the same components
(`components.version_diff`). Field titles come from the node type's JSON schema, German ones
from the studio's tables (`i18n.field_texts`, `locales.de.FIELDS_BY_TYPE`); prompts and
other texts get a line diff (`linediff`); nothing is shown as JSON (`diffview`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studio import flowdoc
from studio.diffview import diff_rows, sides
from studio.i18n import field_texts, field_title_by_type, has_text, node_type_title, translate
from studio.linediff import DiffLine, line_diff

# Fields read as text with a line diff, whatever their length (prompts, templates, ...).
TEXT_FIELDS = frozenset(
    {"prompt", "system", "template", "condition", "body", "sql", "text", "payload", "instructions"}
)
LONG_TEXT = 80
STATUSES = ("added", "changed", "removed", "unchanged")
# Colours of edges on the canvas by their change (nodes take theirs from flow_canvas.css).
EDGE_STYLES = {
    "added": {"stroke": "var(--green-9)", "strokeWidth": 2.5},
    "changed": {"stroke": "var(--amber-9)", "strokeWidth": 2.5},
    "removed": {"stroke": "var(--red-9)", "strokeWidth": 2, "strokeDasharray": "6 4"},
    "unchanged": {},
}
CARD_ORDER = ("purpose", "data_sources", "risk", "owner", "thresholds", "limitations")


@dataclass
class FieldView:
    key: str = ""
    title: str = ""
    status: str = "changed"  # added | removed | changed
    old: str = ""  # one line ("" when shown as Markdown, as lines, or when this side has none)
    new: str = ""
    old_md: str = ""  # a structured value as a definition list or table (Markdown)
    new_md: str = ""
    lines: list[DiffLine] = field(default_factory=list)  # a text: shown as a line diff


@dataclass
class NodeView:
    id: str = ""
    status: str = "changed"  # added | changed | removed
    status_label: str = ""
    title: str = ""
    type_title: str = ""
    fields: list[FieldView] = field(default_factory=list)


@dataclass
class CardRow:
    key: str = ""
    label: str = ""
    status: str = "same"  # same | changed | added | removed
    old: str = ""
    new: str = ""
    old_md: str = ""
    new_md: str = ""


@dataclass
class LegendItem:
    status: str = ""
    label: str = ""
    count: int = 0


@dataclass
class DiffView:
    ready: bool = False
    first: bool = False  # nothing to compare with: everything is new
    changed: bool = False
    fit_key: str = ""
    canvas_nodes: list[dict[str, Any]] = field(default_factory=list)
    canvas_edges: list[dict[str, Any]] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)
    nodes: list[NodeView] = field(default_factory=list)
    card: list[CardRow] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)


# -- titles ------------------------------------------------------------------------------------
def field_title(node_type: str, name: str, schema: Mapping[str, Any], lang: str) -> str:
    """A config field's title: German from the studio's tables, else the schema's title."""
    by_type = field_title_by_type(node_type, name, lang)
    if by_type:
        return by_type
    spec = (schema.get("properties") or {}).get(name) or {}
    return field_texts(name, str(spec.get("title") or name), "", lang)[0]


def _type_title(node_type: str, types: Mapping[str, Mapping[str, Any]], lang: str) -> str:
    return node_type_title(node_type, str(types.get(node_type, {}).get("title") or node_type), lang)


# -- one field ---------------------------------------------------------------------------------
def _is_text(name: str, old: Any, new: Any) -> bool:
    if not all(value is None or isinstance(value, str) for value in (old, new)) or old == new:
        return False
    texts = [value for value in (old, new) if value]
    return name in TEXT_FIELDS or any("\n" in value or len(value) > LONG_TEXT for value in texts)


def field_view(key: str, title: str, name: str, old: Any, new: Any, lang: str) -> FieldView:
    status = "added" if old is None else "removed" if new is None else "changed"
    if _is_text(name, old, new):
        return FieldView(key=key, title=title, status=status, lines=line_diff(old, new))
    shown = sides(old, new, lang)
    return FieldView(
        key=key,
        title=title,
        status=status,
        old=shown["old"],
        new=shown["new"],
        old_md=shown["old_md"],
        new_md=shown["new_md"],
    )


def _config_fields(
    node: Mapping[str, Any], types: Mapping[str, Mapping[str, Any]], lang: str, added: bool
) -> list[FieldView]:
    """Every set config field of a node that is only on one side (added or removed)."""
    node_type = str(node.get("type"))
    schema = types.get(node_type, {}).get("config_schema") or {}
    config = node.get("config") or {}
    order = [name for name in (schema.get("properties") or {}) if name in config]
    order += [name for name in config if name not in order]
    views = []
    for name in order:
        value = config[name]
        old, new = (None, value) if added else (value, None)
        title = field_title(node_type, name, schema, lang)
        views.append(field_view(f"{node.get('id')}.{name}", title, name, old, new, lang))
    return views


def _changed_fields(
    change: Mapping[str, Any], types: Mapping[str, Mapping[str, Any]], lang: str
) -> list[FieldView]:
    node_type = str(change.get("type"))
    schema = types.get(node_type, {}).get("config_schema") or {}
    views = []
    for item in change.get("fields") or []:
        path = str(item.get("field") or "")
        old, new = item.get("old"), item.get("new")
        key = f"{change.get('id')}.{path}"
        if path == "title":
            title = translate("diff_field_node_title", lang)
        elif path == "type":
            title = translate("diff_field_node_type", lang)
            old, new = (_type_title(str(value), types, lang) if value else None for value in (old, new))
        else:
            name, *rest = path.removeprefix("config.").split(".")
            title = " \u203a ".join([field_title(node_type, name, schema, lang), *rest])
            path = name
        views.append(field_view(key, title, path, old, new, lang))
    return views


# -- the blocks --------------------------------------------------------------------------------
def _node_view(
    node: Mapping[str, Any], status: str, fields: list[FieldView], types: Mapping[str, Any], lang: str
) -> NodeView:
    node_id = str(node.get("id"))
    return NodeView(
        id=node_id,
        status=status,
        status_label=translate(f"diff_status_{status}", lang),
        title=str(node.get("title") or node_id),
        type_title=_type_title(str(node.get("type")), types, lang),
        fields=fields,
    )


def _node_views(
    diff: Mapping[str, Any], new_doc: Mapping[str, Any], types: Mapping[str, Any], lang: str
) -> list[NodeView]:
    nodes = diff.get("nodes") or {}
    added = {str(node["id"]): node for node in nodes.get("added") or []}
    changed = {str(change["id"]): change for change in nodes.get("changed") or []}
    views = []
    for node in new_doc.get("nodes") or []:
        node_id = str(node.get("id"))
        if node_id in added:
            views.append(
                _node_view(node, "added", _config_fields(node, types, lang, added=True), types, lang)
            )
        elif node_id in changed:
            views.append(
                _node_view(node, "changed", _changed_fields(changed[node_id], types, lang), types, lang)
            )
    for node in nodes.get("removed") or []:
        views.append(_node_view(node, "removed", _config_fields(node, types, lang, added=False), types, lang))
    return views


def node_statuses(diff: Mapping[str, Any]) -> dict[str, str]:
    """Node id -> added | changed | removed | unchanged."""
    nodes = diff.get("nodes") or {}
    statuses = {str(node_id): "unchanged" for node_id in nodes.get("unchanged") or []}
    for status in ("added", "changed", "removed"):
        statuses.update({str(item["id"]): status for item in nodes.get(status) or []})
    return statuses


# -- the canvas --------------------------------------------------------------------------------
def _canvas(
    diff: Mapping[str, Any],
    new_doc: Mapping[str, Any],
    old_doc: Mapping[str, Any] | None,
    types: Mapping[str, Mapping[str, Any]],
    lang: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The new version's nodes and edges, and the removed ones drawn as ghosts."""
    titles = {name: _type_title(name, types, lang) for name in types}
    statuses = node_statuses(diff)
    removed_ids = [node_id for node_id, status in statuses.items() if status == "removed"]
    ghosts = {
        "nodes": [node for node in (old_doc or {}).get("nodes") or [] if str(node.get("id")) in removed_ids],
        "layout": (old_doc or {}).get("layout") or {},
    }
    nodes = flowdoc.canvas_nodes(new_doc, types, {}, {}, titles, {}) + flowdoc.canvas_nodes(
        ghosts, types, {}, {}, titles, {}
    )
    for node in nodes:
        status = statuses.get(node["id"], "unchanged")
        node["data"].update(diff=status, diffLabel=translate(f"diff_status_{status}", lang))
    edges_diff = diff.get("edges") or {}
    by_status = {
        status: {(str(edge["from"]), str(edge["to"])) for edge in edges_diff.get(status) or []}
        for status in ("added", "changed")
    }
    edges = flowdoc.canvas_edges(new_doc, {})
    for edge in edges:
        ends = (edge["source"], edge["target"])
        status = next((name for name, found in by_status.items() if ends in found), "unchanged")
        edge.update(style=EDGE_STYLES[status], data={"diff": status})
    for edge in edges_diff.get("removed") or []:
        source, target = str(edge["from"]), str(edge["to"])
        edges.append(
            {
                "id": flowdoc.edge_id(source, target),
                "source": source,
                "target": target,
                "label": edge.get("when") or "",
                "style": EDGE_STYLES["removed"],
                "data": {"diff": "removed"},
            }
        )
    return nodes, edges


# -- the card ----------------------------------------------------------------------------------
def _card_value(key: str, value: Any, lang: str) -> Any:
    if key == "risk" and has_text(f"risk_{value}"):
        return translate(f"risk_{value}", lang)
    return value


def card_label(key: str, lang: str) -> str:
    known = f"review_card_{key}"
    if has_text(known):
        return translate(known, lang)
    return key.replace("_", " ").strip().capitalize()


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def card_rows(new_card: Mapping[str, Any], old_card: Mapping[str, Any] | None, lang: str) -> list[CardRow]:
    """The new version's card, field by field, each marked as changed against the old card
    (None: nothing to compare with, every row plain)."""
    keys = [key for key in CARD_ORDER if key in new_card or key in (old_card or {})]
    keys += [key for key in new_card if key not in keys]
    keys += [key for key in old_card or {} if key not in keys]
    rows = []
    for key in keys:
        new, old = new_card.get(key), (old_card or {}).get(key)
        if _empty(new) and _empty(old):
            continue
        if old_card is None or old == new:
            status, old = "same", None
        else:
            status = "added" if _empty(old) else "removed" if _empty(new) else "changed"
        shown = sides(_card_value(key, old, lang), _card_value(key, new, lang), lang)
        rows.append(CardRow(key=key, label=card_label(key, lang), status=status, **shown))
    return rows


# -- all of it ---------------------------------------------------------------------------------
def build_diff_view(
    diff: Mapping[str, Any],
    new_doc: Mapping[str, Any],
    old_doc: Mapping[str, Any] | None,
    node_types: Mapping[str, Mapping[str, Any]],
    lang: str,
) -> DiffView:
    nodes, edges = _canvas(diff, new_doc, old_doc, node_types, lang)
    counts = {status: 0 for status in STATUSES}
    for node in nodes:
        counts[node["data"]["diff"]] += 1
    return DiffView(
        ready=True,
        first=diff.get("from") is None,
        changed=bool((diff.get("summary") or {}).get("changed")),
        fit_key=f"{diff.get('from')}-{diff.get('to')}",
        canvas_nodes=nodes,
        canvas_edges=edges,
        legend=[
            LegendItem(status=status, label=translate(f"diff_status_{status}", lang), count=counts[status])
            for status in STATUSES
        ],
        nodes=_node_views(diff, new_doc, node_types, lang),
        card=card_rows(
            new_doc.get("card") or {}, None if old_doc is None else old_doc.get("card") or {}, lang
        ),
        rows=diff_rows(dict(diff), lang),
    )
