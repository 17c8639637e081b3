"""The node contract's config typing (`nodes/base.py`): `Node[SomeConfig]` and the older
nested `class Config` spelling give the registry, validation and `describe()` the same model."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field, ValidationError

from nodes.base import Node, NodeConfig, NodeContext, Outputs, Scope, template_field
from nodes.llm import LLMConfig, LLMNode
from nodes.registry import DEFAULT_REGISTRY


class GreetingConfig(NodeConfig):
    greeting: str = template_field("What to say", "Hallo")
    times: int = Field(1, ge=1, description="How often")


class TypedNode(Node[GreetingConfig]):
    type = "typed"
    title = "Typed"
    outputs = ("text",)

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs:
        return {"text": self.config.greeting * self.config.times}


class NestedNode(Node):
    """Written the way node types were before `Node[...]`: must keep working unchanged."""

    type = "nested"
    title = "Nested"
    outputs = ("text",)

    class Config(NodeConfig):
        greeting: str = template_field("What to say", "Hallo")
        times: int = Field(1, ge=1, description="How often")

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs:
        config: Any = self.config
        return {"text": config.greeting * config.times}


class LouderNode(TypedNode):
    type = "louder"
    title = "Louder"


def test_the_type_parameter_is_the_config_model() -> None:
    assert TypedNode.Config is GreetingConfig
    assert LouderNode.Config is GreetingConfig  # inherited like any class attribute
    assert LLMNode.Config is LLMConfig
    assert all(node_type.Config is not NodeConfig for node_type in DEFAULT_REGISTRY.values())


def test_both_spellings_describe_and_validate_alike() -> None:
    typed, nested = TypedNode.describe(), NestedNode.describe()
    assert typed["config_schema"] == nested["config_schema"]
    assert typed["config_schema"]["title"] == "Config"  # what the studio has always received
    assert typed["config_schema"]["properties"]["greeting"]["format"] == "template"
    for node_type in (TypedNode, NestedNode):
        with pytest.raises(ValidationError):
            node_type.Config.model_validate({"greting": "typo"})  # unknown fields are refused
        with pytest.raises(ValidationError):
            node_type.Config.model_validate({"times": 0})


async def test_both_spellings_run() -> None:
    ctx = NodeContext(run_id="r", node_id="n", node_type="typed", flow_inputs={})
    for node_type in (TypedNode, NestedNode):
        node = node_type("n", node_type.Config.model_validate({"greeting": "ja", "times": 2}))
        assert await node.run(ctx, {}) == {"text": "jaja"}


def test_a_registry_accepts_both_spellings() -> None:
    registry = DEFAULT_REGISTRY.with_types(TypedNode, NestedNode)
    assert registry["typed"].Config is GreetingConfig
    assert registry["nested"].Config is NestedNode.Config
