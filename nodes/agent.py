"""`agent`: a model that calls tools, in a bounded loop, until it answers.

Each turn asks the model (through the `llm` service, the Messages API's `tools`) with the
conversation so far; the tools it asks for run (independent calls of one turn
concurrently) and their results go back as `tool` messages; the loop ends when the model
answers without a tool call. Budgets end it otherwise, with an error that names the
budget: `max_steps` model turns, `max_tokens` in total, `timeout_s` of running time (time
spent waiting for a person does not count).

The tools are declared in the config (`nodes.agent_tools`), so the board approves exactly
them. A call that changes something outside Dirigent waits for a person: the node returns
a `Suspend` whose request carries the whole loop state (`agent_state`: messages, steps,
results of the calls of the turn made so far, usage, time used), and the engine stores it
with the waiting step. `resume` continues from that state — in any process, after any
restart: approved calls are made (once: each has its own idempotency key in the call
journal), refused ones are reported to the model as refused. A later turn may ask for
another approval (`approval_round` counts them; each is a task of its own).

An assistant tool (`kind: assistant`) runs a published assistant as a sub-run of this run,
for the same person (`nodes/assistant.py`).

Outputs: `text` (the final answer), `json` (parsed when `json_schema` is set), `steps`
(every model turn and tool call, in order), `usage` (tokens of all turns), `sources` (the
passages knowledge tools found, as a retrieval node's `documents`).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from jsonschema import Draft202012Validator, SchemaError
from jsonschema import ValidationError as SchemaMismatch
from jsonschema.validators import validator_for
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from nodes.agent_tools import (
    AnyTool,
    Tool,
    ToolRefused,
    approval_request,
    call_tool,
    compact,
    definition,
    needs_approval,
    parse_arguments,
    prepare_tools,
)
from nodes.approval import ASSIGNEE, parse_duration
from nodes.base import Node, NodeConfig, NodeContext, Outputs, Resolution, Scope, Suspend, template_field
from nodes.errors import NodeError
from nodes.llm import parse_json_answer
from nodes.services import ChatModel, ChatRequest

HARD_MAX_STEPS = 50
# The most one turn may ask of the model; the rest of `max_tokens` stays for later turns.
TURN_MAX_TOKENS = 4096


class AgentNode(Node):
    type = "agent"
    title = "Agent"
    description = (
        "A model that uses the tools it is given (connections, knowledge, assistants) until it can answer."
    )
    category = "ai"
    outputs = ("text", "json", "steps", "usage", "sources")
    template_fields = ("system", "prompt")
    default_timeout_s = 300.0
    costly = True  # model turns: persisted as soon as the step ends
    side_effects = True  # its tools may change things outside Dirigent
    resumes_after_timeout = True  # an unanswered approval is a refusal, told to the model

    class Config(NodeConfig):
        model: str = Field("default", description="Name of a registered model endpoint")
        system: str = template_field("System prompt: role, rules, when to use which tool", "")
        prompt: str = template_field("The task, e.g. {{ inputs.question }}")
        tools: list[Tool] = Field(
            default_factory=list, max_length=32, description="The tools the model may call"
        )
        max_steps: int = Field(
            8, ge=1, le=HARD_MAX_STEPS, description="Model turns at most (each may call tools)"
        )
        max_tokens: int = Field(8192, ge=1, le=1_000_000, description="Tokens of all turns together at most")
        timeout_s: float = Field(
            120.0, gt=0, le=3600, description="Seconds of running time for the whole loop"
        )
        temperature: float = Field(0.2, ge=0.0, le=2.0, description="Creativity, 0 = deterministic")
        json_schema: dict[str, Any] | None = Field(
            None, description="If set, the final answer must be JSON valid against this schema"
        )
        approvers: list[str] = Field(
            default_factory=lambda: ["role:champion"],
            min_length=1,
            description="Who approves calls that change something: role:<role> or user:<name>",
        )
        approval_timeout: str | None = Field(
            None, description="ISO-8601 duration after which an unanswered call counts as refused"
        )

        @field_validator("tools")
        @classmethod
        def _names_are_unique(cls, value: list[AnyTool]) -> list[Any]:
            seen: set[str] = set()
            for tool in value:
                if tool.name in seen:
                    raise PydanticCustomError(
                        "agent_tool_duplicate", "two tools are named '{name}'", {"name": tool.name}
                    )
                seen.add(tool.name)
            return value

        @field_validator("json_schema")
        @classmethod
        def _schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
            if value is not None:
                try:
                    validator_for(value, default=Draft202012Validator).check_schema(value)
                except SchemaError as exc:
                    raise PydanticCustomError(
                        "invalid_json_schema",
                        "not a valid JSON schema{where}: {detail}",
                        {"where": "", "detail": exc.message},
                    ) from None
            return value

        @field_validator("approvers")
        @classmethod
        def _approvers(cls, value: list[str]) -> list[str]:
            for item in value:
                if not ASSIGNEE.match(item):
                    raise PydanticCustomError(
                        "invalid_assignee",
                        "'{value}' is not an assignee; use role:<role> or user:<username>",
                        {"value": item},
                    )
            return value

        @field_validator("approval_timeout")
        @classmethod
        def _timeout_is_a_duration(cls, value: str | None) -> str | None:
            if value:
                parse_duration(value)
            return value

    def timeout_s(self) -> float:
        # The loop keeps its own budget (`_loop`) and says which one ended it; the engine's
        # timeout is only the backstop.
        return float(self.config.timeout_s) + 5.0  # type: ignore[attr-defined]

    # -- running --------------------------------------------------------------------
    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs | Suspend:
        config: AgentNode.Config = self.config  # type: ignore[assignment]
        messages: list[dict[str, Any]] = []
        system = await ctx.render(config.system, scope)
        if system.strip():
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": await ctx.render(config.prompt, scope)})
        state: dict[str, Any] = {
            "messages": messages,
            "steps": [],
            "pending": [],
            "sources": [],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "turns": 0,
            "elapsed_s": 0.0,
            "approvals": 0,
        }
        return await self._loop(ctx, state)

    async def resume(self, ctx: NodeContext, resolution: Resolution) -> Outputs | Suspend:
        """A person decided the calls the loop waits for: continue from the stored state."""
        request = resolution.request if isinstance(resolution.request, dict) else {}
        state = request.get("agent_state")
        if not isinstance(state, dict):
            raise NodeError(
                "the stored state of the agent's loop is missing; it cannot go on",
                code="agent_state_lost",
            )
        # An unanswered task (its `approval_timeout` passed) counts as a refusal.
        decision = {"approved": "approved", "timeout": "unanswered"}.get(resolution.outcome, "refused")
        for call in state["pending"]:
            if call.get("waiting"):
                call.pop("waiting")
                call["decision"] = decision
                call["comment"] = resolution.comment
                call["decided_by"] = list(resolution.decided_by)
        ctx.record_usage(state["usage"]["prompt_tokens"], state["usage"]["completion_tokens"])
        return await self._loop(ctx, state)

    async def _loop(self, ctx: NodeContext, state: dict[str, Any]) -> Outputs | Suspend:
        config: AgentNode.Config = self.config  # type: ignore[assignment]
        left = config.timeout_s - state["elapsed_s"]
        began = time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            async with asyncio.timeout(left) as budget:
                return await self._turns(ctx, state, began)
        except TimeoutError:
            if left > 0 and not budget.expired():
                raise
            raise NodeError(
                f"the agent used up its timeout_s ({config.timeout_s:g}) without answering",
                code="agent_budget_exceeded",
                budget="timeout_s",
                limit=config.timeout_s,
            ) from None

    async def _turns(self, ctx: NodeContext, state: dict[str, Any], began: float) -> Outputs | Suspend:
        config: AgentNode.Config = self.config  # type: ignore[assignment]
        prepared = await prepare_tools(ctx, config.tools)  # assistant tools: inputs, side effects
        tools = {tool.name: tool for tool in prepared}
        definitions = [definition(tool) for tool in prepared] or None
        model: ChatModel = ctx.service("llm")

        async def forward(token: str) -> None:
            await ctx.send({"type": "token", "text": token})

        while True:
            if state["pending"]:
                waiting = await self._call_tools(ctx, state, tools)
                if waiting:
                    state["elapsed_s"] += time.monotonic() - began
                    return self._suspend(ctx, state, waiting)
                for call in state["pending"]:
                    state["messages"].append(
                        {
                            "role": "tool",
                            "tool_call_id": call["id"],
                            "name": call["name"],
                            "content": compact(call["result"]),
                        }
                    )
                state["pending"] = []
            if state["turns"] >= config.max_steps:
                raise NodeError(
                    f"the agent used up its max_steps ({config.max_steps}) without answering",
                    code="agent_budget_exceeded",
                    budget="max_steps",
                    limit=config.max_steps,
                )
            left = config.max_tokens - state["usage"]["total_tokens"]
            if left <= 0:
                raise NodeError(
                    f"the agent used up its max_tokens ({config.max_tokens}) without answering",
                    code="agent_budget_exceeded",
                    budget="max_tokens",
                    limit=config.max_tokens,
                )
            turn_began = time.monotonic()
            result = await model.chat(
                ChatRequest(
                    model=config.model,
                    messages=state["messages"],
                    temperature=config.temperature,
                    max_tokens=min(left, TURN_MAX_TOKENS),
                    # A second past the loop's own budget: the budget's clear error comes first.
                    timeout_s=max(0.001, config.timeout_s - state["elapsed_s"] - (turn_began - began)) + 1.0,
                    tools=definitions,
                ),
                on_token=forward,
            )
            state["turns"] += 1
            prompt, completion = (
                result.usage.get("prompt_tokens", 0),
                result.usage.get("completion_tokens", 0),
            )
            ctx.record_usage(prompt, completion)
            usage = state["usage"]
            usage["prompt_tokens"] += prompt
            usage["completion_tokens"] += completion
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            state["steps"].append(
                {
                    "kind": "model",
                    "turn": state["turns"],
                    "text": result.text,
                    "tool_calls": [call.name for call in result.tool_calls],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": completion},
                    "duration_ms": round((time.monotonic() - turn_began) * 1000, 3),
                }
            )
            if not result.tool_calls:
                return self._answer(state, result.text)
            state["messages"].append(
                {
                    "role": "assistant",
                    "content": result.text,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments},
                        }
                        for call in result.tool_calls
                    ],
                }
            )
            state["pending"] = [
                {
                    "id": call.id,
                    "name": call.name,
                    "arguments": call.arguments,
                    # Where the call is in the loop and what it calls: its idempotency key.
                    "key": f"{state['turns']}.{number}-"
                    + hashlib.sha256(f"{call.name}\n{call.arguments}".encode()).hexdigest()[:12],
                }
                for number, call in enumerate(result.tool_calls)
            ]

    async def _call_tools(
        self, ctx: NodeContext, state: dict[str, Any], tools: dict[str, AnyTool]
    ) -> list[dict[str, Any]]:
        """Make the pending calls that may run now (concurrently); the ones that wait for a
        person are returned (and marked `waiting`)."""
        runnable: list[tuple[dict[str, Any], AnyTool, dict[str, Any]]] = []
        waiting: list[dict[str, Any]] = []
        for call in state["pending"]:
            if "result" in call:
                continue
            tool = tools.get(call["name"])
            if tool is None:
                self._settle(state, call, "refused", {"error": f"there is no tool '{call['name']}'; "
                             f"tools: {', '.join(tools) or 'none'}"})  # fmt: skip
                continue
            try:
                arguments = parse_arguments(tool, call["arguments"])
            except ToolRefused as refused:
                self._settle(state, call, "refused", {"error": str(refused)})
                continue
            if call.get("decision") in ("refused", "unanswered"):
                why = (
                    "a person refused this call"
                    if call["decision"] == "refused"
                    else "nobody approved this call in time"
                )
                self._settle(
                    state,
                    call,
                    "refused",
                    {"error": f"{why}; it was not made", "comment": call.get("comment", "")},
                )
                continue
            if call.get("decision") != "approved" and await needs_approval(ctx, tool):
                call["waiting"] = True
                waiting.append(call)
                continue
            runnable.append((call, tool, arguments))
        if runnable:
            await asyncio.gather(*(self._call_one(ctx, state, *item) for item in runnable))
        return waiting

    async def _call_one(
        self,
        ctx: NodeContext,
        state: dict[str, Any],
        call: dict[str, Any],
        tool: AnyTool,
        arguments: dict[str, Any],
    ) -> None:
        await ctx.send({"type": "tool", "tool": tool.name, "status": "calling"})
        began = time.monotonic()
        try:
            result, sources = await call_tool(
                # A sub-assistant waits at most the loop's budget (which cuts it anyway).
                ctx,
                tool,
                arguments,
                call["key"],
                wait_s=float(self.config.timeout_s),  # type: ignore[attr-defined]
            )
        except NodeError as error:
            # A call that must not be guessed about, or a test case that reached a tool it
            # must fix (test cases never call connections): the run stops, visibly.
            if error.code in ("agent_call_uncertain", "not_fixed"):
                raise
            # The model hears what went wrong (a refused path, an unreachable server) and
            # may try otherwise; the step keeps the error for the champion.
            told = {"error": error.message, **({"code": error.code} if error.code else {})}
            self._settle(state, call, "failed", told, began)
            await ctx.send({"type": "tool", "tool": tool.name, "status": "failed"})
            return
        status = result.get("status") if isinstance(result, dict) else None
        failed = isinstance(status, int) and not isinstance(status, bool) and status >= 400
        failed = failed or (isinstance(result, dict) and result.get("is_error") is True)
        for source in sources:
            if all(known.get("chunk_id") != source.get("chunk_id") for known in state["sources"]):
                state["sources"].append(source)
        self._settle(state, call, "failed" if failed else "succeeded", result, began)
        await ctx.send({"type": "tool", "tool": tool.name, "status": "failed" if failed else "done"})

    @staticmethod
    def _settle(
        state: dict[str, Any], call: dict[str, Any], status: str, result: Any, began: float | None = None
    ) -> None:
        call["result"] = result
        step: dict[str, Any] = {
            "kind": "tool",
            "turn": state["turns"],
            "tool": call["name"],
            "call_id": call["id"],
            "arguments": call["arguments"],
            "status": status,
            "result": compact(result),
            "duration_ms": round((time.monotonic() - began) * 1000, 3) if began is not None else 0.0,
        }
        if "decision" in call:
            step["decision"] = call["decision"]
            step["decided_by"] = call.get("decided_by", [])
        state["steps"].append(step)

    def _suspend(self, ctx: NodeContext, state: dict[str, Any], waiting: list[dict[str, Any]]) -> Suspend:
        config: AgentNode.Config = self.config  # type: ignore[assignment]
        state["approvals"] += 1
        for call in waiting:
            state["steps"].append(
                {"kind": "approval", "turn": state["turns"], "tool": call["name"], "call_id": call["id"]}
            )
        request = approval_request({tool.name: tool for tool in config.tools}, waiting)
        request.update(
            assignees=list(config.approvers),
            timeout_s=parse_duration(config.approval_timeout) if config.approval_timeout else None,
            approval_round=state["approvals"],
            agent_state=state,
        )
        return Suspend(kind="approval", request=request)

    def _answer(self, state: dict[str, Any], text: str) -> Outputs:
        config: AgentNode.Config = self.config  # type: ignore[assignment]
        parsed: Any = None
        if config.json_schema is not None:
            parsed = parse_json_answer(text)
            try:
                Draft202012Validator(config.json_schema).validate(parsed)
            except SchemaMismatch as exc:
                raise NodeError(
                    f"the agent's answer does not fit the json_schema: {exc.message}",
                    code="agent_answer_schema",
                    detail=exc.message,
                ) from None
        return {
            "text": text,
            "json": parsed,
            "steps": state["steps"],
            "usage": dict(state["usage"]),
            "sources": state["sources"],
        }
