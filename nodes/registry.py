"""Which node types exist: `type` string → class. A new type is one module + one line here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from nodes.agent import AgentNode
from nodes.approval import ApprovalNode
from nodes.assistant import AssistantNode
from nodes.base import Node
from nodes.connector import ConnectorNode
from nodes.input import InputNode
from nodes.llm import LLMNode
from nodes.map import MapNode
from nodes.output import OutputNode
from nodes.retrieval import RetrievalNode
from nodes.router import RouterNode
from nodes.template import TemplateNode


class NodeRegistry(Mapping[str, type[Node]]):
    """An immutable mapping of node types; tests and benchmarks may build their own."""

    def __init__(self, types: Iterable[type[Node]]) -> None:
        self._types: dict[str, type[Node]] = {}
        for node_type in types:
            if node_type.type in self._types:
                raise ValueError(f"node type '{node_type.type}' registered twice")
            self._types[node_type.type] = node_type

    def __getitem__(self, key: str) -> type[Node]:
        return self._types[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def with_types(self, *types: type[Node]) -> NodeRegistry:
        return NodeRegistry([*self._types.values(), *types])


DEFAULT_REGISTRY = NodeRegistry(
    [
        InputNode,
        OutputNode,
        TemplateNode,
        LLMNode,
        RouterNode,
        ApprovalNode,
        RetrievalNode,
        ConnectorNode,
        AgentNode,
        AssistantNode,
        MapNode,
    ]
)
