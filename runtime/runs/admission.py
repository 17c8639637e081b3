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

An `Admission`'s guard is written without I/O of its own: a plan (`runtime.db.writes`),
a generator that yields the statements to run and is sent each one's rows back. The run
writer drives it on whichever transaction carries the run's row — an `AsyncSession`, or
on a SQLite file the writer thread's plain connection (`run_guard_sqlite`), so that a
guarded run costs no more round trips than any other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Insert, Table, bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import Event
from runtime.db.database import SqliteTransaction
from runtime.db.models import IdempotencyKey, new_id, utcnow
from runtime.db.writes import Plan, run_plan, run_plan_sqlite
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

# A plan of `runtime.db.writes`: statements and their parameters; the guard is sent the
# rows each returned ([] for none).
Guard = Plan[None]


@dataclass(frozen=True)
class Admission:
    """Writes that must commit with a run's first row, or not at all (`RunManager.start`).

    `guard(run_id, dialect)` yields the statements (after the run's row is inserted); it
    refuses the run by raising. `events(run_id)` are audit entries of the same transaction.
    """

    guard: Callable[[str, str], Guard]
    events: Callable[[str], list[Event]] = field(default=lambda run_id: [])


async def run_guard(guard: Guard, session: AsyncSession) -> None:
    """Drive `guard` on an async session's transaction."""
    await run_plan(guard, session)


def run_guard_sqlite(guard: Guard, transaction: SqliteTransaction) -> None:
    """Drive `guard` in a transaction of the SQLite writer thread."""
    run_plan_sqlite(guard, transaction)


_INSERTS: dict[tuple[str, str], Insert] = {}


def insert_once(table: Table, dialect: str) -> Insert:
    """INSERT of a whole row of `table` (parameters named after its columns) that does
    nothing when a row with the same unique key exists; returns the new row's id."""
    statement = _INSERTS.get((table.name, dialect))
    if statement is None:
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        values: dict[str, Any] = {column.name: bindparam(column.name) for column in table.columns}
        statement = insert(table).values(values).on_conflict_do_nothing().returning(table.c.id)
        _INSERTS[(table.name, dialect)] = statement
    return statement


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
            header=HEADER,
            max_length=MAX_KEY_LENGTH,
        )
    return key


def request_digest(route: str, body: Mapping[str, Any]) -> str:
    """SHA-256 of what a request asks for: its route and its parsed body (defaults filled
    in, so `{}` and `{"stream": false}` are the same request)."""
    canonical = json.dumps({"route": route, "body": body}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


KEYS: Table = IdempotencyKey.__table__  # type: ignore[assignment]
_DELETE_EXPIRED_KEY = delete(KEYS).where(
    KEYS.c.caller_id == bindparam("caller_id"),
    KEYS.c.key == bindparam("key"),
    KEYS.c.expires_at < bindparam("now"),
)
_EARLIER_KEY = select(KEYS.c.run_id, KEYS.c.request_digest).where(
    KEYS.c.caller_id == bindparam("caller_id"), KEYS.c.key == bindparam("key")
)


def key_admission(caller_id: str, key: str, digest: str) -> Admission:
    """Store `key` with the run (see the module docstring); raises `AlreadyAccepted` with
    the earlier run for the same request, `Conflict` for another request."""

    def guard(run_id: str, dialect: str) -> Guard:
        now = utcnow()
        yield _DELETE_EXPIRED_KEY, {"caller_id": caller_id, "key": key, "now": now}
        row = {
            "id": new_id(),
            "caller_id": caller_id,
            "key": key,
            "request_digest": digest,
            "run_id": run_id,
            "created_at": now,
            "expires_at": now + KEY_TTL,
        }
        if (yield insert_once(KEYS, dialect), row):
            return
        [(earlier_run, earlier_digest)] = yield _EARLIER_KEY, {"caller_id": caller_id, "key": key}
        if earlier_digest != digest:
            raise Conflict(
                f"the {HEADER} was used before for another request (another assistant, other "
                "inputs or options); use a new key for a new request",
                code="idempotency_key_reused",
                header=HEADER,
            )
        raise AlreadyAccepted(earlier_run)

    return Admission(guard)


async def prune_expired(session: AsyncSession) -> None:
    """Delete expired keys (the background sweep)."""
    await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < utcnow()))
