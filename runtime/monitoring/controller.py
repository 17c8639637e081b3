"""`GET /api/monitoring`: usage of a workspace's assistants, for the studio's charts."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from runtime.api.deps import Caller
from runtime.db.models import utcnow
from runtime.errors import BadRequest
from runtime.monitoring.deps import MONITORING_DEPENDENCIES, Monitoring
from runtime.monitoring.period import parse_period
from runtime.monitoring.responses import MonitoringOut


class MonitoringController(Controller):
    path = "/api/monitoring"
    tags = ["monitoring"]
    dependencies = MONITORING_DEPENDENCIES

    @get("/")
    async def report(
        self,
        monitoring: Monitoring,
        actor: Caller,
        # Documented as required; its absence is answered here, as `workspace_required`.
        workspace: Annotated[
            str | None, QueryParameter(required=True, description="The workspace's slug")
        ] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        flow: FromQuery[str | None] = None,
    ) -> MonitoringOut:
        """Runs, latency, tokens, feedback, approvals and connector calls per day, per
        assistant and per role (see `runtime.monitoring.service`). Champions and admins of
        the workspace and the board may read it."""
        if not workspace:
            raise BadRequest("workspace is required: ?workspace=<slug>", code="workspace_required")
        period = parse_period(since, until, now=utcnow())
        return MonitoringOut.of(await monitoring.report(actor, workspace, period, flow))
