"""What `/api/flows/{id}/versions/{n}/test` and `/api/test-reports` answer with."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from runtime.db.models import iso
from runtime.flows.test_reports import TestReport
from runtime.testing.runner import Mode


class CaseResultOut(BaseModel):
    """One case of a report, as the runner recorded it (`runtime.testing.runner.CaseResult`)."""

    name: str
    passed: bool
    status: Literal["succeeded", "waiting", "failed"] = Field(description="How the case's run ended")
    duration_ms: float
    outputs: dict[str, Any] = Field(description="The flow's outputs in this case")
    branches: dict[str, str] = Field(description="Branch each router node took")
    approvals: list[str] = Field(description="Approval nodes the case reached")
    connector_calls: list[str] = Field(description="Connector nodes the case reached (never called)")
    failures: list[dict[str, Any]] = Field(
        description="Failed checks: {code, message, ...parameters} (runtime/codes: checks)"
    )
    error: dict[str, Any] | None = Field(description="Why the run failed, if it did")
    steps: list[dict[str, Any]] = Field(description="Each node's outputs, as in a run's steps")


class TestReportOut(BaseModel):
    """One run of a version's test cases; only `fixed` reports gate submission."""

    __test__ = False  # not a pytest class, although its name starts with "Test"

    id: str
    flow_id: str
    version: int
    content_hash: str
    mode: Mode
    passed: bool
    total: int
    failed: int
    created_at: str | None
    created_by: str | None = Field(description="User name of whoever ran the cases")
    duration_ms: float
    cases: list[CaseResultOut]

    @classmethod
    def of(cls, report: TestReport, created_by: str | None) -> TestReportOut:
        return cls(
            id=report.id,
            flow_id=report.flow_id,
            version=report.version_number,
            content_hash=report.content_hash,
            mode=report.mode,
            passed=report.passed,
            total=report.total,
            failed=report.failed,
            created_at=iso(report.created_at),
            created_by=created_by,
            duration_ms=report.duration_ms,
            cases=[CaseResultOut.model_validate(case) for case in report.cases],
        )
