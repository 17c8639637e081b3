"""`approval`: a person decides before the flow goes on (human in the loop).

The node renders what is to be approved (`payload`) and suspends the run. The runtime
raises an approval task for the `assignees`; once `quorum` of them approve (or one
rejects, or `timeout` passes) the run resumes and leaves by the edge whose `when` is
`approved`, `rejected` or `timeout`. Without a `timeout` edge a timed-out run ends as
`expired`. With `editable`, the assignee may change the payload; downstream nodes see
the edited version as `{{ <id>.payload }}`. Four eyes: whoever started the run never
decides its task (the policy's rule), unless `requester_may_decide` is set and the flow's
card says `risk: minimal`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import isodate
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from nodes.base import (
    Node,
    NodeConfig,
    NodeContext,
    Outputs,
    Resolution,
    Scope,
    Suspend,
    template_field,
)

ASSIGNEE = re.compile(r"^(role|user):[A-Za-z0-9_.@-]{1,64}$")


def parse_duration(text: str) -> float:
    """ISO-8601 duration (`P3D`, `PT2H`) in seconds; ValueError when it is not one."""
    try:
        duration = isodate.parse_duration(text)
    except (isodate.ISO8601Error, ValueError) as exc:
        raise PydanticCustomError(
            "invalid_duration", "'{value}' is not an ISO-8601 duration such as P3D or PT4H", {"value": text}
        ) from exc
    if isinstance(duration, isodate.Duration):  # has years/months: measure from a fixed date
        duration = duration.totimedelta(start=datetime(2000, 1, 1))
    seconds = duration.total_seconds()
    if seconds <= 0:
        raise PydanticCustomError(
            "duration_not_positive", "'{value}' must be longer than zero", {"value": text}
        )
    return float(seconds)


def _parse_payload(text: str) -> Any:
    """A payload that renders to a JSON object or list is kept structured (editable as fields)."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    return text


class ApprovalConfig(NodeConfig):
    assignees: list[str] = Field(
        ...,
        min_length=1,
        description="Who decides: role:<role> (e.g. role:board, role:champion) or user:<name>",
    )
    quorum: int = Field(1, ge=1, le=10, description="How many approvals are needed")
    timeout: str | None = Field(None, description="ISO-8601 duration after which the task expires, e.g. P3D")
    editable: bool = Field(False, description="The assignee may edit the payload")
    requester_may_decide: bool = Field(
        False,
        description="Four eyes: whoever started the run may decide this task too "
        "(only when the flow's card says risk: minimal; such decisions are audited)",
    )
    title: str = template_field("Title of the task shown to the assignee", "Approval needed")
    instructions: str = Field("", description="What the assignee should check")
    payload: str = template_field("What is to be approved (text or JSON)", "")

    @field_validator("assignees")
    @classmethod
    def _assignees_have_a_kind(cls, value: list[str]) -> list[str]:
        for item in value:
            if not ASSIGNEE.match(item):
                raise PydanticCustomError(
                    "invalid_assignee",
                    "'{value}' is not an assignee; use role:<role> or user:<username>",
                    {"value": item},
                )
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout_is_a_duration(cls, value: str | None) -> str | None:
        if value:
            parse_duration(value)
        return value


class ApprovalNode(Node[ApprovalConfig]):
    type = "approval"
    title = "Approval"
    description = "Pauses the run until a person approves or rejects (four eyes on actions)."
    category = "human"
    outputs = ("decision", "comment", "payload", "decided_by", "branch")
    template_fields = ("title", "payload")
    BRANCHES = ("approved", "rejected", "timeout")

    def branches(self) -> tuple[str, ...]:
        return self.BRANCHES

    async def run(self, ctx: NodeContext, scope: Scope) -> Suspend:
        config = self.config
        return Suspend(
            kind="approval",
            request={
                "title": await ctx.render(config.title, scope),
                "instructions": config.instructions,
                "payload": _parse_payload(await ctx.render(config.payload, scope)),
                "assignees": list(config.assignees),
                "quorum": config.quorum,
                "timeout_s": parse_duration(config.timeout) if config.timeout else None,
                "editable": config.editable,
                "requester_may_decide": config.requester_may_decide,
            },
        )

    async def resume(self, ctx: NodeContext, resolution: Resolution) -> Outputs:
        return {
            "decision": resolution.outcome,
            "comment": resolution.comment,
            "payload": resolution.payload,
            "decided_by": list(resolution.decided_by),
            "branch": resolution.outcome,
        }
