"""The audit trail as the HTTP API offers it: list, export, verify and anchor, each for
whoever the policy lets read (`read_audit`) or anchor (`anchor_audit`) the trail.

The chain itself (appending, hashing, verifying) is `runtime.audit.service`; the anchors
kept outside the database are `runtime.audit.anchors`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

from runtime.audit import anchors, service
from runtime.audit.responses import AnchorOut, AnchorsOut, AuditEntryOut, VerifyOut
from runtime.db.database import Database
from runtime.errors import Conflict
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor, Platform
from runtime.settings import Settings


class AuditTrail:
    """The trail, bound to the database, the policy and the anchor settings. Reading goes
    through `read_by` (which asks the policy first), anchoring through `anchor`."""

    def __init__(self, db: Database, authz: Authorizer, settings: Settings) -> None:
        self.db = db
        self.authz = authz
        self.settings = settings

    def read_by(self, actor: Actor) -> AuditReader:
        """The trail's reading side, for an actor the policy lets read it (403 otherwise)."""
        self.authz.authorize(actor, "read_audit", Platform())
        return AuditReader(self.db, self.settings)

    async def anchor(self, actor: Actor) -> AnchorOut:
        """Sign the chain's head now and write it to every anchor target."""
        self.authz.authorize(actor, "anchor_audit", Platform())
        try:
            result = await anchors.anchor_now(
                self.db, anchors.anchor_key(self.settings), anchors.configured_sinks(self.settings)
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


class AuditReader:
    """What whoever may read the trail can do with it."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def entries(
        self,
        *,
        who: str | None = None,
        action: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        before_seq: int | None = None,
    ) -> list[AuditEntryOut]:
        """Entries matching every given filter, newest first."""
        async with self.db.read() as session:
            rows = await service.list_entries(
                session,
                actor=who,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                since=since,
                until=until,
                limit=limit,
                before_seq=before_seq,
            )
        return [AuditEntryOut(**service.entry_as_json(row)) for row in rows]

    def export(
        self,
        *,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> AsyncIterator[str]:
        """The matching entries as JSON Lines, in seq order."""

        async def lines() -> AsyncIterator[str]:
            async with self.db.read() as session:
                async for line in service.export_jsonl(session, action=action, since=since, until=until):
                    yield line

        return lines()

    async def verify(self) -> VerifyOut:
        """The chain checked entry by entry, and against the anchors kept outside the database."""
        records = await asyncio.to_thread(anchors.anchor_file(self.settings).read)
        async with self.db.read() as session:
            result = await service.verify(session)
            check = await anchors.check_anchors(session, records, anchors.anchor_key(self.settings))
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
