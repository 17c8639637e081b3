"""The test gate: a version is submitted for approval only when its cases passed.

    missing   the version has no test cases, or they were never run in fixed mode
    failed    the latest fixed-mode report of the version has failing cases
    passed    the latest fixed-mode report of the version passed

Reports belong to a version, and a version's document never changes, so a changed
document (a new version) needs a report of its own. Live-mode reports are shown, never
counted: what an LLM says today is not what it says tomorrow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import FlowVersion, iso
from runtime.flows.test_reports import TestReport


@dataclass(frozen=True)
class Gate:
    cases: int
    latest_fixed: TestReport | None

    @property
    def status(self) -> str:
        if self.cases == 0 or self.latest_fixed is None:
            return "missing"
        return "passed" if self.latest_fixed.passed else "failed"

    def as_json(self) -> dict[str, Any]:
        """The `tests` summary of a version in the API."""
        report = self.latest_fixed
        return {
            "cases": self.cases,
            "latest_fixed": None
            if report is None
            else {
                "id": report.id,
                "passed": report.passed,
                "total": report.total,
                "failed": report.failed,
                "created_at": iso(report.created_at),
            },
            "gate": self.status,
        }

    def refusal(self, flow_id: str, number: int) -> str | None:
        """Why version `number` may not be submitted, in words; None when it may."""
        status = self.status
        if status == "passed":
            return None
        if self.cases == 0:
            return (
                f"version {number} has no test cases; the board approves only tested versions: add test "
                "cases to the flow, save it and run them before submitting"
            )
        if self.latest_fixed is None:
            return (
                f"the test cases of version {number} have not been run; run them "
                f"(POST /api/flows/{flow_id}/versions/{number}/test) and submit when they pass"
            )
        failing = [case["name"] for case in self.latest_fixed.cases if not case.get("passed")]
        names = ", ".join(f"'{name}'" for name in failing[:10]) + (" …" if len(failing) > 10 else "")
        return (
            f"{self.latest_fixed.failed} of {self.latest_fixed.total} test cases of version {number} failed "
            f"in the latest run: {names}; fix the flow or the cases (a new version) and run them again"
        )


def case_count(version: FlowVersion) -> int:
    return len(version.document.get("tests") or [])


async def gate_of(session: AsyncSession, version: FlowVersion) -> Gate:
    latest = (
        await session.execute(
            select(TestReport)
            .where(TestReport.version_id == version.id, TestReport.mode == "fixed")
            .order_by(TestReport.created_at.desc(), TestReport.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return Gate(case_count(version), latest)


async def gates_of(session: AsyncSession, versions: Iterable[FlowVersion]) -> dict[str, Gate]:
    """Gates of many versions in two queries (for version lists)."""
    versions = list(versions)
    if not versions:
        return {}
    ids = [version.id for version in versions]
    newest = (
        select(TestReport.version_id, func.max(TestReport.created_at).label("at"))
        .where(TestReport.version_id.in_(ids), TestReport.mode == "fixed")
        .group_by(TestReport.version_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(TestReport)
            .join(
                newest,
                (TestReport.version_id == newest.c.version_id) & (TestReport.created_at == newest.c.at),
            )
            .where(TestReport.mode == "fixed")
        )
    ).scalars()
    latest: dict[str, TestReport] = {}
    for report in rows:  # two reports of the same instant: the larger id, as in `gate_of`
        if report.version_id not in latest or report.id > latest[report.version_id].id:
            latest[report.version_id] = report
    return {version.id: Gate(case_count(version), latest.get(version.id)) for version in versions}
