"""The React Flow canvas (`@xyflow/react`, pinned), wrapped as a Reflex component.

The JavaScript side is `flow_canvas.jsx` next to this file; its header comment is the
contract of the events. The state hands in `nodes` and `edges` in React Flow's shape
(`EditorState.canvas_nodes` / `canvas_edges`); positions come back only on drag stop.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

XYFLOW = "@xyflow/react@12.12.1"
# Layered left-to-right layout for "arrange automatically" (maintained successor of dagre).
DAGRE = "@dagrejs/dagre@3.1.4"
_SOURCE = rx.asset("flow_canvas.jsx", shared=True)
# Copied next to the source; flow_canvas.jsx imports it by its relative path.
_STYLES = rx.asset("flow_canvas.css", shared=True)


class FlowCanvas(rx.Component):
    """`<FlowCanvas>`: nodes, edges, the events that change the document, and the working
    copy's autosave timer and leave guard (see the contract at the top of the .jsx)."""

    library = _SOURCE.importable_path
    tag = "FlowCanvas"
    lib_dependencies: list[str] = [XYFLOW, DAGRE]

    nodes: rx.Var[list[dict[str, Any]]]
    edges: rx.Var[list[dict[str, Any]]]
    read_only: rx.Var[bool]
    # Changes when another flow or version is shown: the canvas fits its view once.
    fit_key: rx.Var[str]
    # Changes with every edit waiting to be saved ("" when none): `on_autosave` fires this long after.
    autosave_key: rx.Var[str]
    autosave_delay_ms: rx.Var[int]
    # Something is not stored yet: leaving the page (or the editor) asks first.
    unsaved: rx.Var[bool]
    # The canvas's own words in the person's language: tool tips, the question before leaving.
    texts: rx.Var[dict[str, str]]
    # Read-only views of a version diff: dagre places the nodes in the browser, and the view may
    # be fitted below 100 % (see the contract at the top of the .jsx).
    auto_layout: rx.Var[bool]
    min_fit_zoom: rx.Var[float]

    on_node_moved: rx.EventHandler[lambda moved: [moved]]
    on_connect_nodes: rx.EventHandler[lambda connection: [connection]]
    on_delete_elements: rx.EventHandler[lambda removed: [removed]]
    on_select_element: rx.EventHandler[lambda selection: [selection]]
    on_drop_type: rx.EventHandler[lambda dropped: [dropped]]
    on_autosave: rx.EventHandler[lambda trigger: [trigger]]
    on_undo: rx.EventHandler[lambda: []]
    on_redo: rx.EventHandler[lambda: []]
    on_copy_nodes: rx.EventHandler[lambda copied: [copied]]
    on_paste_nodes: rx.EventHandler[lambda trigger: [trigger]]
    on_open_node: rx.EventHandler[lambda clicked: [clicked]]


flow_canvas = FlowCanvas.create
