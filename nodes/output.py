"""`output`: marks the end of a flow. The run's result comes from the document's `outputs`."""

from __future__ import annotations

from nodes.base import Node, NodeConfig, NodeContext, Outputs, Scope


class OutputConfig(NodeConfig):
    pass


class OutputNode(Node[OutputConfig]):
    type = "output"
    title = "Output"
    description = "End of the flow. What the caller gets is defined in the flow's outputs."
    category = "flow"

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs:
        return {}
