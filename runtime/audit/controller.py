"""`/api/audit`: list, export (JSON Lines), verify and anchor the tamper-evident trail."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery
from litestar.response import Stream

from runtime.api.deps import Caller, Root
from runtime.api.params import AuditPageLimit, AuditSeq, parse_time
from runtime.audit.responses import AnchorOut, AuditEntryOut, VerifyOut
from runtime.audit.trail import AuditTrail


def provide_audit(root: Root) -> AuditTrail:
    return AuditTrail(root.db, root.authz, root.settings)


Audit = NamedDependency[AuditTrail]


class AuditController(Controller):
    path = "/api/audit"
    tags = ["audit"]
    dependencies = {"audit": Provide(provide_audit, sync_to_thread=False)}

    @get("/")
    async def list_entries(
        self,
        audit: Audit,
        actor: Caller,
        action: FromQuery[str | None] = None,
        who: FromQuery[str | None] = None,
        resource_type: FromQuery[str | None] = None,
        resource_id: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        limit: AuditPageLimit = 100,
        before_seq: AuditSeq = None,
    ) -> list[AuditEntryOut]:
        reader = audit.read_by(actor)
        return await reader.entries(
            who=who,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            since=parse_time("since", since),
            until=parse_time("until", until),
            limit=limit,
            before_seq=before_seq,
        )

    @get(
        "/export",
        media_type="application/x-ndjson",
        responses={
            200: ResponseSpec(
                data_container=AuditEntryOut,
                media_type="application/x-ndjson",
                description="One entry per line (JSON Lines), in seq order",
            )
        },
    )
    async def export(
        self,
        audit: Audit,
        actor: Caller,
        action: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
    ) -> Stream:
        reader = audit.read_by(actor)
        # Checked before the stream starts: once the 200 is sent, an error can only cut the
        # download short, which a client cannot tell from a short log.
        since_at, until_at = parse_time("since", since), parse_time("until", until)
        return Stream(
            reader.export(action=action, since=since_at, until=until_at),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="dirigent-audit.jsonl"'},
        )

    @get("/verify")
    async def verify(self, audit: Audit, actor: Caller) -> VerifyOut:
        """The chain checked entry by entry, and against the anchors kept outside the database."""
        return await audit.read_by(actor).verify()

    @post("/anchor", status_code=201)
    async def anchor(self, audit: Audit, actor: Caller) -> AnchorOut:
        """Sign the chain's head now and write it to every anchor target."""
        return await audit.anchor(actor)
