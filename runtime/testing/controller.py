"""Test cases over HTTP: run a version's cases, read the stored reports."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from runtime.api.deps import Caller, Root
from runtime.api.params import VersionNumber
from runtime.api.schemas import TestCasesRequest
from runtime.testing.responses import TestReportOut
from runtime.testing.rules import TestCaseRulesOut, case_rules
from runtime.testing.service import VersionTests


def provide_version_tests(root: Root) -> VersionTests:
    """The test cases of stored versions, bound to this runtime's database, policy and node services."""
    return VersionTests(
        root.db, root.authz, root.runs.cache, root.services, node_timeout_s=root.settings.node_timeout_s
    )


def provide_case_rules(root: Root) -> TestCaseRulesOut:
    """The rules of test cases, with the node types of this runtime's registry."""
    return case_rules(root.registry)


Tests = NamedDependency[VersionTests]
Rules = NamedDependency[TestCaseRulesOut]


class TestReportController(Controller):
    __test__ = False  # not a pytest class, although its name starts with "Test"
    path = "/api"
    tags = ["test cases"]
    dependencies = {
        "tests": Provide(provide_version_tests, sync_to_thread=False),
        "rules": Provide(provide_case_rules, sync_to_thread=False),
    }

    @get("/test-cases/rules", exclude_from_auth=True)
    async def case_rules(self, rules: Rules) -> TestCaseRulesOut:
        """What clients need to build test cases: the checks and what each names, the node
        types a case cannot fix, the decisions a case can script. The same for everyone,
        so it needs no sign-in."""
        return rules

    @post("/flows/{flow_id:str}/versions/{number:int}/test", status_code=201)
    async def run_tests(
        self,
        tests: Tests,
        actor: Caller,
        flow_id: FromPath[str],
        number: VersionNumber,
        data: JSONBody[TestCasesRequest | None] = None,
    ) -> TestReportOut:
        """Run every test case of the version; `{"live": true}` lets unfixed llm nodes call the LLM.

        Only fixed-mode reports gate submission."""
        live = data.live if data is not None else False
        return await tests.run(actor, flow_id, number, live=live)

    @get("/flows/{flow_id:str}/versions/{number:int}/test-reports")
    async def list_reports(
        self, tests: Tests, actor: Caller, flow_id: FromPath[str], number: VersionNumber
    ) -> list[TestReportOut]:
        """The version's test reports, newest first."""
        return await tests.reports(actor, flow_id, number)

    @get("/test-reports/{report_id:str}")
    async def get_report(self, tests: Tests, actor: Caller, report_id: FromPath[str]) -> TestReportOut:
        return await tests.report(actor, report_id)
