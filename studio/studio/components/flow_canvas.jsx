// The editor's canvas: @xyflow/react with Dirigent's node look, wrapped for Reflex.
//
// The Python state owns the flow document; this component owns only what is transient
// (positions while dragging, selection highlight, measured sizes). It reports to the
// state only what changes the document, each once:
//   onNodeMoved([{id, x, y}])           when a drag STOPS (never while dragging)
//   onConnectNodes({source, target})    a new edge drawn from handle to handle
//   onDeleteElements({nodes, edges})    after Delete/Backspace or React Flow's own removal
//   onSelectElement({node, edge})       when the selection changes (ids, "" for none)
//   onDropType({type, x, y})            a palette item dropped at a flow position
// Palette items are any element with a `data-node-type` attribute: dragging one carries
// the type in the drag data (see the dragstart listener below).
import React, { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  ReactFlow,
  ReactFlowProvider,
  Background,
  Controls,
  MiniMap,
  Handle,
  Position,
  MarkerType,
  applyNodeChanges,
  applyEdgeChanges,
  useReactFlow,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./flow_canvas.css";

const DRAG_TYPE = "application/x-dirigent-node-type";

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
  return (
    <div className={classes.join(" ")} data-node-id={id} data-testid={`node-${id}`}>
      {data.hasInput !== false && <Handle type="target" position={Position.Left} className="dg-handle" />}
      <div className="dg-node-head">
        <span className="dg-node-type">{data.typeTitle || data.type}</span>
        {data.statusLabel ? <span className={`dg-node-badge dg-badge-${data.status}`}>{data.statusLabel}</span> : null}
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

const nodeTypes = { dirigent: DirigentNode };
const defaultEdgeOptions = { markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 } };

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
    return old ? { ...edge, selected: old.selected } : edge;
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
  } = props;
  const [nodes, setNodes] = useState(stateNodes || []);
  const [edges, setEdges] = useState(stateEdges || []);
  const { screenToFlowPosition, fitView } = useReactFlow();
  const lastSelection = useRef("|");
  const wrapper = useRef(null);

  // Compare by content: the state may hand over equal arrays with a new identity.
  const nodesKey = useMemo(() => JSON.stringify(stateNodes || []), [stateNodes]);
  const edgesKey = useMemo(() => JSON.stringify(stateEdges || []), [stateEdges]);
  useEffect(() => setNodes((previous) => mergeNodes(previous, stateNodes || [])), [nodesKey]);
  useEffect(() => setEdges((previous) => mergeEdges(previous, stateEdges || [])), [edgesKey]);

  // Fit the view when another flow (or version) is loaded, once its nodes are there. Never
  // below 60 %: a wide flow (a starter template) would shrink to unreadable boxes; then the
  // middle of the flow shows and the minimap and panning give the rest.
  const fitted = useRef("");
  useEffect(() => {
    if ((stateNodes || []).length && fitted.current !== fitKey) {
      fitted.current = fitKey;
      setTimeout(() => fitView({ padding: 0.2, minZoom: 0.6, maxZoom: 1.1 }), 50);
    }
  }, [fitKey, nodesKey]);

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

  return (
    <div ref={wrapper} className="dg-canvas" data-testid="flow-canvas" style={{ width: "100%", height: "100%" }}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        defaultEdgeOptions={defaultEdgeOptions}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onNodeDragStop={onNodeDragStop}
        onConnect={onConnect}
        onDelete={onDelete}
        onSelectionChange={onSelectionChange}
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
        <MiniMap pannable zoomable nodeStrokeWidth={3} />
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
