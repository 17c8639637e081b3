"""`assistant`: a published assistant, called as one node of another flow.

The node starts the assistant (`assistant`: its slug; `version`: a published number or
"live") as a sub-run linked to this run, for the same person (`ctx.caller_id`): the
policy decides whether they may invoke it, and what the sub-run reads is filtered by
their access. `inputs` maps the sub-assistant's input names to templates; a value that is
one `{{ expression }}` keeps its type (a number, a list), anything else is text.

Outputs: the sub-run's outputs under `outputs`, each of them also under its own name when
listed in `outputs_expected` (so that `{{ <id>.answer }}` can be checked when the flow is
saved), and `run_id`. When the sub-run waits for a person (or is still running after
`timeout_s`), this node waits too: it suspends with the sub-run's id in its request and
the runtime resumes it once the sub-run has ended (`runtime.runs.sub_run_waits`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field

from nodes.base import Node, NodeConfig, NodeContext, Outputs, Resolution, Scope, Suspend
from nodes.errors import NodeError
from nodes.services import WAITS_FOR_SUB_RUNS, AssistantRuns, SubRunOutcome, SubRunRequest

SLUG = r"^[a-z0-9][a-z0-9-]{1,62}$"
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(.+?)\}\}\s*$", re.DOTALL)
OUTPUT_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
# How long a node waits for sub-runs itself: under the engine's cap on a node's time
# (`DIRIGENT_NODE_TIMEOUT_S`, 300 s by default); past it, the run waits (stored, no timer).
MAX_WAIT_S = 280.0
# A published version's number (versions count from 1).
PublishedNumber = Annotated[int, Field(ge=1)]


def version_of(value: int | Literal["live"]) -> int | None:
    return None if value == "live" else int(value)


async def render_inputs(ctx: NodeContext, templates: Mapping[str, str], scope: Scope) -> dict[str, Any]:
    """Each value rendered; one that is a single `{{ expression }}` keeps its type."""
    values: dict[str, Any] = {}
    for name, template in templates.items():
        match = _SINGLE_EXPRESSION.match(template)
        values[name] = (
            await ctx.evaluate(match.group(1), scope) if match else await ctx.render(template, scope)
        )
    return values


def waiting_for(run_ids: list[str], **extra: Any) -> Suspend:
    """The suspension of a node that waits for sub-runs (no person is asked)."""
    return Suspend(kind="sub_runs", request={"waits_for": WAITS_FOR_SUB_RUNS, "sub_runs": run_ids, **extra})


def stored_sub_runs(resolution: Resolution) -> list[str]:
    request = resolution.request if isinstance(resolution.request, dict) else {}
    ids = request.get("sub_runs")
    if not isinstance(ids, list):
        raise NodeError("the stored list of sub-runs is missing; the node cannot go on", code="sub_runs_lost")
    return [str(run_id) for run_id in ids]


class AssistantConfig(NodeConfig):
    assistant: str = Field(..., pattern=SLUG, description="Slug of a published assistant")
    version: PublishedNumber | Literal["live"] = Field(
        "live", description='A published version number, or "live" for whatever is live when it runs'
    )
    inputs: dict[str, str] = Field(
        default_factory=dict,
        description="The assistant's inputs: {name: template}, e.g. {question: {{ inputs.question }}}",
        json_schema_extra={"format": "template"},
    )
    outputs_expected: list[Annotated[str, Field(pattern=OUTPUT_NAME)]] = Field(
        default_factory=list,
        max_length=64,
        description="Outputs of the assistant that later nodes refer to by name, e.g. answer",
    )
    timeout_s: float = Field(
        120.0,
        gt=0,
        le=MAX_WAIT_S,
        description="Seconds to wait for the sub-run in the node before the run waits for it (stored)",
    )


class AssistantNode(Node[AssistantConfig]):
    type = "assistant"
    title = "Assistant"
    description = "Calls another published assistant, for the same person, as a linked sub-run."
    category = "logic"
    outputs = ("outputs", "run_id")
    template_fields = ("inputs",)
    default_timeout_s = 130.0
    side_effects = True  # the sub-assistant may call connections: persisted at once
    costly = True

    def declared_outputs(self, flow_inputs: Mapping[str, Any]) -> tuple[str, ...]:
        return (*self.outputs, *(name for name in self.config.outputs_expected if name not in self.outputs))

    def timeout_s(self) -> float:
        return float(self.config.timeout_s) + 10.0  # the node's own wait ends first

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs | Suspend:
        service: AssistantRuns = ctx.service("assistants")
        run_id = await service.start(
            SubRunRequest(
                assistant=self.config.assistant,
                version=version_of(self.config.version),
                inputs=await render_inputs(ctx, self.config.inputs, scope),
                parent_run_id=ctx.run_id,
                caller_id=ctx.caller_id,
                is_test=ctx.is_test,
            )
        )
        outcome = await service.wait(run_id, self.config.timeout_s)
        if not outcome.ended:
            return waiting_for([run_id], assistant=self.config.assistant)
        return self._outputs(outcome)

    async def resume(self, ctx: NodeContext, resolution: Resolution) -> Outputs | Suspend:
        service: AssistantRuns = ctx.service("assistants")
        [outcome] = await service.outcomes(stored_sub_runs(resolution))
        if not outcome.ended:  # resumed early: wait on
            return waiting_for([outcome.run_id], assistant=self.config.assistant)
        return self._outputs(outcome)

    def _outputs(self, outcome: SubRunOutcome) -> Outputs:
        if outcome.status != "succeeded":
            error = outcome.error or {}
            raise NodeError(
                f"assistant '{self.config.assistant}' ended {outcome.status} (run {outcome.run_id}): "
                f"{error.get('message', '')}",
                code="assistant_run_failed",
                assistant=self.config.assistant,
                status=outcome.status,
                run_id=outcome.run_id,
                detail=str(error.get("message", "")),
            )
        outputs = dict(outcome.outputs or {})
        missing = [name for name in self.config.outputs_expected if name not in outputs]
        if missing:
            raise NodeError(
                f"assistant '{self.config.assistant}' has no output {', '.join(missing)} "
                f"(it has: {', '.join(outputs) or 'none'})",
                code="assistant_output_missing",
                assistant=self.config.assistant,
                missing=", ".join(missing),
                available=", ".join(outputs) or "none",
            )
        return {**outputs, "outputs": outputs, "run_id": outcome.run_id}
