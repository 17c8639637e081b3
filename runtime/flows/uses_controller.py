"""`GET /api/flows/{id}/versions/{n}/uses`: what a version uses outside itself, for the
board's review (see `runtime.flows.uses`). Whoever may read the version may read this."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath

from runtime.api.deps import Caller
from runtime.flows.controller import FLOWS, Flows
from runtime.flows.uses import VersionUses


class VersionUsesController(Controller):
    path = "/api"
    tags = ["flows"]
    dependencies = FLOWS

    @get("/flows/{flow_id:str}/versions/{number:int}/uses")
    async def uses(
        self, flows: Flows, actor: Caller, flow_id: FromPath[str], number: FromPath[int]
    ) -> VersionUses:
        """Connections (with what they touch in production), knowledge indexes and model
        endpoints the version's nodes use, each with whether it exists now."""
        return await flows.uses(actor, flow_id, number)
