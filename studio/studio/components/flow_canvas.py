"""The React Flow canvas (`@xyflow/react`, pinned), wrapped as a Reflex component.

The JavaScript side is `flow_canvas.jsx` next to this file; its header comment is the
contract of the events. The state hands in `nodes` and `edges` in React Flow's shape
(`EditorState.canvas_nodes` / `canvas_edges`); positions come back only on drag stop.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

XYFLOW = "@xyflow/react@12.12.1"
_SOURCE = rx.asset("flow_canvas.jsx", shared=True)
# Copied next to the source; flow_canvas.jsx imports it by its relative path.
_STYLES = rx.asset("flow_canvas.css", shared=True)


class FlowCanvas(rx.Component):
    """`<FlowCanvas>`: nodes, edges, and the five events that change the document."""

    library = _SOURCE.importable_path
    tag = "FlowCanvas"
    lib_dependencies: list[str] = [XYFLOW]

    nodes: rx.Var[list[dict[str, Any]]]
    edges: rx.Var[list[dict[str, Any]]]
    read_only: rx.Var[bool]
    # Changes when another flow or version is shown: the canvas fits its view once.
    fit_key: rx.Var[str]

    on_node_moved: rx.EventHandler[lambda moved: [moved]]
    on_connect_nodes: rx.EventHandler[lambda connection: [connection]]
    on_delete_elements: rx.EventHandler[lambda removed: [removed]]
    on_select_element: rx.EventHandler[lambda selection: [selection]]
    on_drop_type: rx.EventHandler[lambda dropped: [dropped]]


flow_canvas = FlowCanvas.create
