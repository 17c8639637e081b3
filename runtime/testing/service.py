"""Run a stored version's test cases, store the report, read reports back.

Whoever may read a version may run its cases (champions of its workspace, the board,
admins): a case is no run and has no effects. Every run of the cases is audited as
`version.tested`. The cases run outside any database transaction (a live LLM may take
a while); the report is written afterwards, in one transaction with its audit entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import append as audit
from runtime.db.database import Database
from runtime.db.models import User
from runtime.engine.compiled import FlowCache
from runtime.errors import BadRequest, NotFound
from runtime.flows.service import get_flow, get_version
from runtime.flows.test_reports import TestReport
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.testing.responses import TestReportOut
from runtime.testing.runner import SuiteResult, run_cases

MAX_LISTED = 50


def _stored_cases(suite: SuiteResult) -> list[dict[str, Any]]:
    """The cases as JSON the column keeps exactly (values a node made up become strings)."""
    return json.loads(json.dumps([case.as_json() for case in suite.cases], ensure_ascii=False, default=str))


async def run_and_store_tests(
    db: Database,
    authz: Authorizer,
    cache: FlowCache,
    services: Mapping[str, Any],
    actor: Actor,
    flow_id: str,
    number: int,
    *,
    live: bool = False,
    node_timeout_s: float = 300.0,
) -> TestReportOut:
    """Run every case of version `number` (fixed or live mode) and store the report."""
    async with db.read() as session:
        flow, version = await get_version(session, authz, actor, flow_id, number, "run_tests")
        workspace_id, version_id, content_hash = flow.workspace_id, version.id, version.content_hash
        document = version.document
    if not document.get("tests"):
        raise BadRequest(
            f"version {number} has no test cases; add them to the flow document ('tests') and save it",
            code="no_test_cases",
            number=number,
        )
    mode = "live" if live else "fixed"
    suite = await run_cases(
        cache.get(document, content_hash),
        services,
        mode=mode,
        caller_id=actor.id,
        workspace_id=workspace_id,
        tester=actor.username,
        max_node_timeout_s=node_timeout_s,
    )
    report = TestReport(
        flow_id=flow_id,
        version_id=version_id,
        version_number=number,
        content_hash=content_hash,
        mode=mode,
        passed=suite.passed,
        total=suite.total,
        failed=suite.failed,
        cases=_stored_cases(suite),
        duration_ms=suite.duration_ms,
        created_by=actor.id,
    )
    async with db.write() as session:
        session.add(report)
        await session.flush()
        await audit(
            session,
            actor=actor.username,
            action="version.tested",
            resource_type="flow_version",
            resource_id=version_id,
            version_hash=content_hash,
            detail={
                "flow_id": flow_id,
                "number": number,
                "report_id": report.id,
                "mode": mode,
                "passed": suite.passed,
                "total": suite.total,
                "failed": suite.failed,
            },
        )
        return TestReportOut.of(report, actor.username)


async def _with_names(session: AsyncSession, reports: list[TestReport]) -> list[TestReportOut]:
    ids = {report.created_by for report in reports if report.created_by}
    names: dict[str, str] = {}
    if ids:
        rows = await session.execute(select(User.id, User.username).where(User.id.in_(ids)))
        names = dict(rows.tuples().all())
    return [TestReportOut.of(report, names.get(report.created_by or "")) for report in reports]


class VersionTests:
    """The test cases of stored versions, bound to what running and reading them takes:
    the database, the policy, the compiled-flow cache and the node services."""

    def __init__(
        self,
        db: Database,
        authz: Authorizer,
        cache: FlowCache,
        services: Mapping[str, Any],
        *,
        node_timeout_s: float = 300.0,
    ) -> None:
        self.db = db
        self.authz = authz
        self.cache = cache
        self.services = services
        self.node_timeout_s = node_timeout_s

    async def run(self, actor: Actor, flow_id: str, number: int, *, live: bool) -> TestReportOut:
        """Run every case of version `number` (fixed or live mode) and store the report."""
        return await run_and_store_tests(
            self.db,
            self.authz,
            self.cache,
            self.services,
            actor,
            flow_id,
            number,
            live=live,
            node_timeout_s=self.node_timeout_s,
        )

    async def reports(self, actor: Actor, flow_id: str, number: int) -> list[TestReportOut]:
        """The version's reports, newest first (at most MAX_LISTED)."""
        async with self.db.read() as session:
            _, version = await get_version(session, self.authz, actor, flow_id, number)
            reports = (
                (
                    await session.execute(
                        select(TestReport)
                        .where(TestReport.version_id == version.id)
                        .order_by(TestReport.created_at.desc(), TestReport.id.desc())
                        .limit(MAX_LISTED)
                    )
                )
                .scalars()
                .all()
            )
            return await _with_names(session, list(reports))

    async def report(self, actor: Actor, report_id: str) -> TestReportOut:
        """One report; visible to whoever may read its flow (else 404, as if it did not exist)."""
        async with self.db.read() as session:
            report = await session.get(TestReport, report_id)
            if report is None:
                raise NotFound("test report not found", code="not_found", resource="test_report")
            try:
                await get_flow(session, self.authz, actor, report.flow_id)
            except NotFound as hidden:
                refused = NotFound("test report not found")
                refused.policy_denial = hidden.policy_denial  # still audited as a denial
                raise refused from None
            return (await _with_names(session, [report]))[0]
