"""`llm`: a chat completion against a registered model endpoint, streamed to the caller."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from nodes.base import Node, NodeConfig, NodeContext, Outputs, Scope, template_field
from nodes.errors import NodeError
from nodes.services import ChatModel, ChatRequest


class LLMConfig(NodeConfig):
    model: str = Field("default", description="Name of a registered model endpoint")
    system: str = template_field("System prompt: role and rules for the model", "")
    prompt: str = template_field("User prompt, e.g. {{ inputs.question }}")
    temperature: float = Field(0.2, ge=0.0, le=2.0, description="Creativity, 0 = deterministic")
    max_tokens: int = Field(512, ge=1, le=32_768, description="Longest answer in tokens")
    json_schema: dict[str, Any] | None = Field(
        None, description="If set, the answer must be JSON valid against this schema"
    )
    timeout_s: float = Field(120.0, gt=0, le=3600, description="Seconds before giving up")


class LLMNode(Node[LLMConfig]):
    type = "llm"
    title = "LLM"
    description = "Asks the language model: a system and a user prompt in, text (or JSON) out."
    category = "ai"
    outputs = ("text", "json", "usage")
    template_fields = ("system", "prompt")
    default_timeout_s = 120.0
    costly = True  # a model call: its step is persisted as soon as it finishes

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs:
        config = self.config
        messages = []
        system = await ctx.render(config.system, scope)
        if system.strip():
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": await ctx.render(config.prompt, scope)})
        model: ChatModel = ctx.service("llm")

        async def forward(token: str) -> None:
            await ctx.send({"type": "token", "text": token})

        result = await model.chat(
            ChatRequest(
                model=config.model,
                messages=messages,
                temperature=config.temperature,
                max_tokens=config.max_tokens,
                json_schema=config.json_schema,
                timeout_s=self.timeout_s(),
            ),
            on_token=forward,
        )
        ctx.record_usage(result.usage.get("prompt_tokens", 0), result.usage.get("completion_tokens", 0))
        parsed: Any = None
        if config.json_schema is not None:
            parsed = parse_json_answer(result.text)
        return {"text": result.text, "json": parsed, "usage": dict(ctx.usage)}


def parse_json_answer(text: str) -> Any:
    """The model's JSON answer; tolerates a ```json fence some servers add."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`")
        stripped = stripped[4:] if stripped.lower().startswith("json") else stripped
    try:
        return json.loads(stripped)
    except ValueError:
        raise NodeError(
            f"the model was asked for JSON but answered something else: {text[:200]!r}",
            code="llm_not_json",
            answer=text[:200],
        ) from None
