"""What `GET /api/monitoring` answers: the report of `runtime.monitoring.service`, whose
module docstring says how each number is counted.

The service builds the report as dicts; these models validate it as it is and refuse keys
they do not know, so that a counter the service adds or drops fails in the tests rather
than changing the wire unnoticed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunCountsOut(_Strict):
    total: int
    succeeded: int
    failed: int
    waiting: int = Field(description="Waiting for a person")
    cancelled: int
    expired: int
    running: int = Field(description="Running or queued")


class LatencyOut(_Strict):
    """From the request to the answer of runs that succeeded or failed without waiting."""

    p50: float | None
    p95: float | None
    count: int


class FeedbackUsageOut(_Strict):
    count: int
    up: int
    down: int
    corrections: int
    rate: float | None = Field(description="Feedback per ended run")
    up_share: float | None = Field(description="The share of thumbs up")


class ApprovalsUsageOut(_Strict):
    raised: int
    approved: int
    rejected: int
    expired: int
    open: int
    cancelled: int
    approval_rate: float | None = Field(description="approved / (approved + rejected)")
    median_wait_s: float | None = Field(description="From raising a task to its decision")


class AutomatedActionsOut(_Strict):
    connector_calls: int
    failed: int


class UsageSummaryOut(_Strict):
    runs: RunCountsOut
    success_rate: float | None
    latency_ms: LatencyOut
    tokens: int
    feedback: FeedbackUsageOut
    approvals: ApprovalsUsageOut
    automated_actions: AutomatedActionsOut


class DailyUsageOut(_Strict):
    """One point of a chart (a UTC day): flat keys, so that charts can name them."""

    day: str = Field(description="YYYY-MM-DD (UTC)")
    succeeded: int
    failed: int
    waiting: int
    cancelled: int
    expired: int
    running: int
    tokens: int
    feedback_up: int
    feedback_down: int
    corrections: int
    tasks_raised: int
    tasks_approved: int
    tasks_rejected: int
    tasks_expired: int
    tasks_open: int
    tasks_cancelled: int
    connector_calls: int
    connector_failed: int
    runs: int
    p50_ms: float | None
    p95_ms: float | None
    median_wait_s: float | None


class AssistantUsageOut(_Strict):
    flow_id: str
    slug: str
    name: str
    live_version: int | None = Field(description="The live version's number; null: nothing is live")
    summary: UsageSummaryOut
    daily: list[DailyUsageOut]


class RoleUsageOut(_Strict):
    role: str = Field(description="A workspace role, admin, board, external, or system (no person)")
    summary: UsageSummaryOut
    daily: list[DailyUsageOut]


class MonitoringOut(_Strict):
    workspace: str = Field(description="The workspace's slug")
    flow: str | None = Field(description="The flow the report is limited to, if any")
    since: str
    until: str
    days: list[str]
    summary: UsageSummaryOut
    daily: list[DailyUsageOut]
    assistants: list[AssistantUsageOut]
    roles: list[RoleUsageOut] = Field(
        description="Most runs first; a run counts for each role of its starter"
    )

    @classmethod
    def of(cls, report: dict[str, Any]) -> MonitoringOut:
        return cls.model_validate(report)
