"""`GET /api/monitoring`: usage of a workspace's assistants, for the studio's charts."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter
from sqlalchemy import select

from runtime.api.deps import Caller, Rt
from runtime.db.models import Flow, Workspace, utcnow
from runtime.errors import BadRequest, NotFound
from runtime.monitoring.period import parse_period
from runtime.monitoring.service import monitoring
from runtime.policy.views import workspace_view


class MonitoringController(Controller):
    path = "/api/monitoring"
    tags = ["monitoring"]

    @get("/")
    async def report(
        self,
        rt: Rt,
        actor: Caller,
        # Documented as required; its absence is answered here, as `workspace_required`.
        workspace: Annotated[
            str | None, QueryParameter(required=True, description="The workspace's slug")
        ] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        flow: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Runs, latency, tokens, feedback, approvals and connector calls per day, per
        assistant and per role (see `runtime.monitoring.service`). Champions and admins of
        the workspace and the board may read it."""
        if not workspace:
            raise BadRequest("workspace is required: ?workspace=<slug>", code="workspace_required")
        period = parse_period(since, until, now=utcnow())
        async with rt.db.read() as session:
            row = (
                await session.execute(select(Workspace).where(Workspace.slug == workspace))
            ).scalar_one_or_none()
            if row is None:
                raise NotFound("workspace not found", code="not_found", resource="workspace")
            rt.authz.authorize(actor, "read_monitoring", workspace_view(row))
            if flow:
                flow_row = await session.get(Flow, flow)
                if flow_row is None or flow_row.workspace_id != row.id:
                    raise NotFound(
                        f"flow {flow!r} not found in workspace {workspace!r}",
                        code="not_found",
                        resource="flow",
                    )
            report = await monitoring(session, row.id, period, flow or None)
        return {"workspace": workspace, "flow": flow or None, **report}
