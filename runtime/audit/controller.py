"""`/api/audit`: list, export (JSON Lines) and verify the tamper-evident trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from litestar import Controller, get
from litestar.params import FromQuery
from litestar.response import Stream

from runtime.api.deps import Caller, Rt
from runtime.audit import service
from runtime.errors import BadRequest
from runtime.policy.resources import Platform


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"'{name}' must be an ISO-8601 date or time, e.g. 2026-11-01") from None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed


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
        limit: FromQuery[int] = 100,
        before_seq: FromQuery[int | None] = None,
    ) -> list[dict[str, Any]]:
        rt.authz.authorize(actor, "read_audit", Platform())
        async with rt.db.read() as session:
            rows = await service.list_entries(
                session,
                actor=who,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                since=_time(since, "since"),
                until=_time(until, "until"),
                limit=min(max(limit, 1), 1000),
                before_seq=before_seq,
            )
        return [service.entry_as_json(row) for row in rows]

    @get("/export")
    async def export(
        self,
        rt: Rt,
        actor: Caller,
        action: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
    ) -> Stream:
        rt.authz.authorize(actor, "read_audit", Platform())

        async def lines() -> AsyncIterator[str]:
            async with rt.db.read() as session:
                async for line in service.export_jsonl(
                    session, action=action, since=_time(since, "since"), until=_time(until, "until")
                ):
                    yield line if line.endswith("\n") else line + "\n"

        return Stream(
            lines(),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="dirigent-audit.jsonl"'},
        )

    @get("/verify")
    async def verify(self, rt: Rt, actor: Caller) -> dict[str, Any]:
        rt.authz.authorize(actor, "read_audit", Platform())
        async with rt.db.read() as session:
            result = await service.verify(session)
        return {
            "ok": result.ok,
            "entries": result.entries,
            "first_bad_seq": result.first_bad_seq,
            "problem": result.problem,
        }
