// The editor's canvas: @xyflow/react with Dirigent's node look, wrapped for Reflex.
//
// The Python state owns the flow document (and its undo history); this component owns
// only what is transient (positions while dragging, selection highlight, measured sizes).
// It reports to the state only what changes the document, each once:
//   onNodeMoved([{id, x, y}])           when a drag STOPS (never while dragging), and after
//                                       "arrange automatically" (dagre, left to right)
//   onConnectNodes({source, target})    a new edge drawn from handle to handle
//   onDeleteElements({nodes, edges})    after Delete/Backspace or React Flow's own removal
//   onSelectElement({node, edge})       when the selection changes (ids, "" for none)
//   onDropType({type, x, y})            a palette item dropped at a flow position
//   onUndo() / onRedo()                 Ctrl+Z / Ctrl+Shift+Z or Ctrl+Y
//   onCopyNodes({nodes}) / onPasteNodes()  Ctrl+C (the selected nodes) / Ctrl+V
//   onAutosave({key})                   `autosaveDelayMs` after `autosaveKey` last changed
//   onOpenNode({node})                  a node was clicked (read-only views open its details)
// Read-only views of a version diff (review, versions) set `autoLayout` (dagre places the
// nodes once measured, positions stay in the browser), `minFitZoom` (the whole graph may be
// fitted below 100 %), and per node `data.diff` (added | changed | removed | unchanged) with
// `data.diffLabel`, which colour the node and label it.
// Keys typed into a text field are the field's own (its undo, copy and paste).
// While `unsaved` is true, leaving asks first: closing or reloading the tab (beforeunload)
// and navigating inside the studio, Back included (React Router's blocker).
// Palette items are any element with a `data-node-type` attribute: dragging one carries
// the type in the drag data (see the dragstart listener below).
import React, { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  ReactFlow,
  ReactFlowProvider,
  Background,
  BaseEdge,
  Controls,
  EdgeLabelRenderer,
  MiniMap,
  Handle,
  Panel,
  Position,
  MarkerType,
  applyNodeChanges,
  applyEdgeChanges,
  getBezierPath,
  useNodesInitialized,
  useReactFlow,
} from "@xyflow/react";
import * as dagreModule from "@dagrejs/dagre";
import { useBlocker } from "react-router";
import "@xyflow/react/dist/style.css";
import "./flow_canvas.css";

const dagre = dagreModule.default || dagreModule;
const DRAG_TYPE = "application/x-dirigent-node-type";
// Fitting a loaded flow never zooms below 100 %: node text is 12 px or more, so it stays
// readable; a flow too wide for that shows its start, the rest is a pan (or the map) away.
const MIN_FIT_ZOOM = 1;
const MAX_FIT_ZOOM = 1.1;
const FIT_PADDING_PX = 40;
const MAP_KEY = "dirigent.canvas.minimap";

function statusText(data) {
  const parts = [];
  if (data.durationMs !== undefined && data.durationMs !== null && data.durationMs !== "") {
    parts.push(`${Number(data.durationMs).toFixed(Number(data.durationMs) < 10 ? 1 : 0)} ms`);
  }
  if (data.tokens) parts.push(`${data.tokens} ${data.tokensLabel || "tokens"}`);
  return parts.join(" · ");
}

function DirigentNode({ id, data, selected }) {
  const errors = data.errors || [];
  const classes = ["dg-node", `dg-cat-${data.category || "flow"}`];
  if (data.status) classes.push(`dg-status-${data.status}`);
  if (errors.length) classes.push("dg-invalid");
  if (selected) classes.push("dg-selected");
  if (data.diff) classes.push(`dg-diff-${data.diff}`);
  return (
    <div className={classes.join(" ")} data-node-id={id} data-testid={`node-${id}`}>
      {data.hasInput !== false && <Handle type="target" position={Position.Left} className="dg-handle" />}
      <div className="dg-node-head">
        <span className="dg-node-type">{data.typeTitle || data.type}</span>
        {data.statusLabel ? <span className={`dg-node-badge dg-badge-${data.status}`}>{data.statusLabel}</span> : null}
        {data.diffLabel ? (
          <span className={`dg-node-badge dg-badge-diff-${data.diff}`} data-diff={data.diff}>{data.diffLabel}</span>
        ) : null}
      </div>
      <div className="dg-node-title">{data.label || id}</div>
      {data.label && data.label !== id ? <div className="dg-node-id">{id}</div> : null}
      {statusText(data) ? <div className="dg-node-metrics">{statusText(data)}</div> : null}
      {data.text ? <div className="dg-node-stream">{data.text}</div> : null}
      {errors.length ? (
        <div className="dg-node-errors">
          {errors.slice(0, 3).map((message, index) => (
            <div key={index} className="dg-node-error">{message}</div>
          ))}
          {errors.length > 3 ? <div className="dg-node-error">…</div> : null}
        </div>
      ) : null}
      {data.hasOutput !== false && <Handle type="source" position={Position.Right} className="dg-handle" />}
    </div>
  );
}

// An edge whose label (a router branch, an approval outcome) is HTML above the nodes,
// never clipped: React Flow's own SVG label sits under nodes it crosses.
function LabelledEdge({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, label, markerEnd, style, selected }) {
  const [path, labelX, labelY] = getBezierPath({ sourceX, sourceY, sourcePosition, targetX, targetY, targetPosition });
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} style={style} />
      {label ? (
        <EdgeLabelRenderer>
          <div
            className={`dg-edge-label nodrag nopan${selected ? " dg-edge-label-selected" : ""}`}
            data-edge-id={id}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
          >
            {label}
          </div>
        </EdgeLabelRenderer>
      ) : null}
    </>
  );
}

const nodeTypes = { dirigent: DirigentNode };
const edgeTypes = { dirigent: LabelledEdge };
const defaultEdgeOptions = { markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 } };

// Left to right in layers (dagre): each node right of everything it depends on, crossings
// kept few, room left for edge labels. Sizes are what the browser measured.
function layeredPositions(nodes, edges) {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 50, ranksep: 110, edgesep: 20, marginx: 20, marginy: 20 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) {
    graph.setNode(node.id, { width: node.measured?.width || 200, height: node.measured?.height || 80 });
  }
  for (const edge of edges) {
    const label = edge.label ? { label: edge.label, width: 12 + 8 * String(edge.label).length, height: 26 } : {};
    graph.setEdge(edge.source, edge.target, label);
  }
  dagre.layout(graph);
  return nodes.map((node) => {
    const placed = graph.node(node.id);
    return { id: node.id, x: Math.round(placed.x - placed.width / 2), y: Math.round(placed.y - placed.height / 2) };
  });
}

// Small line icons (the shapes of lucide's copy, clipboard-paste and map), drawn inline:
// emoji need a font a server may not have.
function Icon({ paths }) {
  return (
    <svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2"
      strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      {paths.map((d, index) => <path key={index} d={d} />)}
    </svg>
  );
}
const COPY_ICON = ["M8 8h12v12H8z", "M4 16V4h12"];
const PASTE_ICON = ["M9 2h6v4H9z", "M16 4h2a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2h2"];
const MAP_ICON = ["M3 6l6-3 6 3 6-3v15l-6 3-6-3-6 3z", "M9 3v15", "M15 6v15"];

function editableTarget(target) {
  return !!(target && target.closest && target.closest("input, textarea, select, [contenteditable='true'], [role='textbox']"));
}

function storedMapChoice() {
  try {
    return window.localStorage.getItem(MAP_KEY) === "shown";
  } catch (error) {
    return false;
  }
}

// Keep what only the browser knows (selection, measured size) when the state sends new nodes.
function mergeNodes(previous, incoming) {
  const byId = new Map(previous.map((node) => [node.id, node]));
  return incoming.map((node) => {
    const old = byId.get(node.id);
    if (!old) return node;
    return { ...node, selected: old.selected, measured: old.measured, dragging: false };
  });
}

function mergeEdges(previous, incoming) {
  const byId = new Map(previous.map((edge) => [edge.id, edge]));
  return incoming.map((edge) => {
    const old = byId.get(edge.id);
    const typed = { ...edge, type: "dirigent" };
    return old ? { ...typed, selected: old.selected } : typed;
  });
}

function Canvas(props) {
  const {
    nodes: stateNodes,
    edges: stateEdges,
    readOnly,
    fitKey,
    onNodeMoved,
    onConnectNodes,
    onDeleteElements,
    onSelectElement,
    onDropType,
    autosaveKey,
    autosaveDelayMs,
    unsaved,
    texts,
    autoLayout,
  } = props;
  const [nodes, setNodes] = useState(stateNodes || []);
  const [edges, setEdges] = useState(() => mergeEdges([], stateEdges || []));
  const [showMap, setShowMap] = useState(storedMapChoice);
  const { screenToFlowPosition, fitView, getNodes, getEdges, getNodesBounds, setViewport } = useReactFlow();
  const lastSelection = useRef("|");
  const wrapper = useRef(null);
  // The newest props, for listeners registered once.
  const latest = useRef(props);
  latest.current = props;
  const label = (key) => (texts && texts[key]) || key;

  // Compare by content: the state may hand over equal arrays with a new identity.
  const nodesKey = useMemo(() => JSON.stringify(stateNodes || []), [stateNodes]);
  const edgesKey = useMemo(() => JSON.stringify(stateEdges || []), [stateEdges]);
  useEffect(() => setNodes((previous) => mergeNodes(previous, stateNodes || [])), [nodesKey]);
  useEffect(() => setEdges((previous) => mergeEdges(previous, stateEdges || [])), [edgesKey]);

  // Fit the view when another flow (or version) is loaded, once its nodes are there: the
  // whole flow if it fits at 100 % or more (see MIN_FIT_ZOOM), else its start at 100 %.
  const fitReadable = useCallback(() => {
    const shown = getNodes();
    const box = wrapper.current;
    if (!shown.length || !box) return;
    const minZoom = latest.current.minFitZoom || MIN_FIT_ZOOM;
    const bounds = getNodesBounds(shown);
    const width = box.clientWidth - 2 * FIT_PADDING_PX;
    const height = box.clientHeight - 2 * FIT_PADDING_PX;
    if (bounds.width <= width / minZoom && bounds.height <= height / minZoom) {
      fitView({ padding: 0.2, minZoom, maxZoom: MAX_FIT_ZOOM });
      return;
    }
    const zoom = minZoom;
    const y =
      bounds.height * zoom <= height
        ? (box.clientHeight - bounds.height * zoom) / 2 - bounds.y * zoom
        : FIT_PADDING_PX - bounds.y * zoom;
    setViewport({ x: FIT_PADDING_PX - bounds.x * zoom, y, zoom });
  }, [getNodes, getNodesBounds, fitView, setViewport]);

  const fitted = useRef("");
  useEffect(() => {
    if (autoLayout) return; // the layout below fits the view once the nodes are placed
    if ((stateNodes || []).length && fitted.current !== fitKey) {
      fitted.current = fitKey;
      setTimeout(fitReadable, 50);
    }
  }, [fitKey, nodesKey]);

  // Read-only views: place the nodes in layers once the browser measured all of them (again
  // whenever the nodes or edges change), then fit the view. Nothing is reported back.
  const measured = useNodesInitialized();
  const laidOut = useRef("");
  useEffect(() => {
    if (!autoLayout || !measured) return;
    const key = `${nodesKey}|${edgesKey}`;
    const wanted = new Set((stateNodes || []).map((node) => node.id));
    const ready = nodes.length === wanted.size && nodes.every((node) => wanted.has(node.id) && node.measured?.width);
    if (laidOut.current === key || !ready) return;
    laidOut.current = key;
    const placed = new Map(layeredPositions(nodes, edges).map((item) => [item.id, item]));
    setNodes((current) =>
      current.map((node) => (placed.has(node.id) ? { ...node, position: { x: placed.get(node.id).x, y: placed.get(node.id).y } } : node)),
    );
    setTimeout(fitReadable, 50);
  }, [autoLayout, measured, nodesKey, edgesKey, nodes, edges, fitReadable]);

  // Autosave: `autosaveDelayMs` after the last edit (every edit changes the key).
  useEffect(() => {
    if (!autosaveKey) return undefined;
    const timer = setTimeout(() => {
      if (latest.current.onAutosave) latest.current.onAutosave({ key: autosaveKey });
    }, autosaveDelayMs || 2000);
    return () => clearTimeout(timer);
  }, [autosaveKey, autosaveDelayMs]);

  // Closing or reloading the tab with something unsaved: the browser asks.
  useEffect(() => {
    if (!unsaved) return undefined;
    const onBeforeUnload = (event) => {
      event.preventDefault();
      event.returnValue = "";
      return "";
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => window.removeEventListener("beforeunload", onBeforeUnload);
  }, [unsaved]);

  // Leaving the editor inside the studio (a link, Back) with something unsaved: we ask.
  const unsavedRef = useRef(!!unsaved);
  unsavedRef.current = !!unsaved;
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) => unsavedRef.current && currentLocation.pathname !== nextLocation.pathname,
  );
  useEffect(() => {
    if (blocker.state !== "blocked") return;
    if (window.confirm(label("wc_leave_confirm"))) blocker.proceed();
    else blocker.reset();
  }, [blocker.state]);

  const copySelected = useCallback(() => {
    const ids = getNodes().filter((node) => node.selected).map((node) => node.id);
    if (ids.length && latest.current.onCopyNodes) latest.current.onCopyNodes({ nodes: ids });
    return ids.length > 0;
  }, [getNodes]);

  const paste = useCallback(() => {
    if (!latest.current.readOnly && latest.current.onPasteNodes) latest.current.onPasteNodes({});
  }, []);

  // Undo, redo, copy and paste from the keyboard, unless a text field has the focus.
  useEffect(() => {
    const onKeyDown = (event) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey || editableTarget(event.target)) return;
      const key = (event.key || "").toLowerCase();
      const current = latest.current;
      if (key === "z" && !event.shiftKey) {
        event.preventDefault();
        if (current.onUndo) current.onUndo();
      } else if ((key === "z" && event.shiftKey) || key === "y") {
        event.preventDefault();
        if (current.onRedo) current.onRedo();
      } else if (key === "c") {
        if (copySelected()) event.preventDefault();
      } else if (key === "v") {
        event.preventDefault();
        paste();
      }
    };
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, [copySelected, paste]);

  const arrange = useCallback(() => {
    const current = getNodes();
    if (!current.length || latest.current.readOnly || !latest.current.onNodeMoved) return;
    latest.current.onNodeMoved(layeredPositions(current, getEdges()));
    setTimeout(fitReadable, 150);
  }, [getNodes, getEdges, fitReadable]);

  const toggleMap = useCallback(() => {
    setShowMap((shown) => {
      try {
        window.localStorage.setItem(MAP_KEY, shown ? "hidden" : "shown");
      } catch (error) {
        // A browser without storage forgets the choice; the toggle still works.
      }
      return !shown;
    });
  }, []);

  // Palette items (anywhere on the page) carry their type in the drag data.
  useEffect(() => {
    const onDragStart = (event) => {
      const item = event.target && event.target.closest ? event.target.closest("[data-node-type]") : null;
      if (!item || !event.dataTransfer) return;
      event.dataTransfer.setData(DRAG_TYPE, item.getAttribute("data-node-type"));
      event.dataTransfer.setData("text/plain", item.getAttribute("data-node-type"));
      event.dataTransfer.effectAllowed = "copy";
    };
    document.addEventListener("dragstart", onDragStart);
    return () => document.removeEventListener("dragstart", onDragStart);
  }, []);

  const onNodesChange = useCallback((changes) => setNodes((current) => applyNodeChanges(changes, current)), []);
  const onEdgesChange = useCallback((changes) => setEdges((current) => applyEdgeChanges(changes, current)), []);

  const onNodeDragStop = useCallback(
    (event, node, dragged) => {
      const moved = (dragged && dragged.length ? dragged : [node]).map((item) => ({
        id: item.id,
        x: Math.round(item.position.x),
        y: Math.round(item.position.y),
      }));
      if (onNodeMoved) onNodeMoved(moved);
    },
    [onNodeMoved],
  );

  const onConnect = useCallback(
    (connection) => {
      if (onConnectNodes && connection.source && connection.target) {
        onConnectNodes({ source: connection.source, target: connection.target });
      }
    },
    [onConnectNodes],
  );

  const onDelete = useCallback(
    ({ nodes: removedNodes, edges: removedEdges }) => {
      if (!onDeleteElements) return;
      onDeleteElements({
        nodes: (removedNodes || []).map((node) => node.id),
        edges: (removedEdges || []).map((edge) => ({ source: edge.source, target: edge.target })),
      });
    },
    [onDeleteElements],
  );

  const onSelectionChange = useCallback(
    ({ nodes: selectedNodes, edges: selectedEdges }) => {
      const node = selectedNodes && selectedNodes.length === 1 ? selectedNodes[0].id : "";
      const edge = !node && selectedEdges && selectedEdges.length === 1 ? selectedEdges[0].id : "";
      const key = `${node}|${edge}`;
      if (key === lastSelection.current) return;
      lastSelection.current = key;
      if (onSelectElement) onSelectElement({ node, edge });
    },
    [onSelectElement],
  );

  const onDragOver = useCallback((event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  }, []);

  const onDrop = useCallback(
    (event) => {
      event.preventDefault();
      const type = event.dataTransfer.getData(DRAG_TYPE) || event.dataTransfer.getData("text/plain");
      if (!type || !onDropType || readOnly) return;
      const position = screenToFlowPosition({ x: event.clientX, y: event.clientY });
      // Centre the new node (about 200 x 70) under the pointer.
      onDropType({ type, x: Math.round(position.x - 100), y: Math.round(position.y - 35) });
    },
    [onDropType, screenToFlowPosition, readOnly],
  );

  const isValidConnection = useCallback((connection) => connection.source !== connection.target, []);

  const onNodeClick = useCallback((event, node) => {
    if (latest.current.onOpenNode) latest.current.onOpenNode({ node: node.id });
  }, []);

  return (
    <div ref={wrapper} className="dg-canvas" data-testid="flow-canvas" style={{ width: "100%", height: "100%" }}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        defaultEdgeOptions={defaultEdgeOptions}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onNodeDragStop={onNodeDragStop}
        onConnect={onConnect}
        onDelete={onDelete}
        onSelectionChange={onSelectionChange}
        onNodeClick={onNodeClick}
        onDragOver={onDragOver}
        onDrop={onDrop}
        isValidConnection={isValidConnection}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        elementsSelectable={true}
        deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]}
        minZoom={0.2}
        maxZoom={2}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={20} size={1} />
        <Controls showInteractive={false} />
        <Panel position="top-right" className="dg-tools">
          {!readOnly ? (
            <>
              <button type="button" className="dg-tool" id="canvas-copy" title={label("copy_nodes")} onClick={copySelected}>
                <Icon paths={COPY_ICON} />
              </button>
              <button type="button" className="dg-tool" id="canvas-paste" title={label("paste_nodes")} onClick={paste}>
                <Icon paths={PASTE_ICON} />
              </button>
              <button type="button" className="dg-tool dg-tool-text" id="auto-layout" title={label("auto_layout")} onClick={arrange}>
                {label("auto_layout")}
              </button>
            </>
          ) : null}
          <button
            type="button"
            className={`dg-tool${showMap ? " dg-tool-on" : ""}`}
            id="minimap-toggle"
            title={label("minimap_toggle")}
            aria-pressed={showMap}
            onClick={toggleMap}
          >
            <Icon paths={MAP_ICON} />
          </button>
        </Panel>
        {showMap ? <MiniMap pannable zoomable nodeStrokeWidth={3} position="bottom-right" /> : null}
      </ReactFlow>
    </div>
  );
}

export function FlowCanvas(props) {
  return (
    <ReactFlowProvider>
      <Canvas {...props} />
    </ReactFlowProvider>
  );
}
