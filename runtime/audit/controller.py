"""`/api/audit`: list, export (JSON Lines), verify and anchor the tamper-evident trail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, get, post
from litestar.params import FromQuery
from litestar.response import Stream
from pydantic import BaseModel

from runtime.api.deps import Caller, Rt
from runtime.api.params import AuditPageLimit, AuditSeq, parse_time
from runtime.audit import anchors, service
from runtime.errors import Conflict
from runtime.policy.resources import Platform


class AuditEntryOut(BaseModel):
    """One entry: exactly the hashed fields plus `entry_hash` (verifiable offline)."""

    seq: int
    at: str
    actor: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    version_hash: str | None
    detail: dict[str, Any]
    prev_hash: str
    entry_hash: str


class AnchorsOut(BaseModel):
    """The chain compared with the anchors in the anchor file (see runtime/audit/anchors.py)."""

    ok: bool
    anchors: int
    last_anchored_seq: int
    last_anchored_at: str | None
    unanchored_entries: int
    problems: list[str]


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None
    problem: str | None
    last_hash: str | None
    warnings: list[str]
    anchors: AnchorsOut


class AnchorOut(BaseModel):
    seq: int
    entry_hash: str
    anchored_at: str
    key_id: str
    signature: str
    written_to: list[str]
    failed: dict[str, str]


class AuditController(Controller):
    path = "/api/audit"
    tags = ["audit"]

    @get("/")
    async def list_entries(
        self,
        rt: Rt,
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
        rt.authz.authorize(actor, "read_audit", Platform())
        async with rt.db.read() as session:
            rows = await service.list_entries(
                session,
                actor=who,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                since=parse_time("since", since),
                until=parse_time("until", until),
                limit=limit,
                before_seq=before_seq,
            )
        return [AuditEntryOut(**service.entry_as_json(row)) for row in rows]

    @get("/export", media_type="application/x-ndjson")
    async def export(
        self,
        rt: Rt,
        actor: Caller,
        action: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
    ) -> Stream:
        rt.authz.authorize(actor, "read_audit", Platform())
        # Checked before the stream starts: once the 200 is sent, an error can only cut the
        # download short, which a client cannot tell from a short log.
        since_at, until_at = parse_time("since", since), parse_time("until", until)

        async def lines() -> AsyncIterator[str]:
            async with rt.db.read() as session:
                async for line in service.export_jsonl(
                    session, action=action, since=since_at, until=until_at
                ):
                    yield line

        return Stream(
            lines(),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="dirigent-audit.jsonl"'},
        )

    @get("/verify")
    async def verify(self, rt: Rt, actor: Caller) -> VerifyOut:
        """The chain checked entry by entry, and against the anchors kept outside the database."""
        rt.authz.authorize(actor, "read_audit", Platform())
        records = await asyncio.to_thread(anchors.anchor_file(rt.settings).read)
        async with rt.db.read() as session:
            result = await service.verify(session)
            check = await anchors.check_anchors(session, records, anchors.anchor_key(rt.settings))
        return VerifyOut(
            ok=result.ok and check.ok,
            entries=result.entries,
            first_bad_seq=result.first_bad_seq,
            problem=result.problem,
            last_hash=result.last_hash,
            warnings=list(result.warnings),
            anchors=AnchorsOut(
                ok=check.ok,
                anchors=check.anchors,
                last_anchored_seq=check.last_anchored_seq,
                last_anchored_at=check.last_anchored_at,
                unanchored_entries=check.unanchored_entries,
                problems=list(check.problems),
            ),
        )

    @post("/anchor", status_code=201)
    async def anchor(self, rt: Rt, actor: Caller) -> AnchorOut:
        """Sign the chain's head now and write it to every anchor target."""
        rt.authz.authorize(actor, "anchor_audit", Platform())
        try:
            result = await anchors.anchor_now(
                rt.db, anchors.anchor_key(rt.settings), anchors.configured_sinks(rt.settings)
            )
        except anchors.HeadNotAnchorable as error:
            raise Conflict(str(error), code="audit_head_broken", detail=str(error)) from None
        if result.anchor is None:
            raise Conflict("the audit log is empty: there is no head to anchor yet", code="audit_log_empty")
        anchor = result.anchor
        return AnchorOut(
            seq=anchor.seq,
            entry_hash=anchor.entry_hash,
            anchored_at=anchor.anchored_at,
            key_id=anchor.key_id,
            signature=anchor.signature,
            written_to=result.written_to,
            failed=result.failed,
        )
