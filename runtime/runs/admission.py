"""Accepting a run exactly once: `Idempotency-Key` on invocations, and the guard rows that
are written in one transaction with a run's first row.

    POST /api/assistants/{slug}/runs             Idempotency-Key: <1-255 visible ASCII characters>
    POST /api/flows/{id}/versions/{n}/runs       (test runs: the same)

With a key, the run's row is stored together with the key (caller + key unique) before
the run starts (`RunManager.start(admission=...)`). Of two requests with the same key —
one after the other, at the same moment, or on two runtime processes of one database —
exactly one inserts the key and starts a run; the other finds the key and answers with
that run (`Idempotent-Replayed: true`). The same key with another request (another
assistant, other inputs or options) is refused: 409 `idempotency_key_reused`. Keys are
kept for `KEY_TTL` (24 h); the background sweep deletes expired ones, and an expired key
that is still there counts as unused.

Insert-or-read is an `INSERT ... ON CONFLICT DO NOTHING RETURNING` followed, when nothing
was inserted, by a read of the existing row in the same transaction. On PostgreSQL the
insert waits for a concurrent transaction that holds the same key to end, and the read
then sees its committed row; on SQLite writers are serialised anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import IdempotencyKey, new_id, utcnow
from runtime.errors import BadRequest, Conflict

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
HEADER_DESCRIPTION = (
    "Optional. A key of your choice (1-255 visible ASCII characters, e.g. a UUID) that makes "
    "a retry safe: a request with a key you used in the last 24 hours and the same body "
    "starts no second run but answers with the run of the first one (header "
    "`Idempotent-Replayed: true`); with another body it is refused (409 "
    "`idempotency_key_reused`). The run is stored before the answer."
)

# Writes that must commit with a run's first row, or not at all (see `RunManager.start`).
Admission = Callable[[AsyncSession, str], Awaitable[None]]


class AlreadyAccepted(Exception):
    """The request was accepted before: `run_id` is the run it started.

    Raised inside an admission, so that the transaction (and the new run) is rolled back."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


def checked_key(raw: str | None) -> str | None:
    """The header's key, or None without one; a clear 400 for an unusable one."""
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not all(" " <= char <= "~" for char in key):
        raise BadRequest(
            f"the {HEADER} header must be 1 to {MAX_KEY_LENGTH} visible ASCII characters, e.g. a UUID",
            code="invalid_idempotency_key",
        )
    return key


def request_digest(route: str, body: Mapping[str, Any]) -> str:
    """SHA-256 of what a request asks for: its route and its parsed body (defaults filled
    in, so `{}` and `{"stream": false}` are the same request)."""
    canonical = json.dumps({"route": route, "body": body}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def insert_once(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """INSERT `values` unless a row with the same unique key exists; True if inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(table).values(values).on_conflict_do_nothing().returning(table.c.id)
    return (await session.execute(statement)).first() is not None


def key_admission(caller_id: str, key: str, digest: str) -> Admission:
    """Store `key` with the run (see the module docstring); raises `AlreadyAccepted` with
    the earlier run for the same request, `Conflict` for another request."""

    async def admit(session: AsyncSession, run_id: str) -> None:
        now = utcnow()
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.caller_id == caller_id,
                IdempotencyKey.key == key,
                IdempotencyKey.expires_at < now,
            )
        )
        values = {
            "id": new_id(),
            "caller_id": caller_id,
            "key": key,
            "request_digest": digest,
            "run_id": run_id,
            "created_at": now,
            "expires_at": now + KEY_TTL,
        }
        if await insert_once(session, IdempotencyKey.__table__, values):  # type: ignore[arg-type]
            return
        earlier = (
            await session.execute(
                select(IdempotencyKey.run_id, IdempotencyKey.request_digest).where(
                    IdempotencyKey.caller_id == caller_id, IdempotencyKey.key == key
                )
            )
        ).one()
        if earlier.request_digest != digest:
            raise Conflict(
                f"the {HEADER} was used before for another request (another assistant, other "
                "inputs or options); use a new key for a new request",
                code="idempotency_key_reused",
            )
        raise AlreadyAccepted(earlier.run_id)

    return admit


async def prune_expired(session: AsyncSession) -> None:
    """Delete expired keys (the background sweep)."""
    await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < utcnow()))
