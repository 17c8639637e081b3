"""Test cases over HTTP: run a version's cases, read the stored reports."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from runtime.api.deps import Caller, Rt
from runtime.api.params import VersionNumber
from runtime.api.schemas import TestCasesRequest
from runtime.testing import service


class TestReportController(Controller):
    __test__ = False  # not a pytest class, although its name starts with "Test"
    path = "/api"
    tags = ["test cases"]

    @post("/flows/{flow_id:str}/versions/{number:int}/test", status_code=201)
    async def run_tests(
        self,
        rt: Rt,
        actor: Caller,
        flow_id: FromPath[str],
        number: VersionNumber,
        data: JSONBody[TestCasesRequest | None] = None,
    ) -> dict[str, Any]:
        """Run every test case of the version; `{"live": true}` lets unfixed llm nodes call the LLM.

        Only fixed-mode reports gate submission."""
        live = data.live if data is not None else False
        return await service.run_version_tests(rt, actor, flow_id, number, live=live)

    @get("/flows/{flow_id:str}/versions/{number:int}/test-reports")
    async def list_reports(
        self, rt: Rt, actor: Caller, flow_id: FromPath[str], number: VersionNumber
    ) -> list[dict[str, Any]]:
        """The version's test reports, newest first."""
        return await service.list_reports(rt, actor, flow_id, number)

    @get("/test-reports/{report_id:str}")
    async def get_report(self, rt: Rt, actor: Caller, report_id: FromPath[str]) -> dict[str, Any]:
        return await service.get_report(rt, actor, report_id)
