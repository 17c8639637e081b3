"""The editor's canvas: the palette, nodes and edges as React Flow draws them, the
selected node's form, and the edits made there (drop, connect, delete, move, copy/paste,
a node's settings and title, an edge's condition).

A mixin of `EditorState`. Every edit goes through a pure function of `flowdoc` or
`editing` and then `_changed` (`state.working_copy`), which validates and schedules the
autosave.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio import editing, flowdoc
from studio.i18n import LANGUAGES, field_texts, node_type_description, node_type_title, status_labels
from studio.state.test_panel import TestPanel


class Canvas(TestPanel, mixin=True):
    node_types: dict[str, dict[str, Any]] = {}
    offered: dict[str, list[str]] = {}  # choices by config field name: model, index
    selected_node: str = ""
    selected_edge: str = ""
    palette_query: str = ""
    clipboard_size: int = 0
    _clipboard: dict[str, Any] = {}
    _pastes: int = 0  # how often the clipboard was pasted: each lands a step further

    # -- derived: status ---------------------------------------------------------------------
    @rx.var
    def fit_key(self) -> str:
        return f"{self.flow_id}:{self.saved_number if self.loaded else 0}"

    # -- derived: canvas ----------------------------------------------------------------------
    @rx.var
    def palette(self) -> list[dict[str, str]]:
        order = {"flow": 0, "ai": 1, "logic": 2, "human": 3, "connector": 4}
        first = {"input": 0, "output": 1}
        items = [
            {
                "type": name,
                "title": node_type_title(name, spec.get("title", name), self.lang),
                "description": node_type_description(name, spec.get("description", ""), self.lang),
                "category": spec.get("category", "flow"),
                # Found by its name and description in either language.
                "search": " ".join(
                    [name]
                    + [node_type_title(name, spec.get("title", name), lang) for lang in LANGUAGES]
                    + [node_type_description(name, spec.get("description", ""), lang) for lang in LANGUAGES]
                ),
            }
            for name, spec in self.node_types.items()
        ]
        items = [item for item in items if editing.palette_matches(item, self.palette_query)]
        return sorted(
            items,
            key=lambda item: (order.get(item["category"], 9), first.get(item["type"], 2), item["title"]),
        )

    @rx.var
    def canvas_nodes(self) -> list[dict[str, Any]]:
        titles = {
            name: node_type_title(name, spec.get("title", name), self.lang)
            for name, spec in self.node_types.items()
        }
        return flowdoc.canvas_nodes(
            self.doc,
            self.node_types,
            flowdoc.errors_by_node(self._said_validation()),
            self.steps,
            titles,
            status_labels(self.lang),
            self.tr("tokens"),
        )

    @rx.var
    def canvas_edges(self) -> list[dict[str, Any]]:
        return flowdoc.canvas_edges(self.doc, self.steps)

    # -- derived: the selected node's form ------------------------------------------------------
    @rx.var
    def selected_type(self) -> str:
        node = flowdoc.find_node(self.doc, self.selected_node)
        return str(node.get("type")) if node else ""

    @rx.var
    def selected_type_title(self) -> str:
        spec = self.node_types.get(self.selected_type, {})
        return node_type_title(self.selected_type, spec.get("title", self.selected_type), self.lang)

    @rx.var
    def selected_title(self) -> str:
        node = flowdoc.find_node(self.doc, self.selected_node)
        return str(node.get("title") or "") if node else ""

    @rx.var
    def selected_choices(self) -> dict[str, list[str]]:
        schema = self.node_types.get(self.selected_type, {}).get("config_schema", {})
        return flowdoc.field_choices(schema, self.offered)

    @rx.var
    def selected_fields(self) -> list[dict[str, str]]:
        node = flowdoc.find_node(self.doc, self.selected_node)
        if node is None:
            return []
        schema = self.node_types.get(str(node.get("type")), {}).get("config_schema", {})
        fields = flowdoc.form_fields(
            schema,
            node.get("config") or {},
            flowdoc.field_errors(self._said_validation(), self.selected_node),
            flowdoc.field_choices(schema, self.offered),
        )
        for field in fields:
            field["title"], field["description"] = field_texts(
                field["name"], field["title"], field["description"], self.lang
            )
        return fields

    @rx.var
    def selected_variables(self) -> list[str]:
        return [
            "{{ " + name + " }}"
            for name in flowdoc.upstream_variables(self.doc, self.selected_node, self.node_types)
        ]

    @rx.var
    def selected_edge_branches(self) -> list[str]:
        source = self.selected_edge.split("->", 1)[0]
        return flowdoc.edge_branches(self.doc, source)

    @rx.var
    def selected_edge_when(self) -> str:
        source, _, target = self.selected_edge.partition("->")
        for edge in self.doc.get("edges", []):
            if edge.get("from") == source and edge.get("to") == target:
                return str(edge.get("when") or "")
        return ""

    # -- editing --------------------------------------------------------------------------------
    def _after_change(self) -> None:
        """A node or edge the document no longer has (deleted, undone) is no longer selected."""
        self.selected_node, self.selected_edge = editing.still_there(
            self.doc, self.selected_node, self.selected_edge
        )

    @rx.event
    async def drop_type(self, dropped: dict[str, Any]) -> Any:
        if self.read_only:
            return None
        node_type = str(dropped.get("type", ""))
        if node_type not in self.node_types:
            return None
        schema = self.node_types[node_type].get("config_schema", {})
        document, node_id = flowdoc.add_node(
            self.doc, node_type, float(dropped.get("x", 0)), float(dropped.get("y", 0)), schema
        )
        self.selected_node, self.selected_edge, self.panel_tab = node_id, "", "node"
        await self._changed(document)
        return None

    @rx.event
    async def connect_nodes(self, connection: dict[str, Any]) -> Any:
        if self.read_only:
            return None
        try:
            document = flowdoc.connect(self.doc, str(connection.get("source")), str(connection.get("target")))
        except flowdoc.EditRefused as refused:
            return rx.toast.warning(self.tr(refused.key))
        await self._changed(document)
        return None

    async def _delete(self, nodes: list[str], edges: list[tuple[str, str]]) -> None:
        if self.read_only:
            return
        if self.selected_node in nodes:
            self.selected_node = ""
        if self.selected_edge in {flowdoc.edge_id(*edge) for edge in edges}:
            self.selected_edge = ""
        await self._changed(flowdoc.remove(self.doc, nodes, edges))

    @rx.event
    async def delete_elements(self, removed: dict[str, Any]) -> None:
        """After React Flow removed nodes/edges (Delete key): the same in the document."""
        await self._delete(
            [str(node) for node in removed.get("nodes") or []],
            [(str(edge.get("source")), str(edge.get("target"))) for edge in removed.get("edges") or []],
        )

    @rx.event
    async def delete_selected(self) -> None:
        if self.selected_node:
            await self._delete([self.selected_node], [])
        elif self.selected_edge:
            source, _, target = self.selected_edge.partition("->")
            await self._delete([], [(source, target)])

    @rx.event
    async def move_nodes(self, moved: list[dict[str, Any]]) -> None:
        """Positions after a drag stopped (or an automatic layout): not part of the content
        hash, so no validation; undoable and saved like any edit."""
        if self.read_only:
            return
        moved_doc = flowdoc.move(self.doc, moved)
        if moved_doc.get("layout") != self.doc.get("layout"):
            await self._changed(moved_doc, validate=False)

    @rx.event
    def copy_nodes(self, copied: dict[str, Any]) -> Any:
        """Ctrl+C on the canvas: the selected nodes (and the edges among them) to paste later."""
        clipboard = editing.copy_nodes(self.doc, [str(node) for node in copied.get("nodes") or []])
        if not clipboard["nodes"]:
            return None
        self._clipboard, self._pastes = clipboard, 0
        self.clipboard_size = len(clipboard["nodes"])
        return rx.toast.info(self.tr("copied_nodes", n=self.clipboard_size), duration=2000)

    @rx.event
    async def paste_nodes(self, _trigger: Any = None) -> Any:
        """Ctrl+V: the copied nodes again, under new ids, a little offset."""
        if self.read_only or not self._clipboard.get("nodes"):
            return None
        self._pastes += 1
        document, new_ids = editing.paste_nodes(self.doc, self._clipboard, self._pastes)
        await self._changed(document)
        self.selected_node = new_ids[0] if len(new_ids) == 1 else ""
        self.selected_edge, self.panel_tab = "", "node"
        return rx.toast.info(self.tr("pasted_nodes", n=len(new_ids)), duration=2000)

    @rx.event
    def set_palette_query(self, query: str) -> None:
        self.palette_query = query[:100]

    @rx.event
    def select_element(self, selection: dict[str, Any]) -> None:
        self.selected_node = str(selection.get("node") or "")
        self.selected_edge = str(selection.get("edge") or "")
        if self.selected_node or self.selected_edge:
            self.panel_tab = "node"

    @rx.event
    def select_node(self, node_id: str) -> None:
        if flowdoc.find_node(self.doc, node_id) is not None:
            self.selected_node, self.selected_edge, self.panel_tab = node_id, "", "node"

    @rx.event
    async def set_config_field(self, name: str, kind: str, raw: str) -> Any:
        if self.read_only or not self.selected_node:
            return None
        try:
            value = flowdoc.parse_value(kind, raw)
        except ValueError as exc:
            return rx.toast.error(f"{name}: {exc}")
        node = flowdoc.find_node(self.doc, self.selected_node) or {}
        if (node.get("config") or {}).get(name) == value:
            return None
        await self._changed(flowdoc.set_config(self.doc, self.selected_node, name, value))
        return None

    @rx.event
    async def set_node_title(self, title: str) -> None:
        if not self.read_only and self.selected_node and title.strip() != self.selected_title:
            await self._changed(flowdoc.set_title(self.doc, self.selected_node, title))

    @rx.event
    async def set_edge_when(self, when: str) -> None:
        source, _, target = self.selected_edge.partition("->")
        if not self.read_only and source and target:
            await self._changed(flowdoc.set_edge_when(self.doc, source, target, "" if when == "-" else when))
