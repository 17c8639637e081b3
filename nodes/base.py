"""The node contract — the one place it is written down.

A node type is one class in one module of this package, plus one line in
`nodes/registry.py`::

    class TemplateConfig(NodeConfig):
        template: str = template_field("Jinja2 template, e.g. Hello {{ inputs.name }}")


    class TemplateNode(Node[TemplateConfig]):
        type = "template"
        title = "Template"
        description = "Renders a Jinja2 template (sandboxed)."
        category = "logic"
        outputs = ("text",)
        template_fields = ("template",)

        async def run(self, ctx: NodeContext, scope: Scope) -> Outputs:
            return {"text": await ctx.render(self.config.template, scope)}

The rules:

1. **Config.** A node's config is a Pydantic model derived from `NodeConfig` (unknown
   fields are refused), named as the type parameter: `Node[TemplateConfig]` makes
   `self.config` a `TemplateConfig` for the type checker and `TemplateNode.Config` the
   model the flow validator checks a document's `config` against. Its JSON schema drives
   the studio's form (`describe()`), so every field has a description. Fields that hold
   Jinja2 templates are named in `template_fields`; the flow validator checks every
   `{{ node.field }}` reference in them. (The older spelling, a nested `class
   Config(NodeConfig)` in an unparameterised `Node` subclass, still works; its
   `self.config` is untyped.)
2. **Outputs.** `outputs` names the keys `run` returns; nothing else is visible
   downstream. A type whose outputs depend on its config or on the document (the
   `input` node) overrides `declared_outputs`.
3. **Scope.** `run(ctx, scope)` receives the template scope: `{"inputs": <flow
   inputs>, "<node id>": <that node's outputs>, ...}` for every upstream node that has
   finished. A node on a branch that was not taken appears with all its declared
   outputs set to `None` (rendered as an empty string).
4. **Context.** `ctx` (a `NodeContext`) is everything a node may touch outside itself:
   `await ctx.render(template, scope)` for sandboxed templates and
   `await ctx.evaluate(expression, scope)` for expressions (both under the template
   budget: a template that needs Jinja's general machinery is rendered in a worker
   process with a time and memory limit, never on the event loop);
   `await ctx.send(event)` streams an event (an LLM token) to whoever watches the run;
   `ctx.record_usage(prompt_tokens, completion_tokens)` counts tokens (`ctx.usage`
   holds the sum); `ctx.service(name)` is a client the runtime hands in (`"llm"`,
   `"knowledge"`, `"connections"`, `"assistants"`), or a `NodeError` naming what is missing;
   `ctx.caller_id` / `ctx.workspace_id` say who the run acts for and where (knowledge
   search, for one, is filtered by that person's access); `ctx.is_test` marks a test
   run from the editor. Nodes never import `runtime`.
5. **Errors.** A node raises `NodeError` with a message a champion understands (what
   was expected, what was found). The engine wraps every failure with the node's id and
   type; a node need not repeat them.
6. **Branches.** A node that chooses a path returns a `branch` output and lists the
   possible names in `branches()`. Outgoing edges with `when` equal to the branch are
   taken, edges without `when` always.
7. **Suspension.** A node that needs a person (the `approval` node) returns a
   `Suspend` instead of outputs. The engine persists the run as `waiting`; when the
   task is decided it calls `resume(ctx, resolution)` for the node's outputs — possibly
   in another process, days later. Everything a node needs to resume must therefore be
   in the `Suspend` request (handed back as `resolution.request`) or the resolution,
   never in memory. `resume` may suspend again (an agent's next call that needs a
   person): its request then says `approval_round` (2, 3, ...), one task per round.
8. **Purity.** A node instance is created per run from its config; it keeps no state
   between runs. Anything with side effects outside Dirigent (a connector) should make
   the effect idempotent using `ctx.idempotency_key`.
9. **Cost.** A type whose execution costs money or noticeable time (an LLM call, an
   agent's turns) sets `costly = True` (or overrides `is_costly()` when that depends on
   its config, as the router's LLM classification does). The engine then persists its
   step the moment it finishes, so that a run taken over after a crash does not pay for
   it again; any step that took longer than a second is persisted at once, too. Cheap
   steps are written behind, in batches. (`side_effects = True` is the stronger promise
   for effects outside Dirigent: such a step is persisted at once as well.)
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from nodes.errors import NodeError
from nodes.rendering.workers import shared_templates

Scope = Mapping[str, Any]
Outputs = dict[str, Any]


class NodeConfig(BaseModel):
    """Base of every node's config model: strict, so a typo in a field name is an error."""

    # The title "Config" is what the studio has always received at the top of a node
    # type's form schema (`describe()`), from the nested `class Config` of earlier
    # nodes; a config model named after its node type keeps it.
    model_config = ConfigDict(extra="forbid", title="Config")


ConfigT = TypeVar("ConfigT", bound=NodeConfig)


def template_field(description: str, default: Any = ..., **extra: Any) -> Any:
    """A config field that holds a Jinja2 template (the studio shows variable hints)."""
    return Field(default, description=description, json_schema_extra={"format": "template", **extra})


@dataclass(frozen=True)
class Suspend:
    """Returned by a node that waits for a person; the engine persists the request.

    `request` must be JSON-serialisable: it is stored and shown to the assignees.
    """

    kind: str
    request: dict[str, Any]


@dataclass(frozen=True)
class Resolution:
    """How a suspension ended: a decision (`approve`/`reject`) or `timeout`."""

    outcome: str  # "approved" | "rejected" | "timeout"
    comment: str = ""
    payload: Any = None
    decided_by: list[str] = field(default_factory=list)
    # The `Suspend.request` the decision answers, as stored with the waiting step.
    request: dict[str, Any] | None = None


# `ctx.render(template, scope)` and `ctx.evaluate(expression, scope)`.
Renderer = Callable[[str, Scope], Awaitable[str]]
Evaluator = Callable[[str, Scope], Awaitable[Any]]


def _shared_render(template: str, scope: Scope) -> Awaitable[str]:
    return shared_templates().render(template, scope)


def _shared_evaluate(expression: str, scope: Scope) -> Awaitable[Any]:
    return shared_templates().evaluate(expression, scope)


@dataclass
class NodeContext:
    """What a node may use while it runs. Built by the engine, one per node execution."""

    run_id: str
    node_id: str
    node_type: str
    flow_inputs: Mapping[str, Any]
    # The engine hands in its `nodes.rendering.workers.Templates`; without one, the process's.
    render: Renderer = _shared_render
    evaluate: Evaluator = _shared_evaluate
    services: Mapping[str, Any] = field(default_factory=dict)
    emit: Callable[[dict[str, Any]], Awaitable[None] | None] | None = None
    fixed_outputs: Mapping[str, Any] | None = None
    usage: dict[str, int] = field(default_factory=dict)
    # The user the run acts for (who started it; None for a run without a person) and
    # the workspace of the flow: services that filter by access are asked on their behalf.
    caller_id: str | None = None
    workspace_id: str | None = None
    # A test run from the editor: connections use their test target; without one they
    # refuse side effects, and make read-only calls only with `allow_live_reads`.
    is_test: bool = False
    allow_live_reads: bool = False

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and resumes of the same run: `run id:node id`."""
        return f"{self.run_id}:{self.node_id}"

    def record_usage(self, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        self.usage["prompt_tokens"] = self.usage.get("prompt_tokens", 0) + int(prompt_tokens)
        self.usage["completion_tokens"] = self.usage.get("completion_tokens", 0) + int(completion_tokens)
        self.usage["total_tokens"] = self.usage["prompt_tokens"] + self.usage["completion_tokens"]

    async def send(self, event: dict[str, Any]) -> None:
        """Stream an event (e.g. an LLM token) to whoever watches the run."""
        if self.emit is None:
            return
        result = self.emit({"node": self.node_id, **event})
        if result is not None:
            await result

    def service(self, name: str) -> Any:
        """A client the runtime handed in, or a clear error naming what is missing."""
        try:
            return self.services[name]
        except KeyError:
            raise NodeError(
                f"this node needs the '{name}' service, which is not configured in this "
                f"runtime (available: {', '.join(sorted(self.services)) or 'none'})",
                code="service_not_configured",
                service=name,
                available=", ".join(sorted(self.services)) or "none",
            ) from None


class Node(Generic[ConfigT]):
    """Base class of every node type; see the module docstring for the contract.

    `Node[SomeConfig]` types `self.config` as `SomeConfig` and sets `Config` to it.
    """

    type: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    category: ClassVar[str] = "logic"
    outputs: ClassVar[tuple[str, ...]] = ()
    template_fields: ClassVar[tuple[str, ...]] = ()
    # builtins.type: inside this class body, `type` is the node's type name above.
    Config: ClassVar[builtins.type[NodeConfig]] = NodeConfig
    # Default time a single execution may take; config `timeout_s` overrides when present.
    default_timeout_s: ClassVar[float] = 60.0
    # True for types with effects outside Dirigent: the engine persists their steps at once.
    side_effects: ClassVar[bool] = False
    # True for types that cost money or time to run (rule 9): their steps are persisted at once.
    costly: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Config" in cls.__dict__:  # the nested spelling: `class Config(NodeConfig)`
            return
        for base in cls.__dict__.get("__orig_bases__", ()):
            if get_origin(base) is Node:
                (config,) = get_args(base)
                if isinstance(config, builtins.type) and issubclass(config, NodeConfig):
                    cls.Config = config

    def __init__(self, node_id: str, config: ConfigT) -> None:
        self.id = node_id
        self.config: ConfigT = config

    # -- static description, used by validation and the studio ----------------------
    def declared_outputs(self, flow_inputs: Mapping[str, Any]) -> tuple[str, ...]:
        """Output names downstream templates may reference."""
        return self.outputs

    def branches(self) -> tuple[str, ...] | None:
        """Branch names this node can choose, or None when it does not branch."""
        return None

    def is_costly(self) -> bool:
        """Whether running this node costs money or noticeable time (rule 9)."""
        return self.costly

    def timeout_s(self) -> float:
        # Called for every execution: look the field up in the model's fields first, since a
        # missing attribute costs a trip through pydantic's __getattr__ and an AttributeError.
        fields = getattr(type(self.config), "model_fields", None)
        if fields is not None and "timeout_s" not in fields:
            return float(self.default_timeout_s)
        return float(getattr(self.config, "timeout_s", None) or self.default_timeout_s)

    expression_fields: ClassVar[tuple[str, ...]] = ()

    def expressions(self) -> dict[str, str]:
        """Jinja2 expressions (not templates) in the config, e.g. a router condition."""
        return {
            name: value
            for name in self.expression_fields
            if isinstance(value := getattr(self.config, name, None), str) and value
        }

    def templates(self) -> dict[str, str]:
        """The template strings of this node, by config field path (for validation)."""
        found: dict[str, str] = {}
        for name in self.template_fields:
            value = getattr(self.config, name, None)
            if isinstance(value, str):
                found[name] = value
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, str):
                        found[f"{name}.{index}"] = item
            elif isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(item, str):
                        found[f"{name}.{key}"] = item
        return found

    # -- behaviour ------------------------------------------------------------------
    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs | Suspend:
        raise NotImplementedError

    async def resume(self, ctx: NodeContext, resolution: Resolution) -> Outputs | Suspend:
        raise NodeError(f"node type '{self.type}' cannot be resumed", code="node_not_resumable")

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The public description served by `GET /api/node-types`."""
        return {
            "type": cls.type,
            "title": cls.title,
            "description": cls.description,
            "category": cls.category,
            "outputs": list(cls.outputs),
            "template_fields": list(cls.template_fields),
            "config_schema": cls.Config.model_json_schema(),
        }
