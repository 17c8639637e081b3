"""The runs viewer over HTTP (see `runtime.runs.viewer` and `runtime.runs.corrections`).

GET  /api/flows/{flow_id}/runs          an assistant's runs: filters, a cursor
GET  /api/runs/{run_id}/trace           one run's steps (bounded) and the asker's feedback
GET  /api/runs/{run_id}/steps/{node_id} one step's inputs and outputs in full
GET  /api/runs/{run_id}/test-case       the test case the run would become
POST /api/runs/{run_id}/test-case       add it to the flow's working copy (If-Match)
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from runtime.api.deps import Caller
from runtime.runs import viewer
from runtime.runs.deps import RUNS_DEPENDENCIES, Runs
from runtime.runs.viewer_schemas import (
    RunPage,
    RunTrace,
    StepFull,
    TestCaseCreated,
    TestCaseProposal,
    TestCaseRequest,
)

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description='The ETag of the working copy the case is added to ("3"), or * for the current one',
    ),
]
LimitQuery = Annotated[int, QueryParameter(ge=1, le=viewer.MAX_PAGE, description="Runs per page")]
StatusQuery = Annotated[
    list[str] | None,
    QueryParameter(
        description=f"Only runs in these states ({', '.join(viewer.RUN_STATUSES)}); repeat or comma-separate"
    ),
]


class RunsViewerController(Controller):
    path = "/api"
    tags = ["runs"]
    dependencies = RUNS_DEPENDENCIES

    @get("/flows/{flow_id:str}/runs")
    async def list_flow_runs(
        self,
        runs: Runs,
        actor: Caller,
        flow_id: FromPath[str],
        status: StatusQuery = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        has_feedback: FromQuery[bool | None] = None,
        has_correction: FromQuery[bool | None] = None,
        include_tests: FromQuery[bool] = False,
        limit: LimitQuery = 50,
        before: FromQuery[str | None] = None,
    ) -> Response[RunPage]:
        """The flow's runs the caller may read, newest first: champions and admins of its
        workspace and the board see every one, others their own (and their tasks' runs).

        `since`/`until`: ISO dates or date-times (a date as `until` includes its day). Test
        runs (the editor's test panel) only with `include_tests=true`. A full page names the
        next one's cursor in `next_before` (and the `X-Next-Before` header)."""
        filters = viewer.RunFilters(
            statuses=tuple(status or ()),
            since=since,
            until=until,
            has_feedback=has_feedback,
            has_correction=has_correction,
            include_tests=include_tests,
        )
        page = await runs.flow_runs(actor, flow_id, filters, limit, before)
        headers = {"X-Next-Before": page.next_before} if page.next_before else {}
        return Response(page, headers=headers)

    @get("/runs/{run_id:str}/trace")
    async def trace(self, runs: Runs, actor: Caller, run_id: FromPath[str]) -> RunTrace:
        """Each step with its inputs, outputs (cut past a size, marked "… [+N]"), error,
        time and tokens; the asker's rating and correction. Reading someone else's run is
        audited (`run.viewed`)."""
        return await runs.trace(actor, run_id)

    @get("/runs/{run_id:str}/steps/{node_id:str}")
    async def step(
        self, runs: Runs, actor: Caller, run_id: FromPath[str], node_id: FromPath[str]
    ) -> StepFull:
        """One step's inputs and outputs as stored (what the trace may have cut)."""
        return await runs.step(actor, run_id, node_id)

    @get("/runs/{run_id:str}/test-case")
    async def propose_test_case(self, runs: Runs, actor: Caller, run_id: FromPath[str]) -> TestCaseProposal:
        """The case `POST` would add, with the working copy's ETag to send back."""
        return await runs.propose_test_case(actor, run_id)

    @post("/runs/{run_id:str}/test-case", status_code=201)
    async def add_test_case(
        self,
        runs: Runs,
        actor: Caller,
        run_id: FromPath[str],
        data: JSONBody[TestCaseRequest],
        if_match: IfMatch = None,
    ) -> Response[TestCaseCreated]:
        """Add the run as a test case to its flow's working copy. Needs `If-Match`: missing
        428 `if_match_required`; changed since 412 `draft_changed`."""
        created = await runs.add_test_case(actor, run_id, data, if_match)
        return Response(created, status_code=201, headers={"ETag": created.etag})
