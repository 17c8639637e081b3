"""`map`: a published assistant run once for each item of a list.

`items` is an expression that yields a list (e.g. `inputs.customers` or `fetch.response.rows`);
`input` maps the assistant's input names to templates in which `item` (and `index`) stand for
the current item. At most `max_parallel` sub-runs go at once; more than `max_items` items are
refused with `map_too_many_items` before anything starts. Each item is a sub-run of this run,
for the same person (`nodes/assistant.py` says what that means).

Outputs: `results` (one per item, in the items' order: the sub-run's outputs, or null when it
failed), `failed` (`{index, run_id, code, message}` per failed item), `count`, `run_ids`
(the sub-run of each item, linked to this run by its `parent_run_id`).

When a sub-run waits for a person, the node waits until all of its sub-runs have ended
(the ids are in its suspension's request, so any process can collect them), then collects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from nodes.assistant import (
    MAX_WAIT_S,
    SLUG,
    PublishedNumber,
    render_inputs,
    stored_sub_runs,
    version_of,
    waiting_for,
)
from nodes.base import Node, NodeConfig, NodeContext, Outputs, Resolution, Scope, Suspend
from nodes.errors import NodeError
from nodes.services import AssistantRuns, SubRunOutcome, SubRunRequest

HARD_MAX_PARALLEL = 16
HARD_MAX_ITEMS = 1000
# Errors of starting a sub-run that would be the same for every item: they fail the node.
NODE_FAILURES = frozenset(
    {"assistant_not_found", "assistant_forbidden", "assistant_depth_exceeded", "service_not_configured"}
)


class MapConfig(NodeConfig):
    items: str = Field(..., min_length=1, description="Expression yielding a list, e.g. inputs.customers")
    assistant: str = Field(..., pattern=SLUG, description="Slug of a published assistant, run per item")
    version: PublishedNumber | Literal["live"] = Field(
        "live", description='A published version number, or "live"'
    )
    input: dict[str, str] = Field(
        default_factory=dict,
        description="The assistant's inputs per item: {name: template}, e.g. {name: {{ item.name }}}",
        json_schema_extra={"format": "template"},
    )
    max_parallel: int = Field(4, ge=1, le=HARD_MAX_PARALLEL, description="Sub-runs at once at most")
    max_items: int = Field(100, ge=1, le=HARD_MAX_ITEMS, description="Items at most; more are refused")
    timeout_s: float = Field(
        240.0,
        gt=0,
        le=MAX_WAIT_S,
        description="Seconds to wait for all items in the node before the run waits for them (stored)",
    )


class MapNode(Node[MapConfig]):
    type = "map"
    title = "Map"
    description = "Runs a published assistant for each item of a list, a few at a time."
    category = "logic"
    outputs = ("results", "failed", "count", "run_ids")
    expression_fields = ("items",)
    default_timeout_s = 250.0
    side_effects = True
    costly = True

    def timeout_s(self) -> float:
        return float(self.config.timeout_s) + 10.0

    def templates(self) -> dict[str, str]:
        # `item` and `index` are in scope only here: the validator checks the rest of the scope.
        return {}

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs | Suspend:
        config = self.config
        items = await ctx.evaluate(config.items, scope)
        if not isinstance(items, list):
            raise NodeError(
                f"items must yield a list, not {type(items).__name__}",
                code="map_items_not_a_list",
                got=type(items).__name__,
            )
        if len(items) > config.max_items:
            raise NodeError(
                f"{len(items)} items are more than max_items ({config.max_items})",
                code="map_too_many_items",
                count=len(items),
                limit=config.max_items,
            )
        service: AssistantRuns = ctx.service("assistants")
        gate = asyncio.Semaphore(config.max_parallel)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.timeout_s

        async def one(index: int, item: Any) -> SubRunOutcome:
            async with gate:
                item_scope: Mapping[str, Any] = {**scope, "item": item, "index": index}
                try:
                    run_id = await service.start(
                        SubRunRequest(
                            assistant=config.assistant,
                            version=version_of(config.version),
                            inputs=await render_inputs(ctx, config.input, item_scope),
                            parent_run_id=ctx.run_id,
                            caller_id=ctx.caller_id,
                            is_test=ctx.is_test,
                        )
                    )
                except NodeError as error:
                    if error.code in NODE_FAILURES:  # the same for every item: the node fails
                        raise
                    # This item's inputs (a template, the assistant's input types): it fails alone.
                    return SubRunOutcome("", "failed", error={"code": error.code, "message": error.message})
                # A sub-run that waits for a person frees its place: the others go on.
                return await service.wait(run_id, max(0.0, deadline - loop.time()))

        # A failure of the node (the caller may not invoke the assistant) stops the other items.
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(index, item)) for index, item in enumerate(items)]
        except* NodeError as failures:
            raise failures.exceptions[0] from None
        outcomes = [task.result() for task in tasks]
        if not all(outcome.ended for outcome in outcomes):
            return waiting_for(
                [outcome.run_id for outcome in outcomes if outcome.run_id],
                assistant=config.assistant,
                # Per item, its run's id, or why it could not start (kept for the collection).
                slots=[outcome.run_id or outcome.error for outcome in outcomes],
            )
        return self._collect(outcomes)

    async def resume(self, ctx: NodeContext, resolution: Resolution) -> Outputs | Suspend:
        service: AssistantRuns = ctx.service("assistants")
        run_ids = stored_sub_runs(resolution)
        request = resolution.request or {}
        stored = request.get("slots")
        slots: list[Any] = stored if isinstance(stored, list) else list(run_ids)
        found = {outcome.run_id: outcome for outcome in await service.outcomes(run_ids)}
        if not all(outcome.ended for outcome in found.values()):
            return waiting_for(run_ids, assistant=self.config.assistant, slots=slots)
        return self._collect(
            [
                found[slot] if isinstance(slot, str) else SubRunOutcome("", "failed", error=slot)
                for slot in slots
            ]
        )

    @staticmethod
    def _collect(outcomes: list[SubRunOutcome]) -> Outputs:
        results: list[Any] = []
        failed: list[dict[str, Any]] = []
        for index, outcome in enumerate(outcomes):
            if outcome.status == "succeeded":
                results.append(outcome.outputs or {})
                continue
            results.append(None)
            error = outcome.error or {}
            failed.append(
                {
                    "index": index,
                    "run_id": outcome.run_id or None,
                    "code": error.get("code") or "assistant_run_failed",
                    "message": str(error.get("message") or outcome.status),
                }
            )
        return {
            "results": results,
            "failed": failed,
            "count": len(outcomes),
            # The sub-runs, per item (None: it could not start): the trace links to them.
            "run_ids": [outcome.run_id or None for outcome in outcomes],
        }
