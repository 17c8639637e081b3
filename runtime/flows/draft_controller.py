"""`GET/PUT /api/flows/{flow_id}/draft`: the flow's working copy (see `runtime.flows.drafts`)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, put
from litestar.params import FromPath, JSONBody

from runtime.api.deps import Caller
from runtime.api.schemas import Body
from runtime.flows.controller import FLOWS, Flows, IfMatch
from runtime.flows.responses import DraftOut


class DraftWrite(Body):
    document: Any


class DraftController(Controller):
    path = "/api/flows/{flow_id:str}/draft"
    tags = ["flows"]
    dependencies = FLOWS

    @get("")
    async def read(self, flows: Flows, actor: Caller, flow_id: FromPath[str]) -> Response[DraftOut]:
        """The working copy, its problems (as `POST /api/flows/validate` answers them) and its ETag."""
        draft = await flows.read_draft(actor, flow_id)
        return Response(draft, headers={"ETag": draft.etag})

    @put("")
    async def write(
        self,
        flows: Flows,
        actor: Caller,
        flow_id: FromPath[str],
        data: JSONBody[DraftWrite],
        if_match: IfMatch = None,
    ) -> Response[DraftOut]:
        """Replace the working copy (any JSON, valid or not, at most 1 MiB). Needs `If-Match`:
        missing 428 `if_match_required`; changed since 412 `draft_changed` with the current
        `revision`."""
        draft = await flows.write_draft(actor, flow_id, data.document, if_match)
        return Response(draft, headers={"ETag": draft.etag})
