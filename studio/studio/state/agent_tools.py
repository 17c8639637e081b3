"""The agent's tools in the selected node's form: one card per tool (`agent_tools_form`),
keyed by a stable id per tool, added, removed and edited field by field.

A mixin of `EditorState`, on top of the canvas. The ids live here only (`tool_ids`: per
node, the ids and the tools' names they were given to); an edit names its tool by id and
finds the tool's position at that moment, so it never lands on another tool.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio import agent_tools_form as tools_form
from studio.state.canvas import Canvas


class AgentTools(Canvas, mixin=True):
    # node id -> {"ids": [...], "names": [...]}: which id each tool of the node has.
    tool_ids: dict[str, dict[str, list[str]]] = {}

    def _tools(self) -> list[dict[str, Any]]:
        return tools_form.tools_of(self.doc, self.selected_node)

    def _ids(self) -> list[str]:
        tools = self._tools()
        ids = tools_form.current_ids(self.tool_ids.get(self.selected_node), tools)
        self.tool_ids = {**self.tool_ids, self.selected_node: tools_form.remember(ids, tools)}
        return ids

    @rx.var
    def selected_is_agent(self) -> bool:
        return self.selected_type == "agent"

    @rx.var
    def tool_choices(self) -> dict[str, list[str]]:
        """What a tool card's selects offer (empty: a text field instead)."""
        return {name: list(self.offered.get(name) or []) for name in ("tool_connection", "index")}

    @rx.var
    def selected_tools(self) -> list[dict[str, str]]:
        if self.selected_type != "agent":
            return []
        tools = tools_form.tools_of(self.doc, self.selected_node)
        ids = tools_form.current_ids(self.tool_ids.get(self.selected_node), tools)
        errors = {
            str(error.get("field") or "").removeprefix("config."): str(error.get("message") or "")
            for error in self._said_validation()
            if error.get("node") == self.selected_node
            and str(error.get("field") or "").startswith("config.tools.")
        }
        return tools_form.tool_cards(tools, ids, errors)

    async def _tools_changed(self, document: dict[str, Any], ids: list[str]) -> None:
        self.tool_ids = {
            **self.tool_ids,
            self.selected_node: tools_form.remember(ids, tools_form.tools_of(document, self.selected_node)),
        }
        await self._changed(document)

    @rx.event
    async def add_tool(self, kind: str) -> Any:
        if self.read_only or self.selected_type != "agent":
            return None
        ids = self._ids()
        document = tools_form.add_tool(self.doc, self.selected_node, kind)
        # A new id, unlike every other: derived from all the tools, the new one included.
        new_ids = tools_form.current_ids(None, tools_form.tools_of(document, self.selected_node))
        await self._tools_changed(document, [*ids, new_ids[-1]])
        return None

    @rx.event
    async def remove_tool(self, tool_id: str) -> Any:
        ids = self._ids()
        if self.read_only or tool_id not in ids:
            return None
        index = ids.index(tool_id)
        await self._tools_changed(
            tools_form.remove_tool(self.doc, self.selected_node, index), ids[:index] + ids[index + 1 :]
        )
        return None

    @rx.event
    async def set_tool_field(self, tool_id: str, field: str, raw: str) -> Any:
        ids = self._ids()
        if self.read_only or tool_id not in ids:
            return None
        index = ids.index(tool_id)
        try:
            document = tools_form.set_tool_field(self.doc, self.selected_node, index, field, raw)
        except tools_form.ToolFormError as refused:
            return rx.toast.error(str(refused))
        if document == self.doc:
            return None
        await self._tools_changed(document, ids)
        return None
