"""Run a stored version's test cases, store the report, read reports back.

Whoever may read a version may run its cases (champions of its workspace, the board,
admins): a case is no run and has no effects. Every run of the cases is audited as
`version.tested`. The cases run outside any database transaction (a live LLM may take
a while); the report is written afterwards, in one transaction with its audit entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import append as audit
from runtime.db.database import Database
from runtime.db.models import User, iso
from runtime.engine.compiled import FlowCache
from runtime.errors import BadRequest, NotFound
from runtime.flows.service import get_flow, get_version
from runtime.flows.test_reports import TestReport
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.runs.manager import RunManager
from runtime.settings import Settings
from runtime.testing.runner import SuiteResult, run_cases

MAX_LISTED = 50


class Runtime(Protocol):
    """What this service takes of the app's `runtime.context.Runtime` (which builds on the
    slices, so a slice does not import it)."""

    @property
    def db(self) -> Database: ...
    @property
    def authz(self) -> Authorizer: ...
    @property
    def runs(self) -> RunManager: ...
    @property
    def services(self) -> dict[str, Any]: ...
    @property
    def settings(self) -> Settings: ...


def report_as_json(report: TestReport, created_by: str | None) -> dict[str, Any]:
    return {
        "id": report.id,
        "flow_id": report.flow_id,
        "version": report.version_number,
        "content_hash": report.content_hash,
        "mode": report.mode,
        "passed": report.passed,
        "total": report.total,
        "failed": report.failed,
        "created_at": iso(report.created_at),
        "created_by": created_by,
        "duration_ms": report.duration_ms,
        "cases": report.cases,
    }


def _stored_cases(suite: SuiteResult) -> list[dict[str, Any]]:
    """The cases as JSON the column keeps exactly (values a node made up become strings)."""
    return json.loads(json.dumps([case.as_json() for case in suite.cases], ensure_ascii=False, default=str))


async def run_version_tests(
    rt: Runtime, actor: Actor, flow_id: str, number: int, *, live: bool
) -> dict[str, Any]:
    """Run every case of version `number` (fixed or live mode) and store the report."""
    return await run_and_store_tests(
        rt.db,
        rt.authz,
        rt.runs.cache,
        rt.services,
        actor,
        flow_id,
        number,
        live=live,
        node_timeout_s=rt.settings.node_timeout_s,
    )


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
) -> dict[str, Any]:
    """`run_version_tests` with its parts given one by one (the benchmark has no `Runtime`)."""
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
        return report_as_json(report, actor.username)


async def _with_names(session: AsyncSession, reports: list[TestReport]) -> list[dict[str, Any]]:
    ids = {report.created_by for report in reports if report.created_by}
    names: dict[str, str] = {}
    if ids:
        rows = await session.execute(select(User.id, User.username).where(User.id.in_(ids)))
        names = dict(rows.tuples().all())
    return [report_as_json(report, names.get(report.created_by or "")) for report in reports]


async def list_reports(rt: Runtime, actor: Actor, flow_id: str, number: int) -> list[dict[str, Any]]:
    """The version's reports, newest first (at most MAX_LISTED)."""
    async with rt.db.read() as session:
        _, version = await get_version(session, rt.authz, actor, flow_id, number)
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


async def get_report(rt: Runtime, actor: Actor, report_id: str) -> dict[str, Any]:
    """One report; visible to whoever may read its flow (else 404, as if it did not exist)."""
    async with rt.db.read() as session:
        report = await session.get(TestReport, report_id)
        if report is None:
            raise NotFound("test report not found", code="not_found", resource="test_report")
        try:
            await get_flow(session, rt.authz, actor, report.flow_id)
        except NotFound as hidden:
            refused = NotFound("test report not found")
            refused.policy_denial = hidden.policy_denial  # still audited as a denial
            raise refused from None
        return (await _with_names(session, [report]))[0]
