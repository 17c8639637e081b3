"""A flow version prepared for execution: graph, node instances, generations, references.

Compiling validates the document once; the result is cached by content hash, so a
published assistant pays for validation on its first run only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cachetools import LRUCache

from nodes.base import Node
from nodes.registry import DEFAULT_REGISTRY, NodeRegistry
from nodes.rendering.templating import references
from runtime.engine.document import FlowDocument
from runtime.engine.validation import validate_document
from runtime.errors import InvalidFlow

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class IncomingEdge:
    source: str
    when: str | None


@dataclass
class CompiledFlow:
    document: FlowDocument
    content_hash: str
    instances: dict[str, Node]
    generations: list[list[str]]
    incoming: dict[str, tuple[IncomingEdge, ...]]
    outgoing_branches: dict[str, frozenset[str]]
    # What each node reads from the scope, recorded as the step's inputs.
    reads: dict[str, tuple[tuple[str, str | None], ...]]
    start: str
    # Per node, asked once here rather than at every execution.
    timeouts: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Nodes whose steps are persisted as soon as they finish (`Node.is_costly`).
    costly: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for node_id, instance in self.instances.items():
            self.timeouts.setdefault(node_id, instance.timeout_s())
            self.outputs.setdefault(node_id, instance.declared_outputs(self.document.inputs))
        if not self.costly:
            self.costly = frozenset(node_id for node_id, node in self.instances.items() if node.is_costly())

    def declared_outputs(self, node_id: str) -> tuple[str, ...]:
        return self.outputs[node_id]


def compile_validated(
    document: FlowDocument, content_hash: str, graph: nx.DiGraph, instances: dict[str, Node]
) -> CompiledFlow:
    import networkx as nx  # imported with the first flow, not at start-up (see runtime.engine.validation)

    incoming = {
        node: tuple(
            IncomingEdge(source, graph.edges[source, node].get("when")) for source in graph.predecessors(node)
        )
        for node in graph.nodes
    }
    outgoing_branches = {
        node: frozenset(when for _, _, when in graph.out_edges(node, data="when") if when is not None)
        for node in graph.nodes
    }
    reads: dict[str, tuple[tuple[str, str | None], ...]] = {}
    for node_id, instance in instances.items():
        found: set[tuple[str, str | None]] = set()
        for text in instance.templates().values():
            found |= references(text)
        for text in instance.expressions().values():
            found |= references(text, expression=True)
        reads[node_id] = tuple(sorted(found, key=lambda item: (item[0], item[1] or "")))
    start = next(spec.id for spec in document.nodes if spec.type == "input")
    return CompiledFlow(
        document=document,
        content_hash=content_hash,
        instances=instances,
        generations=[sorted(generation) for generation in nx.topological_generations(graph)],
        incoming=incoming,
        outgoing_branches=outgoing_branches,
        reads=reads,
        start=start,
    )


class FlowCache:
    """LRU of compiled flows keyed by content hash (a hash fully determines the flow)."""

    def __init__(self, registry: NodeRegistry = DEFAULT_REGISTRY, size: int = 256) -> None:
        self.registry = registry
        self.size = size
        self._flows: LRUCache[str, CompiledFlow] = LRUCache(maxsize=size)

    def get(self, document: Mapping[str, Any], expected_hash: str | None = None) -> CompiledFlow:
        if expected_hash:
            cached = self._flows.get(expected_hash)
            if cached is not None:
                return cached
        flow = compile_flow(document, self.registry)
        if expected_hash and flow.content_hash != expected_hash:
            # Stored documents are immutable; a mismatch means the row was tampered with.
            raise InvalidFlow(
                [
                    {
                        "node": None,
                        "field": None,
                        "message": f"stored document hashes to {flow.content_hash}, not {expected_hash}",
                    }
                ],
                "the stored flow version does not match its content hash",
            )
        self._flows[flow.content_hash] = flow
        return flow


def compile_flow(document: Mapping[str, Any], registry: NodeRegistry = DEFAULT_REGISTRY) -> CompiledFlow:
    report = validate_document(document, registry)
    if not report.valid or report.document is None or report.graph is None:
        raise InvalidFlow(report.errors)
    assert report.content_hash is not None
    return compile_validated(report.document, report.content_hash, report.graph, report.instances)
