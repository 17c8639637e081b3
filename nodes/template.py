"""`template`: renders a sandboxed Jinja2 template into text."""

from __future__ import annotations

from nodes.base import Node, NodeConfig, NodeContext, Outputs, Scope, template_field


class TemplateConfig(NodeConfig):
    template: str = template_field("Jinja2 template, e.g. Hello {{ inputs.name }}")


class TemplateNode(Node[TemplateConfig]):
    type = "template"
    title = "Template"
    description = "Renders text from a template, e.g. to build a prompt or an e-mail body."
    category = "logic"
    outputs = ("text",)
    template_fields = ("template",)

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs:
        return {"text": await ctx.render(self.config.template, scope)}
