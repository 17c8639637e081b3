"""`GET/PUT /api/flows/{flow_id}/draft`: the flow's working copy (see `runtime.flows.drafts`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, put
from litestar.params import FromPath, HeaderParameter, JSONBody

from runtime.api.deps import Caller, Rt
from runtime.api.schemas import Body
from runtime.flows import drafts

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description='The ETag of the working copy this write is based on ("3"), or * to overwrite',
    ),
]


class DraftWrite(Body):
    document: Any


class DraftController(Controller):
    path = "/api/flows/{flow_id:str}/draft"
    tags = ["flows"]

    @get("")
    async def read(self, rt: Rt, actor: Caller, flow_id: FromPath[str]) -> Response[drafts.DraftView]:
        """The working copy, its problems (as `POST /api/flows/validate` answers them) and its ETag."""
        async with rt.db.read() as session:
            view = await drafts.read_draft(session, rt.authz, actor, flow_id, rt.registry)
        return Response(view, headers={"ETag": view.etag})

    @put("")
    async def write(
        self,
        rt: Rt,
        actor: Caller,
        flow_id: FromPath[str],
        data: JSONBody[DraftWrite],
        if_match: IfMatch = None,
    ) -> Response[drafts.DraftView]:
        """Replace the working copy (any JSON, valid or not, at most 1 MiB). Needs `If-Match`:
        missing 428 `if_match_required`; changed since 412 `draft_changed` with the current
        `revision`."""
        async with rt.db.write() as session:
            view = await drafts.write_draft(
                session, rt.authz, actor, flow_id, data.document, if_match, rt.registry
            )
        return Response(view, headers={"ETag": view.etag})
