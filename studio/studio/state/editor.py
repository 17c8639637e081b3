"""The editor: views of the working copy (canvas, forms, palette), the edits, the test panel.

The working copy itself (loading, autosave, undo/redo, cutting versions) is the mixin
`state.working_copy.WorkingCopy`. Every edit here goes through a pure function of
`flowdoc` or `editing` and then `_changed`, which validates (`POST /api/flows/validate`;
the errors are drawn on the nodes and fields they name) and schedules the autosave. The
test panel runs a version with Server-Sent Events (a changed working copy is cut as a
version first); tokens are handed to the browser a few times a second, not per token.
"""

from __future__ import annotations

import contextlib
from typing import Any

import reflex as rx

from studio import editing, flowdoc, input_specs, routes
from studio.api import ApiError, SignedOut
from studio.i18n import LANGUAGES, field_texts, node_type_description, node_type_title, status_labels
from studio.state.base import AppState
from studio.state.test_panel import TestPanel

# The tabs of the side panel (`pages/editor.py`); `?tab=<one>` opens it.
PANEL_TABS = ("node", "flow", "card", "test", "cases")


class EditorState(TestPanel, AppState):  # AppState named: a class with only mixin bases is a mixin
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

    # -- derived: flow and card forms --------------------------------------------------------
    @rx.var
    def input_rows(self) -> list[dict[str, str]]:
        return [
            {
                **input_specs.spec_form(spec),
                "name": name,
                "required": "true" if spec.get("required") else "",
                "value": self.test_inputs.get(name, ""),
            }
            for name, spec in (self.doc.get("inputs") or {}).items()
        ]

    @rx.var
    def output_rows(self) -> list[dict[str, str]]:
        return [
            {"name": name, "value": str(value)} for name, value in (self.doc.get("outputs") or {}).items()
        ]

    @rx.var
    def output_variables(self) -> list[str]:
        return ["{{ " + name + " }}" for name in flowdoc.all_variables(self.doc, self.node_types)]

    @rx.var
    def flow_level_errors(self) -> dict[str, str]:
        """Errors that name no node, by field (`outputs.answer`, `card.risk`, `inputs`...)."""
        return {
            str(error.get("field") or ""): str(error["message"])
            for error in self._said_validation()
            if not error.get("node")
        }

    @rx.var
    def card(self) -> dict[str, str]:
        card = self.doc.get("card") or {}
        thresholds = card.get("thresholds") or {}
        return {
            "purpose": str(card.get("purpose") or ""),
            "data_sources": "\n".join(str(item) for item in card.get("data_sources") or []),
            "risk": str(card.get("risk") or "limited"),
            "owner": str(card.get("owner") or ""),
            "thresholds": "\n".join(f"{key} = {value}" for key, value in thresholds.items()),
            "limitations": str(card.get("limitations") or ""),
        }

    # -- loading --------------------------------------------------------------------------------
    @rx.event
    async def load(self) -> Any:
        if not self.token:
            return
        flow_id = (
            self.router.url.path.rstrip("/").split("/")[2] if self.router.url.path.count("/") >= 2 else ""
        )
        if flow_id != self.flow_id:
            self.loaded = False
            self.selected_node = self.selected_edge = ""
            self._clear_run()
        self.load_error = ""
        api = self.api()
        try:
            if not self.node_types:
                self.node_types = {item["type"]: item for item in await api.node_types()}
            await self._load_working_copy(flow_id)
        except ApiError as exc:
            self.load_error = self.error_text(exc)
            self.loaded = True
            if isinstance(exc, SignedOut):  # otherwise the page itself says what went wrong
                yield self.on_error(exc)
            return
        self.test_inputs = {name: self.test_inputs.get(name, "") for name in (self.doc.get("inputs") or {})}
        # `?tab=cases` (the runs viewer links there after adding a case) opens that tab.
        if self.router.url.query_parameters.get("tab") in PANEL_TABS:
            self.panel_tab = str(self.router.url.query_parameters["tab"])
        self.loaded = True
        yield
        await self._load_choices()

    async def _load_choices(self) -> None:
        """What selects offer: model endpoints and the workspace's knowledge indexes (best effort)."""
        api = self.api()
        offered: dict[str, list[str]] = {}
        try:
            endpoints = await api.model_endpoints()
            offered["model"] = [
                "default",
                *[item["name"] for item in endpoints if item.get("name") != "default"],
            ]
        except ApiError:
            offered["model"] = ["default"]
        with contextlib.suppress(ApiError, KeyError, TypeError):
            offered["index"] = [item["name"] for item in await api.knowledge_indexes(self.flow_workspace)]
        self.offered = offered

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
    def set_panel_tab(self, tab: str) -> None:
        self.panel_tab = tab

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

    # -- flow-level fields: name, description, inputs, outputs, card ------------------------------
    async def _edit(self, change: Any) -> None:
        if self.read_only:
            return
        document = dict(self.doc)
        change(document)
        await self._changed(document)

    @rx.event
    async def set_doc_field(self, name: str, value: str) -> None:
        if (self.doc.get(name) or "") != value:
            await self._edit(lambda document: document.__setitem__(name, value))

    @rx.event
    async def add_input(self) -> None:
        inputs = dict(self.doc.get("inputs") or {})
        number = 1
        while f"input_{number}" in inputs:
            number += 1
        inputs[f"input_{number}"] = {"type": "string", "required": False, "description": ""}
        await self._edit(lambda document: document.__setitem__("inputs", inputs))

    @rx.event
    async def rename_input(self, old: str, new: str) -> None:
        new = new.strip()
        if not new or new == old:
            return
        inputs = {
            (new if name == old else name): spec for name, spec in (self.doc.get("inputs") or {}).items()
        }
        self.test_inputs = {(new if name == old else name): value for name, value in self.test_inputs.items()}
        await self._edit(lambda document: document.__setitem__("inputs", inputs))

    @rx.event
    async def set_input_required(self, name: str, required: bool) -> None:
        inputs = {key: dict(spec) for key, spec in (self.doc.get("inputs") or {}).items()}
        if name in inputs:
            inputs[name]["required"] = bool(required)
            await self._edit(lambda document: document.__setitem__("inputs", inputs))

    @rx.event
    async def set_input_field(self, name: str, field: str, text: str) -> None:
        """Title, description, type, choices or default of an input (`input_specs`)."""
        inputs = {key: dict(spec) for key, spec in (self.doc.get("inputs") or {}).items()}
        if name in inputs:
            edited = input_specs.edit_input_spec(inputs[name], field, text)
            if edited != inputs[name]:
                inputs[name] = edited
                await self._edit(lambda document: document.__setitem__("inputs", inputs))

    @rx.event
    async def remove_input(self, name: str) -> None:
        inputs = {key: spec for key, spec in (self.doc.get("inputs") or {}).items() if key != name}
        await self._edit(lambda document: document.__setitem__("inputs", inputs))

    @rx.event
    async def add_output(self) -> None:
        outputs = dict(self.doc.get("outputs") or {})
        number = 1
        while f"result_{number}" in outputs:
            number += 1
        outputs[f"result_{number}"] = ""
        await self._edit(lambda document: document.__setitem__("outputs", outputs))

    @rx.event
    async def rename_output(self, old: str, new: str) -> None:
        new = new.strip()
        if new and new != old:
            outputs = {
                (new if key == old else key): value for key, value in (self.doc.get("outputs") or {}).items()
            }
            await self._edit(lambda document: document.__setitem__("outputs", outputs))

    @rx.event
    async def set_output(self, name: str, value: str) -> None:
        outputs = dict(self.doc.get("outputs") or {})
        if outputs.get(name) != value:
            outputs[name] = value
            await self._edit(lambda document: document.__setitem__("outputs", outputs))

    @rx.event
    async def remove_output(self, name: str) -> None:
        outputs = {key: value for key, value in (self.doc.get("outputs") or {}).items() if key != name}
        await self._edit(lambda document: document.__setitem__("outputs", outputs))

    @rx.event
    async def set_card_field(self, name: str, raw: str) -> Any:
        card = dict(self.doc.get("card") or {})
        if name == "data_sources":
            value: Any = [line.strip() for line in raw.splitlines() if line.strip()]
        elif name == "thresholds":
            value = {}
            for line in raw.splitlines():
                if not line.strip():
                    continue
                key, _, number = line.partition("=")
                try:
                    value[key.strip()] = float(number.strip().replace(",", "."))
                except ValueError:
                    return rx.toast.error(f"{self.tr('card_thresholds')}: {line}")
        else:
            value = raw
        if card.get(name) == value:
            return None
        card[name] = value
        await self._edit(lambda document: document.__setitem__("card", card))
        return None

    @rx.event
    def open_versions(self) -> Any:
        return rx.redirect(routes.versions(self.flow_id))
