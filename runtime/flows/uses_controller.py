"""`GET /api/flows/{id}/versions/{n}/uses`: what a version uses outside itself, for the
board's review (see `runtime.flows.uses`). Whoever may read the version may read this."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath

from runtime.api.deps import Caller, Rt
from runtime.flows import service
from runtime.flows.uses import VersionUses, version_uses


class VersionUsesController(Controller):
    path = "/api"
    tags = ["flows"]

    @get("/flows/{flow_id:str}/versions/{number:int}/uses")
    async def uses(self, rt: Rt, actor: Caller, flow_id: FromPath[str], number: FromPath[int]) -> VersionUses:
        """Connections (with what they touch in production), knowledge indexes and model
        endpoints the version's nodes use, each with whether it exists now."""
        async with rt.db.read() as session:
            flow, version = await service.get_version(session, rt.authz, actor, flow_id, number)
            workspace_id, document = flow.workspace_id, version.document
        return await version_uses(rt.db, rt.settings, workspace_id, document)
