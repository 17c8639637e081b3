"""The editor: one flow's working document, its validation, saving, and the test panel.

The state holds the document as the runtime stores it; every edit goes through a pure
function of `flowdoc` and is followed by `POST /api/flows/validate`, whose errors are
drawn on the nodes and fields they name. Saving sends the whole document: the runtime
makes a new version only when the content hash changed (positions alone update the
layout in place). The test panel runs the saved version with Server-Sent Events;
tokens are collected and handed to the browser a few times a second, not per token.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import reflex as rx

from studio import flowdoc, routes
from studio.api import ApiError, RuntimeClient, SignedOut
from studio.i18n import (
    describe_step_error,
    field_texts,
    node_type_description,
    node_type_title,
    status_labels,
)
from studio.state.base import AppState

STREAM_FLUSH_S = 0.15  # how often streamed LLM text is pushed to the browser


def _parse_input(kind: str, raw: str) -> Any:
    mapping = {
        "number": "number",
        "integer": "integer",
        "boolean": "boolean",
        "object": "json",
        "array": "json",
    }
    return flowdoc.parse_value(mapping.get(kind, "text"), raw)


class EditorState(AppState):
    flow_id: str = ""
    flow_name: str = ""
    flow_workspace: str = ""
    loaded: bool = False
    load_error: str = ""
    read_only: bool = True

    doc: dict[str, Any] = {}
    saved_number: int = 0
    saved_state: str = ""
    saved_hash: str = ""
    current_hash: str = ""
    layout_dirty: bool = False
    saving: bool = False
    validation: list[dict[str, Any]] = []

    node_types: dict[str, dict[str, Any]] = {}
    offered: dict[str, list[str]] = {}  # choices by config field name: model, index
    selected_node: str = ""
    selected_edge: str = ""
    panel_tab: str = "node"
    revision: int = 0  # bumps on every document change: uncontrolled form inputs re-mount

    # -- test panel --
    test_inputs: dict[str, str] = {}
    running: bool = False
    steps: dict[str, dict[str, Any]] = {}
    run_id: str = ""
    run_status: str = ""
    run_output: str = ""
    run_error: str = ""
    step_details: list[dict[str, str]] = []

    # -- derived: status ---------------------------------------------------------------------
    @rx.var
    def dirty(self) -> bool:
        return self.current_hash != self.saved_hash or not self.current_hash

    @rx.var
    def problem_count(self) -> int:
        return len(self.validation)

    @rx.var
    def problems(self) -> list[dict[str, str]]:
        return [
            {
                "node": str(error.get("node") or ""),
                "field": str(error.get("field") or ""),
                "message": str(error.get("message") or ""),
            }
            for error in self.validation
        ]

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
            }
            for name, spec in self.node_types.items()
        ]
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
            flowdoc.errors_by_node(self.validation),
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
            flowdoc.field_errors(self.validation, self.selected_node),
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
                "name": name,
                "type": str(spec.get("type", "string")),
                "required": "true" if spec.get("required") else "",
                "description": str(spec.get("description") or ""),
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
    def stream_text(self) -> str:
        """Text streamed by LLM nodes in the current test run."""
        return "\n\n".join(str(step.get("text")) for step in self.steps.values() if step.get("text"))

    @rx.var
    def flow_level_errors(self) -> dict[str, str]:
        """Errors that name no node, by field (`outputs.answer`, `card.risk`, `inputs`...)."""
        return {
            str(error.get("field") or ""): str(error.get("message") or "")
            for error in self.validation
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
        self.flow_id = flow_id
        self.load_error = ""
        api = self.api()
        try:
            if not self.node_types:
                self.node_types = {item["type"]: item for item in await api.node_types()}
            flow = await api.flow(flow_id)
        except ApiError as exc:
            self.load_error = self.error_text(exc)
            self.loaded = True
            if isinstance(exc, SignedOut):  # otherwise the page itself says what went wrong
                yield self.on_error(exc)
            return
        latest = flow.get("latest_version") or {}
        self.flow_name = flow.get("name", "")
        self.flow_workspace = flow.get("workspace", "")
        self.read_only = "edit" not in (flow.get("allowed_actions") or [])
        self.doc = latest.get("document") or {}
        self.saved_number = int(latest.get("number") or 0)
        self.saved_state = str(latest.get("state") or "")
        self.saved_hash = self.current_hash = str(latest.get("content_hash") or "")
        self.layout_dirty = False
        self.test_inputs = {name: self.test_inputs.get(name, "") for name in (self.doc.get("inputs") or {})}
        self.loaded = True
        await self._validate()
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
    async def _changed(self, document: dict[str, Any]) -> None:
        self.doc = document
        self.revision += 1
        await self._validate()

    async def _validate(self) -> None:
        try:
            report = await self.api().validate(self.doc)
        except ApiError as exc:
            self.validation = [{"node": None, "field": None, "message": self.error_text(exc)}]
            self.current_hash = ""
            return
        self.validation = list(report.get("errors") or [])
        self.current_hash = str(report.get("content_hash") or "")

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
    def move_nodes(self, moved: list[dict[str, Any]]) -> None:
        """Positions after a drag stopped: layout only, not part of the content hash."""
        if self.read_only:
            return
        self.doc = flowdoc.move(self.doc, moved)
        self.layout_dirty = True

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

    # -- saving (submitting is in `state.testcases`, next to the tests that gate it) --------------
    async def _save(self) -> list[Any]:
        """Save the document; the events to answer with (a toast), or errors."""
        try:
            saved = await self.api().save_version(self.flow_id, self.doc)
        except ApiError as exc:
            if exc.errors:
                self.validation = exc.errors
            return self.on_error(exc)
        self.saved_number = int(saved.get("number") or 0)
        self.saved_state = str(saved.get("state") or "")
        self.saved_hash = self.current_hash = str(saved.get("content_hash") or "")
        self.layout_dirty = False
        key = "saved_new_version" if saved.get("created") else "saved_no_change"
        return [rx.toast.success(self.tr(key, n=self.saved_number))]

    @rx.event
    async def save(self) -> Any:
        if self.read_only or self.saving:
            return
        self.saving = True
        yield
        answer = await self._save()
        self.saving = False
        yield answer

    # -- test panel ---------------------------------------------------------------------------
    def _clear_run(self) -> None:
        self.steps = {}
        self.run_id = self.run_status = self.run_output = self.run_error = ""
        self.step_details = []

    @rx.event
    def set_test_input(self, name: str, value: str) -> None:
        self.test_inputs = {**self.test_inputs, name: value}

    @rx.event
    def clear_run(self) -> None:
        self._clear_run()

    @rx.event(background=True)
    async def run_test(self) -> Any:
        async with self:
            if self.running or not self.flow_id:
                return
            if not self.read_only and (self.dirty or self.layout_dirty):
                answer = await self._save()
                if self.dirty:
                    yield answer
                    return
            try:
                inputs = {
                    name: _parse_input(str(spec.get("type", "string")), self.test_inputs.get(name, ""))
                    for name, spec in (self.doc.get("inputs") or {}).items()
                    if self.test_inputs.get(name, "") != "" or spec.get("required")
                }
            except ValueError as exc:
                yield rx.toast.error(str(exc))
                return
            self._clear_run()
            self.running = True
            self.run_status = "running"
            self.panel_tab = "test"
            client = RuntimeClient(self.token)
            flow_id, number = self.flow_id, self.saved_number
        pending: dict[str, str] = {}
        last_flush = time.monotonic()
        failure: list[Any] = []
        try:
            async for event in client.test_run(flow_id, number, inputs):
                kind = event.get("type")
                if kind == "token":
                    node = str(event.get("node") or "")
                    pending[node] = pending.get(node, "") + str(event.get("text") or "")
                    if time.monotonic() - last_flush < STREAM_FLUSH_S:
                        continue
                async with self:
                    self._flush_tokens(pending)
                    self._apply_event(event)
                pending = {}
                last_flush = time.monotonic()
        except ApiError as exc:
            async with self:
                failure = self.on_error(exc)
                self.run_status = "failed"
        async with self:
            self._flush_tokens(pending)
            self.running = False
            run_id = self.run_id
        if failure:
            yield failure
            return
        if run_id:
            try:
                details = await client.run(run_id)
            except ApiError:
                return
            async with self:
                self._apply_details(details)

    def _flush_tokens(self, pending: dict[str, str]) -> None:
        if not pending:
            return
        steps = dict(self.steps)
        for node, text in pending.items():
            step = dict(steps.get(node, {"status": "running"}))
            step["text"] = str(step.get("text", "")) + text
            steps[node] = step
        self.steps = steps

    def _apply_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "started":
            self.run_id = str(event.get("run_id") or "")
        elif kind == "step":
            node = str(event.get("node") or "")
            step = dict(self.steps.get(node, {}))
            step["status"] = str(event.get("status") or "")
            if event.get("duration_ms") is not None:
                step["duration_ms"] = event["duration_ms"]
            usage = event.get("usage") or {}
            if usage:
                step["tokens"] = int(usage.get("total_tokens") or 0) or (
                    int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)
                )
            error = event.get("error") or {}
            if error:
                step["error"] = describe_step_error(error, self.lang)
            self.steps = {**self.steps, node: step}
        elif kind == "run":
            self.run_status = str(event.get("status") or "")
            outputs = event.get("outputs") or {}
            self.run_output = (
                "\n".join(f"{key}: {value}" for key, value in outputs.items())
                if isinstance(outputs, dict)
                else str(outputs)
            )
            error = event.get("error") or {}
            if error:
                node = error.get("node")
                self.run_error = (
                    self.tr("step_failed_at", node=node, message=describe_step_error(error, self.lang))
                    if node
                    else describe_step_error(error, self.lang)
                )

    def _apply_details(self, run: dict[str, Any]) -> None:
        import json

        def text(value: Any) -> str:
            if value in (None, "", {}, []):
                return ""
            return json.dumps(value, ensure_ascii=False, indent=2, default=str)

        self.step_details = [
            {
                "node": str(step.get("node_id") or ""),
                "type": str(step.get("node_type") or ""),
                "status": str(step.get("status") or ""),
                "duration": f"{float(step['duration_ms']):.1f} ms"
                if step.get("duration_ms") is not None
                else "",
                "tokens": str((step.get("usage") or {}).get("total_tokens") or ""),
                "inputs": text(step.get("inputs")),
                "outputs": text(step.get("outputs")),
                "error": describe_step_error(step["error"], self.lang) if step.get("error") else "",
            }
            for step in run.get("steps") or []
        ]
        if run.get("status"):
            self.run_status = str(run["status"])

    @rx.event
    def open_versions(self) -> Any:
        return rx.redirect(routes.versions(self.flow_id))
