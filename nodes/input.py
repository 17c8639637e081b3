"""`input`: where a run starts. Its outputs are the flow's declared inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes.base import Node, NodeConfig, NodeContext, Outputs, Scope


class InputConfig(NodeConfig):
    pass


class InputNode(Node[InputConfig]):
    type = "input"
    title = "Input"
    description = "Start of the flow. Downstream nodes read the flow's inputs as {{ inputs.name }}."
    category = "flow"

    def declared_outputs(self, flow_inputs: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(flow_inputs)

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs:
        return dict(ctx.flow_inputs)
