"""`MonitoringService`: `GET /api/monitoring` bound to the database and the policy — which
workspace (and flow) is asked for, whether the caller may read it, and its report
(`runtime.monitoring.service`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from runtime.db.database import Database
from runtime.db.models import Flow, Workspace
from runtime.errors import NotFound
from runtime.monitoring.period import Period
from runtime.monitoring.service import monitoring
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import workspace_view


class MonitoringService:
    __slots__ = ("authz", "db")

    def __init__(self, db: Database, authz: Authorizer) -> None:
        self.db = db
        self.authz = authz

    async def report(self, actor: Actor, workspace: str, period: Period, flow: str | None) -> dict[str, Any]:
        """The report of workspace `workspace` (a slug), limited to the flow `flow` if given."""
        async with self.db.read() as session:
            row = (
                await session.execute(select(Workspace).where(Workspace.slug == workspace))
            ).scalar_one_or_none()
            if row is None:
                raise NotFound("workspace not found", code="not_found", resource="workspace")
            self.authz.authorize(actor, "read_monitoring", workspace_view(row))
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
