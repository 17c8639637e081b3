"""`router`: chooses the path the run takes.

Two modes:

* **condition** — a Jinja2 expression such as `inputs.amount > 50000`. A true/false
  result takes the edge `when: "true"` / `"false"`; a string result takes the edge with
  that name (declare the possible names in `branches`).
* **classification** — the LLM sorts `text` into one of `classes` and says how
  confident it is. Below `threshold` the run takes the `review` branch instead, so a
  person can look at it.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from nodes.base import Node, NodeConfig, NodeContext, Outputs, Scope, template_field
from nodes.errors import NodeError
from nodes.llm import parse_json_answer
from nodes.services import ChatModel, ChatRequest

REVIEW = "review"


class RouterConfig(NodeConfig):
    condition: str | None = Field(
        None, description="Expression, e.g. inputs.amount > 50000 (true/false or a branch name)"
    )
    branches: list[str] = Field(
        default_factory=list,
        description="Branch names the condition can return (default: true, false)",
    )
    classes: list[str] | None = Field(
        None, description="Classes for LLM classification, e.g. billing, technical, other"
    )
    text: str = template_field("What to classify, e.g. {{ inputs.ticket }}", "")
    instructions: str = Field("", description="Extra guidance for the classification")
    model: str = Field("default", description="Model endpoint for classification")
    threshold: float = Field(
        0.0, ge=0.0, le=1.0, description="Below this confidence the run goes to 'review'"
    )
    timeout_s: float = Field(60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _one_mode(self) -> RouterConfig:
        if bool(self.condition) == bool(self.classes):
            raise PydanticCustomError(
                "router_one_mode", "set either 'condition' or 'classes' (exactly one of them)"
            )
        if self.classes is not None and len(set(self.classes)) != len(self.classes):
            raise PydanticCustomError("router_class_twice", "'classes' contains a class twice")
        if self.classes and REVIEW in self.classes:
            raise PydanticCustomError(
                "router_review_reserved", "'review' is reserved for low-confidence results"
            )
        return self


class RouterNode(Node[RouterConfig]):
    type = "router"
    title = "Router"
    description = "Sends the run down one branch: by a condition, or by an LLM classification."
    category = "logic"
    outputs = ("branch", "confidence", "label")
    template_fields = ("text",)
    expression_fields = ("condition",)

    def is_costly(self) -> bool:
        """A classification asks the model (persisted at once); a condition is free."""
        return bool(self.config.classes)

    def branches(self) -> tuple[str, ...]:
        config = self.config
        if config.classes:
            return (*config.classes, REVIEW)
        return tuple(config.branches) or ("true", "false")

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs:
        config = self.config
        if config.condition:
            return await self._by_condition(ctx, config.condition, scope)
        return await self._by_classification(ctx, config.classes or [], scope)

    async def _by_condition(self, ctx: NodeContext, condition: str, scope: Scope) -> Outputs:
        config = self.config
        value = await ctx.evaluate(condition, scope)
        if isinstance(value, str) and config.branches:
            if value not in config.branches:
                raise NodeError(
                    f"the condition returned '{value}', which is not one of the branches "
                    f"{', '.join(config.branches)}",
                    field="config.condition",
                    code="router_bad_branch",
                    value=value,
                    branches=", ".join(config.branches),
                )
            branch = value
        else:
            branch = "true" if value else "false"
        return {"branch": branch, "confidence": 1.0, "label": branch}

    async def _by_classification(self, ctx: NodeContext, classes: list[str], scope: Scope) -> Outputs:
        config = self.config
        text = await ctx.render(config.text, scope)
        system = (
            "You classify text into exactly one of these classes: "
            + ", ".join(classes)
            + '. Answer with JSON: {"label": <class>, "confidence": <0..1>}.'
            + (f" {config.instructions}" if config.instructions else "")
        )
        model: ChatModel = ctx.service("llm")
        result = await model.chat(
            ChatRequest(
                model=config.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
                temperature=0.0,
                max_tokens=64,
                json_schema={
                    "type": "object",
                    "properties": {
                        "label": {"type": "string", "enum": classes},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                    "required": ["label", "confidence"],
                },
                timeout_s=self.timeout_s(),
            )
        )
        ctx.record_usage(result.usage.get("prompt_tokens", 0), result.usage.get("completion_tokens", 0))
        answer = parse_json_answer(result.text)
        if not isinstance(answer, dict):  # JSON, but not the object asked for
            answer = {}
        label = answer.get("label")
        try:
            confidence = max(0.0, min(1.0, float(answer.get("confidence", 0.0))))
        except (TypeError, ValueError):
            confidence = 0.0
        if label not in classes:
            return {"branch": REVIEW, "confidence": 0.0, "label": label}
        branch = label if confidence >= config.threshold else REVIEW
        return {"branch": branch, "confidence": confidence, "label": label}
