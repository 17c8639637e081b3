"""Validation of flow documents: every problem, each with the node and field it concerns.

`validate_document(raw)` never raises for a bad document; it returns a `Validation`
whose `errors` the studio marks on the canvas:
`{"node": "answer", "field": "config.prompt", "code": "missing", "params": {...},
"message": "Field required"}` (`node` is None for problems of the document as a whole, and
for those of its test cases, whose field is a path such as `tests[2].fixed.answer.txt`).
Every problem has a code of `runtime/codes/problems.py` with its parameters; the English
message is that code's text.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from nodes.base import Node
from nodes.errors import TemplateError
from nodes.registry import DEFAULT_REGISTRY, NodeRegistry
from nodes.rendering.templating import references
from runtime.codes import coded
from runtime.codes.pydantic_errors import coded_problem
from runtime.engine.case_validation import check_cases
from runtime.engine.cases import structural_error_field, structural_problem
from runtime.engine.document import RESERVED_IDS, FlowDocument, canonical_document, content_hash
from runtime.errors import PayloadTooLarge
from runtime.json_limits import MAX_DEPTH, too_deep_value

if TYPE_CHECKING:
    import networkx as nx  # imported where a flow is checked: ≈ 0.1 s of start-up otherwise

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_NODES = 2000
MAX_ERRORS = 200
MAX_DOCUMENT_DEPTH = MAX_DEPTH - 1


@dataclass
class Validation:
    errors: list[dict[str, Any]] = field(default_factory=list)
    document: FlowDocument | None = None
    content_hash: str | None = None
    # Built once here so that the engine does not have to build it again.
    graph: nx.DiGraph | None = None
    instances: dict[str, Node] = field(default_factory=dict)
    # Refused before parsing because of its size (the API answers 413, not 422).
    too_large: bool = False

    @property
    def valid(self) -> bool:
        return not self.errors

    def add(self, node: str | None, field_name: str | None, code: str, /, **params: Any) -> None:
        """A problem with `code` (runtime/codes/problems.py) and its parameters."""
        self.add_coded(node, field_name, coded(code, **params))

    def add_coded(self, node: str | None, field_name: str | None, problem: Mapping[str, Any]) -> None:
        """A problem that has its code, parameters and message already (from pydantic)."""
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(
                {
                    "node": node,
                    "field": field_name,
                    "code": problem["code"],
                    "params": problem["params"],
                    "message": problem["message"],
                }
            )

    def as_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "content_hash": self.content_hash, "errors": self.errors}


def too_large(errors: list[dict[str, Any]]) -> PayloadTooLarge:
    """The 413 for a document refused by its size. The answer's code stays
    `payload_too_large` (what clients test for); its problem in `errors` says which limit
    (`document_too_large` in bytes, `too_many_nodes`)."""
    first = errors[0]
    in_bytes = (
        {"size_bytes": first["params"]["size"], "limit_bytes": first["params"]["limit"]}
        if first["code"] == "document_too_large"
        else {}
    )
    return PayloadTooLarge(
        first["message"], code="payload_too_large", errors=errors, what="flow_document", **in_bytes
    )


def _loc_to_field(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _structural_errors(raw: Mapping[str, Any], exc: ValidationError, report: Validation) -> None:
    """Pydantic errors of the document model, attributed to nodes where possible."""
    raw_nodes: list[Any] = raw["nodes"] if isinstance(raw.get("nodes"), list) else []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        node_id = None
        if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
            candidate = raw_nodes[loc[1]] if loc[1] < len(raw_nodes) else None
            if isinstance(candidate, Mapping) and isinstance(candidate.get("id"), str):
                node_id = candidate["id"]
            field_name = _loc_to_field(loc[2:]) or None
        elif loc[:1] == ["tests"]:  # test cases: `tests[2].expect[0].value`
            report.add_coded(None, structural_error_field(loc), structural_problem(error))
            continue
        else:
            field_name = _loc_to_field(loc)
        if error["type"] == "string_pattern_mismatch" and loc[-1:] == ["id"]:
            report.add(node_id, field_name, "invalid_node_id")
        else:
            report.add_coded(node_id, field_name, coded_problem(error))


def validate_document(
    raw: Any, registry: NodeRegistry = DEFAULT_REGISTRY, *, raw_size: int | None = None
) -> Validation:
    """Check a flow document; see the module docstring. `raw` is the parsed JSON."""
    report = Validation()
    if not isinstance(raw, Mapping):
        report.add(None, None, "not_an_object")
        return report
    # Before anything walks it (the size below, the model, hashing): documents from the
    # CLI or a template file have not passed the API's check of request bodies. One level
    # less than a body may have, so that every valid document fits in `{"document": ...}`.
    if too_deep_value(raw, MAX_DOCUMENT_DEPTH):
        report.add(None, None, "document_too_deep", limit=MAX_DOCUMENT_DEPTH)
        return report
    size = (
        raw_size if raw_size is not None else len(json.dumps(raw, ensure_ascii=False, default=str).encode())
    )
    if size > MAX_DOCUMENT_BYTES:
        report.add(None, None, "document_too_large", size=size, limit=MAX_DOCUMENT_BYTES)
        report.too_large = True
        return report
    if isinstance(raw.get("nodes"), list) and len(raw["nodes"]) > MAX_NODES:
        report.add(None, "nodes", "too_many_nodes", count=len(raw["nodes"]), limit=MAX_NODES)
        report.too_large = True
        return report
    try:
        document = FlowDocument.model_validate(raw)
    except ValidationError as exc:
        _structural_errors(raw, exc, report)
        return report
    report.document = document
    _check_semantics(document, registry, report)
    if report.valid:
        report.content_hash = content_hash(document)
    return report


def _check_semantics(document: FlowDocument, registry: NodeRegistry, report: Validation) -> None:
    import networkx as nx

    graph: nx.DiGraph = nx.DiGraph()
    instances: dict[str, Node] = {}
    for spec in document.nodes:
        if spec.id in graph:
            report.add(spec.id, "id", "duplicate_node_id", node=spec.id)
            continue
        graph.add_node(spec.id)
        if spec.id.lower() in RESERVED_IDS:
            report.add(spec.id, "id", "reserved_node_id", node=spec.id)
        node_type = registry.get(spec.type)
        if node_type is None:
            report.add(
                spec.id, "type", "unknown_node_type", type=spec.type, known=", ".join(sorted(registry))
            )
            continue
        try:
            config = node_type.Config.model_validate(spec.config)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                report.add_coded(spec.id, _loc_to_field(("config", *error["loc"])), coded_problem(error))
            continue
        instances[spec.id] = node_type(spec.id, config)

    for index, edge in enumerate(document.edges):
        missing = [end for end in (edge.source, edge.target) if end not in graph]
        if missing:
            known = next((end for end in (edge.source, edge.target) if end in graph), None)
            report.add(
                known,
                f"edges.{index}",
                "edge_unknown_node",
                source=edge.source,
                target=edge.target,
                missing=", ".join(repr(m) for m in missing),
            )
            continue
        if graph.has_edge(edge.source, edge.target):
            report.add(
                edge.source, f"edges.{index}", "duplicate_edge", source=edge.source, target=edge.target
            )
            continue
        graph.add_edge(edge.source, edge.target, when=edge.when)
        source = instances.get(edge.source)
        if edge.when is not None and source is not None:
            branches = source.branches()
            if branches is None:
                report.add(
                    edge.source,
                    f"edges.{index}.when",
                    "edge_when_without_branches",
                    source=edge.source,
                    type=source.type,
                )
            elif edge.when not in branches:
                report.add(
                    edge.source,
                    f"edges.{index}.when",
                    "unknown_branch",
                    branch=edge.when,
                    node=edge.source,
                    branches=", ".join(branches),
                )

    _check_agent_tools(document, instances, report)
    acyclic = _check_cycles(graph, report)
    _check_reachability(graph, document, report)
    if acyclic:
        _check_references(graph, document, instances, report)
    _check_outputs(document, instances, report)
    check_cases(document, instances, report)
    report.graph = graph
    report.instances = instances


# Risk classes of the card under which an agent's tool may change something without a
# person approving each call (`approve: never`): only where little can go wrong.
UNAPPROVED_SIDE_EFFECTS_RISKS = ("minimal",)


def _check_agent_tools(document: FlowDocument, instances: Mapping[str, Node], report: Validation) -> None:
    """An agent's tool that changes something runs without approval only if the card allows it.

    Checked here, not in the policy: the policy decides about people and resources, and no
    person is asked when a document is validated — but every version is validated before it
    is cut, so no approved version has such a tool."""
    from nodes.agent import AgentNode

    risk = document.card.risk
    for node_id, instance in instances.items():
        if not isinstance(instance, AgentNode):
            continue
        for index, tool in enumerate(instance.config.tools):  # type: ignore[attr-defined]
            if tool.approve == "never" and tool.side_effects and risk not in UNAPPROVED_SIDE_EFFECTS_RISKS:
                report.add(
                    node_id,
                    f"config.tools.{index}.approve",
                    "agent_approval_required",
                    tool=tool.name,
                    risk=risk,
                    allowed=", ".join(UNAPPROVED_SIDE_EFFECTS_RISKS),
                )


def _check_cycles(graph: nx.DiGraph, report: Validation) -> bool:
    import networkx as nx

    acyclic = True
    for component in nx.strongly_connected_components(graph):
        if len(component) == 1:
            (only,) = component
            if not graph.has_edge(only, only):
                continue
        acyclic = False
        cycle = [edge[0] for edge in nx.find_cycle(graph.subgraph(component))]
        path = " → ".join([*cycle, cycle[0]])
        for node_id in sorted(component):
            report.add(node_id, None, "cycle", path=path)
    return acyclic


def _check_reachability(graph: nx.DiGraph, document: FlowDocument, report: Validation) -> None:
    import networkx as nx

    starts = [spec.id for spec in document.nodes if spec.type == "input"]
    if not starts:
        report.add(None, "nodes", "no_input_node")
        return
    if len(starts) > 1:
        for node_id in starts[1:]:
            report.add(node_id, "type", "second_input_node", first=starts[0])
    reachable = nx.descendants(graph, starts[0]) | {starts[0]}
    for spec in document.nodes:
        if spec.id not in reachable and spec.id in graph:
            report.add(spec.id, None, "unreachable_node", node=spec.id, input=starts[0])


def _ancestor_sets(graph: nx.DiGraph) -> dict[str, int]:
    """Ancestors of every node as a bitset (Python int): O(N·E/64) instead of O(N²) walks."""
    import networkx as nx

    bit = {node: 1 << index for index, node in enumerate(graph.nodes)}
    ancestors: dict[str, int] = {}
    for node in nx.topological_sort(graph):
        mask = 0
        for parent in graph.predecessors(node):
            mask |= ancestors[parent] | bit[parent]
        ancestors[node] = mask
    return ancestors


def _check_references(
    graph: nx.DiGraph, document: FlowDocument, instances: Mapping[str, Node], report: Validation
) -> None:
    ancestors = _ancestor_sets(graph)
    bit = {node: 1 << index for index, node in enumerate(graph.nodes)}
    for node_id, instance in instances.items():
        sources = [(f"config.{name}", text, False) for name, text in instance.templates().items()]
        sources += [(f"config.{name}", text, True) for name, text in instance.expressions().items()]
        for field_name, text, is_expression in sources:
            try:
                found = references(text, expression=is_expression)
            except TemplateError as exc:
                report.add_coded(node_id, field_name, _template_problem(exc))
                continue
            for name, attribute in sorted(found, key=lambda item: (item[0], item[1] or "")):
                problem = _reference_problem(
                    name,
                    attribute,
                    document,
                    instances,
                    upstream=lambda other, mine=ancestors[node_id]: bool(mine & bit[other]),
                )
                if problem:
                    report.add_coded(node_id, field_name, problem)


def _reference_problem(
    name: str,
    attribute: str | None,
    document: FlowDocument,
    instances: Mapping[str, Node],
    upstream: Any,
) -> dict[str, Any] | None:
    if name == "inputs":
        if attribute is not None and attribute not in document.inputs:
            return coded("undeclared_input", name=attribute, declared=", ".join(document.inputs) or "none")
        return None
    if name not in instances:
        if any(spec.id == name for spec in document.nodes):
            return None  # the node itself has an error already
        return coded("unknown_reference", reference=name)
    if upstream is not None and not upstream(name):
        return coded("not_upstream", reference=name)
    if attribute is not None:
        declared = instances[name].declared_outputs(document.inputs)
        if attribute not in declared:
            return coded(
                "unknown_node_output", node=name, output=attribute, outputs=", ".join(declared) or "none"
            )
    return None


def _template_problem(exc: TemplateError) -> dict[str, Any]:
    """A template that cannot be read, by the code the templating gave it."""
    if exc.code:
        return {"code": exc.code, "params": exc.parameters(), "message": exc.message}
    return coded("template_syntax", line=0, detail=exc.message)


def _check_outputs(document: FlowDocument, instances: Mapping[str, Node], report: Validation) -> None:
    for output_name, text in document.outputs.items():
        field_name = f"outputs.{output_name}"
        try:
            found = references(text)
        except TemplateError as exc:
            report.add_coded(None, field_name, _template_problem(exc))
            continue
        for name, attribute in sorted(found, key=lambda item: (item[0], item[1] or "")):
            problem = _reference_problem(name, attribute, document, instances, upstream=None)
            if problem:
                report.add_coded(name if name in instances else None, field_name, problem)


async def validate_document_in_thread(
    raw: Any, registry: NodeRegistry = DEFAULT_REGISTRY, *, raw_size: int | None = None
) -> Validation:
    """`validate_document` in a worker thread, for request handlers: parsing a document's
    templates can take a good part of a second, during which the event loop (and every
    other request, /health included) must keep running."""
    return await asyncio.to_thread(validate_document, raw, registry, raw_size=raw_size)


__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_NODES",
    "Validation",
    "canonical_document",
    "too_large",
    "validate_document",
    "validate_document_in_thread",
]
