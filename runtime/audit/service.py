"""The audit log: append-only, hash-chained, verifiable, exportable as JSON Lines.

Every entry carries the hash of the one before it::

    entry_hash = sha256(canonical JSON of {seq, at, actor, action, resource_type,
                                           resource_id, version_hash, detail, prev_hash})

Canonical JSON is sorted keys, compact separators (`,` and `:`), UTF-8, no NaN; `at` is
ISO-8601 UTC with microseconds (`2025-01-31T09:15:02.123456Z`). The first entry's
`prev_hash` is `GENESIS_HASH` (64 zeros). `entry_as_json()` is exactly the hashed payload
plus `entry_hash`, so an exported line verifies offline: drop `entry_hash`, hash the rest.

The single `AuditHead` row holds the last `seq` and hash. `append()` updates it before it
reads anything, which serialises appenders on every backend (a row lock on PostgreSQL, the
write lock on SQLite) and gives contiguous sequence numbers without gaps or duplicates.
`append()` runs inside the caller's write transaction, so an entry commits or rolls back
together with the change it describes.

What the chain detects: an entry whose content was changed, a removed entry (in the middle
or at the end), an entry inserted outside this service. What it cannot detect on its own:
someone with write access who rewrites every hash from the altered entry onwards and the
head too, or who cuts off the tail and moves the head back. Anchors catch both: the head's
hash, signed with a key that is not in the database, written outside it at an interval and
on demand (`runtime/audit/anchors.py`).

Tampering must never stop the service: a row forged after the head (its `seq` taken) or a
deleted head row would make every append fail. Appends therefore claim a `seq` beyond both
the head and the highest stored entry, and a missing head is restored from the last entry
with an `audit.head.restored` entry first in line; `verify` reports both.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import pairwise
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, Table, bindparam, case, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.canonical import canonical_json
from runtime.db.database import SqliteTransaction
from runtime.db.models import AuditEntry, AuditHead
from runtime.db.writes import Many, Plan, run_plan, run_plan_sqlite

GENESIS_HASH = "0" * 64
HEAD_ID = 1
BATCH_SIZE = 1000
MAX_LIST_LIMIT = 1000

# Words that name a secret; a detail key is split into words (snake_case, kebab-case,
# camelCase) and refused if one word, or "api" followed by "key", is among them. Whole
# words, so that `total_tokens` or `tokenizer` pass while `access_token` does not.
SECRET_WORDS = frozenset({"password", "passwd", "secret", "secrets", "token", "apikey", "authorization"})

# Column widths of `AuditEntry` (checked here so that SQLite, which does not enforce
# them, behaves like PostgreSQL, which does).
_FIELD_LIMITS = {
    "actor": 64,
    "action": 64,
    "resource_type": 32,
    "resource_id": 64,
    "version_hash": 64,
}


class _EntryFields(Protocol):
    """What hashing reads: an `AuditEntry`, or a row selected from its table."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def action(self) -> str: ...
    @property
    def resource_type(self) -> str | None: ...
    @property
    def resource_id(self) -> str | None: ...
    @property
    def version_hash(self) -> str | None: ...
    @property
    def detail(self) -> dict[str, Any]: ...
    @property
    def prev_hash(self) -> str: ...


class _StoredEntry(_EntryFields, Protocol):
    @property
    def entry_hash(self) -> str: ...


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of `verify()`.

    Attributes:
        ok: the whole chain is intact.
        entries: how many entries were checked and found intact (all of them when `ok`).
        first_bad_seq: the first sequence number that cannot be trusted, or None.
        problem: what is wrong, for people, or None.
        last_hash: the hash of the last intact entry (`GENESIS_HASH` for an empty log);
            record it elsewhere to detect a later rewrite of the whole tail.
        last_seq: the seq of that entry (0 for an empty log).
        warnings: what the intact chain itself records as suspicious, for people (a head
            row that was deleted and restored: entries cut off before that are only found
            by an anchor).
    """

    ok: bool
    entries: int
    first_bad_seq: int | None
    problem: str | None
    last_hash: str | None = None
    last_seq: int = 0
    warnings: tuple[str, ...] = ()


# -- hashing ----------------------------------------------------------------------------
def format_timestamp(at: datetime) -> str:
    """ISO-8601 UTC with microseconds, e.g. `2025-01-31T09:15:02.123456Z`."""
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware (UTC)")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hashed_payload(entry: _EntryFields) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": format_timestamp(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "version_hash": entry.version_hash,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
    }


def compute_entry_hash(entry: _EntryFields) -> str:
    """The SHA-256 (hex) an entry must carry, recomputed from its content."""
    return hashlib.sha256(canonical_json(_hashed_payload(entry)).encode("utf-8")).hexdigest()


def entry_as_json(entry: _StoredEntry) -> dict[str, Any]:
    """The entry (an `AuditEntry` or a row of its table) as plain JSON: the hashed fields
    plus `entry_hash`."""
    return {**_hashed_payload(entry), "entry_hash": entry.entry_hash}


# -- appending --------------------------------------------------------------------------
def _key_words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return [word for word in re.split(r"[^a-z0-9]+", spaced.lower()) if word]


@lru_cache(maxsize=4096)  # the same few keys come back in every entry
def _names_a_secret(key: str) -> bool:
    words = _key_words(key)
    return any(word in SECRET_WORDS for word in words) or any(
        pair == ("api", "key") for pair in pairwise(words)
    )


def _secret_paths(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            item_path = f"{path}.{key}"
            if _names_a_secret(str(key)):
                yield item_path
            yield from _secret_paths(item, item_path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _secret_paths(item, f"{path}[{index}]")


def _normalised_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    """`detail` as it reads back from the database (tuples become lists, ...), checked."""
    if detail is None:
        return {}
    if not isinstance(detail, dict):
        raise ValueError(f"audit detail must be a dict, not {type(detail).__name__}")
    try:
        # Round-tripping gives exactly what the JSON column returns, so the hash computed
        # now is the hash verify() recomputes later; sort_keys also rejects mixed key types.
        normalised = json.loads(canonical_json(detail))
    except (TypeError, ValueError) as error:
        raise ValueError(f"audit detail must be JSON-serialisable: {error}") from error
    secrets = list(_secret_paths(normalised, "detail"))
    if secrets:
        raise ValueError(
            "audit detail must not hold secrets; remove or rename "
            + ", ".join(secrets)
            + f" (keys naming any of {', '.join(sorted(SECRET_WORDS))} or 'api key' are refused)"
        )
    return normalised  # type: ignore[no-any-return]


def _check_fields(fields: dict[str, str | None]) -> None:
    for name, value in fields.items():
        if value is not None and len(value) > _FIELD_LIMITS[name]:
            raise ValueError(f"audit {name} is {len(value)} characters long; at most {_FIELD_LIMITS[name]}")


_AUDIT_HEAD: Table = AuditHead.__table__  # type: ignore[assignment]
_AUDIT_ENTRIES: Table = AuditEntry.__table__  # type: ignore[assignment]
# Built once: a statement object caches its compiled form (hot path: every run).
# The new seqs start after the head *and* after the highest stored entry: a row forged
# beyond the head must not block every later append (it stays outside the chain, and
# `verify` names it). `max(seq)` is read from the primary key's index.
_HIGHEST_SEQ = select(func.coalesce(func.max(_AUDIT_ENTRIES.c.seq), 0)).scalar_subquery()
_CLAIM_HEAD = (
    update(_AUDIT_HEAD)
    .where(_AUDIT_HEAD.c.id == HEAD_ID)
    .values(
        seq=case((_AUDIT_HEAD.c.seq < _HIGHEST_SEQ, _HIGHEST_SEQ), else_=_AUDIT_HEAD.c.seq)
        + bindparam("count")
    )
    .returning(_AUDIT_HEAD.c.seq, _AUDIT_HEAD.c.last_hash)
)
_MOVE_HEAD = update(_AUDIT_HEAD).where(_AUDIT_HEAD.c.id == HEAD_ID).values(last_hash=bindparam("last_hash"))
_INSERT_ENTRIES = insert(_AUDIT_ENTRIES)


def _insert_head(dialect: str) -> Any:
    """The head row at the given tail, unless another appender created it meanwhile (then
    nothing is returned; on PostgreSQL the loser waits until the winner commits)."""
    insert_head = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert_head(AuditHead)
        .values(id=HEAD_ID, seq=bindparam("seq"), last_hash=bindparam("last_hash"))
        .on_conflict_do_nothing()
        .returning(_AUDIT_HEAD.c.id)
    )


_INSERT_HEAD_SQLITE = _insert_head("sqlite")
_TAIL = (
    select(_AUDIT_ENTRIES.c.seq, _AUDIT_ENTRIES.c.entry_hash).order_by(_AUDIT_ENTRIES.c.seq.desc()).limit(1)
)
HEAD_RESTORED = "audit.head.restored"


def _tail_params(tail: Sequence[Any]) -> dict[str, Any]:
    """The head for a log whose last stored entry is `tail` (none: the very first entry)."""
    if not tail:
        return {"seq": 0, "last_hash": GENESIS_HASH}
    seq, entry_hash = tail[0]
    return {"seq": int(seq), "last_hash": str(entry_hash)}


def _restored(params: dict[str, Any]) -> Event:
    """The entry that says the head row was gone and was rebuilt from the last entry: the
    chain goes on (writes never stop), and the trail shows that it happened."""
    return Event(
        actor=None,
        action=HEAD_RESTORED,
        resource_type="audit",
        detail={"restored_from_seq": params["seq"], "restored_from_hash": params["last_hash"]},
    )


def _advance_head(events: list[Event], dialect: str) -> Plan[tuple[int, str]]:
    """Take the head's lock and claim a seq per event; returns (last new seq, previous
    hash). A missing head is restored first (see `_restored`), which puts one more event
    in front of `events`."""
    rows = yield _CLAIM_HEAD, {"count": len(events)}
    if not rows:
        # First entry ever, or the head row was deleted. Two appenders may race here: the
        # insert that loses does nothing, then both claim through the update in turn.
        params = _tail_params((yield _TAIL, {}))
        created = yield _INSERT_HEAD_SQLITE if dialect == "sqlite" else _insert_head(dialect), params
        if created and params["seq"]:
            events.insert(0, _restored(params))
        rows = yield _CLAIM_HEAD, {"count": len(events)}
    seq, last_hash = rows[0]
    return int(seq), str(last_hash)


@dataclass(frozen=True)
class Event:
    """One thing to record; `append_many` writes several under one claim of the head."""

    actor: str | None
    action: str
    resource_type: str | None = None
    resource_id: str | None = None
    version_hash: str | None = None
    detail: dict[str, Any] | None = None


async def append(
    session: AsyncSession,
    *,
    actor: str | None,
    action: str,
    resource_type: str | None = None,
    resource_id: str | None = None,
    version_hash: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry inside the caller's write transaction and return it.

    Args:
        session: a session in a write transaction (`db.write()`); the entry commits or
            rolls back with it. Call this after the caller's own reads, since it holds
            the audit lock until the transaction ends.
        actor: the user id, or None for the system.
        action: what happened, e.g. `flow.version.approved`.
        detail: JSON-serialisable facts about it; never secrets.

    Raises:
        ValueError: `detail` is not JSON-serialisable or has a key that names a secret,
            or a field is longer than its column.
    """
    (entry,) = await append_many(
        session, [Event(actor, action, resource_type, resource_id, version_hash, detail)]
    )
    return entry


def _checked_details(events: Sequence[Event]) -> list[dict[str, Any]]:
    """Every event's detail as stored, after checking the event (see `append`)."""
    details = []
    for event in events:
        if not event.action:
            raise ValueError("audit action must not be empty")
        _check_fields(
            {
                "actor": event.actor,
                "action": event.action,
                "resource_type": event.resource_type,
                "resource_id": event.resource_id,
                "version_hash": event.version_hash,
            }
        )
        details.append(_normalised_detail(event.detail))
    return details


def _chained(
    events: Sequence[Event], details: list[dict[str, Any]], last_seq: int, prev_hash: str
) -> list[dict[str, Any]]:
    """The rows for `events`, hashed in order onto `prev_hash`; the last gets `last_seq`."""
    at = datetime.now(UTC)  # taken under the lock, so time follows seq
    rows = []
    for offset, (event, detail) in enumerate(zip(events, details, strict=True)):
        row = {
            "seq": last_seq - len(events) + 1 + offset,
            "at": at,
            "actor": event.actor,
            "action": event.action,
            "resource_type": event.resource_type,
            "resource_id": event.resource_id,
            "version_hash": event.version_hash,
            "detail": detail,
            "prev_hash": prev_hash,
        }
        row["entry_hash"] = prev_hash = compute_entry_hash(SimpleNamespace(**row))
        rows.append(row)
    return rows


def append_plan(events: Sequence[Event], dialect: str) -> Plan[list[dict[str, Any]]]:
    """The writes of `append_many` as a plan (`runtime.db.writes`), for either driver;
    returns the rows of `events` as stored. Bad input is refused before the first
    statement, so before the head's lock is taken."""
    if not events:
        return []
    details = _checked_details(events)
    chained = list(events)
    last_seq, prev_hash = yield from _advance_head(chained, dialect)
    if len(chained) > len(events):
        details = _checked_details(chained[:1]) + details
    rows = _chained(chained, details, last_seq, prev_hash)
    yield Many(_INSERT_ENTRIES, rows)
    yield Many(_MOVE_HEAD, [{"last_hash": rows[-1]["entry_hash"]}])
    return rows[len(rows) - len(events) :]


async def append_many(session: AsyncSession, events: Sequence[Event]) -> list[AuditEntry]:
    """Append several entries in order with three statements in all (hot paths: runs)."""
    if not events:
        return []
    rows = await run_plan(append_plan(events, session.get_bind().dialect.name), session)
    return [AuditEntry(**row) for row in rows]


def append_many_sqlite(transaction: SqliteTransaction, events: Sequence[Event]) -> None:
    """`append_many` in a transaction of `Database.sqlite_writer`: the same plan."""
    run_plan_sqlite(append_plan(events, "sqlite"), transaction)


# -- verifying --------------------------------------------------------------------------
async def _read_head(session: AsyncSession) -> tuple[int, str] | None:
    row = (
        await session.execute(select(AuditHead.seq, AuditHead.last_hash).where(AuditHead.id == HEAD_ID))
    ).one_or_none()
    return None if row is None else (row.seq, row.last_hash)


async def _first_seq_after(session: AsyncSession, seq: int) -> int | None:
    return (await session.execute(select(func.min(AuditEntry.seq)).where(AuditEntry.seq > seq))).scalar_one()


async def _batches(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]]
) -> AsyncIterator[Sequence[Any]]:
    """Matching entries in seq order as plain rows (no ORM objects), BATCH_SIZE at a time."""
    after = 0
    while True:
        query = (
            select(*AuditEntry.__table__.columns)
            .where(AuditEntry.seq > after, *conditions)
            .order_by(AuditEntry.seq)
            .limit(BATCH_SIZE)
        )
        rows = (await session.execute(query)).all()
        if rows:
            yield rows
        if len(rows) < BATCH_SIZE:
            return
        after = rows[-1].seq


def _missing(expected: int, found: int, previous: int) -> str:
    where = f"the chain jumps from {previous} to {found}" if previous else f"the chain starts at {found}"
    if found - expected == 1:
        return f"entry {expected} is missing ({where})"
    return f"entries {expected} to {found - 1} are missing ({where})"


def _removed_at_end(last: int, head_seq: int) -> str:
    if head_seq - last == 1:
        return f"the last entry ({head_seq}) was removed"
    return f"the last {head_seq - last} entries ({last + 1} to {head_seq}) were removed"


async def verify(session: AsyncSession) -> VerifyResult:
    """Walk the chain in seq order and report the first problem, if any.

    Reads the head first and checks the entries up to it, so entries appended while this
    runs (on PostgreSQL each statement sees the latest commits) raise no false alarm.
    """
    head = await _read_head(session)
    if head is None and await _first_seq_after(session, 0) is not None:
        head = await _read_head(session)  # the very first append may have just committed

    # The intact prefix so far: how many entries, the last seq, its hash and the one before.
    checked, last_seq, last_hash, before_last_hash = 0, 0, GENESIS_HASH, GENESIS_HASH
    warnings: list[str] = []

    def bad(seq: int, problem: str) -> VerifyResult:
        return VerifyResult(False, checked, seq, problem, last_hash, last_seq, tuple(warnings))

    up_to = [] if head is None else [AuditEntry.seq <= head[0]]
    async for rows in _batches(session, up_to):
        for row in rows:
            expected = last_seq + 1
            if row.seq != expected:
                return bad(expected, _missing(expected, row.seq, last_seq))
            if compute_entry_hash(row) != row.entry_hash:
                return bad(row.seq, f"entry {row.seq} was altered (its hash does not match its content)")
            if row.prev_hash != last_hash:
                if last_seq == 0:
                    return bad(1, "entry 1 does not start the chain (its prev_hash is not 0…0)")
                # One of the two was altered and given a fresh hash; the earlier is suspect.
                suspect = last_seq
                checked, last_hash, last_seq = checked - 1, before_last_hash, last_seq - 1
                if row.prev_hash == last_hash:  # the chain skips it: it was slipped in
                    return bad(
                        suspect,
                        f"entry {suspect} is not in the chain (entry {row.seq} links to entry "
                        f"{suspect - 1}): it was written outside the audit service",
                    )
                return bad(
                    suspect,
                    f"entry {row.seq} does not link to entry {suspect} (its prev_hash is not "
                    f"the hash of entry {suspect}): one of them was altered and re-hashed",
                )
            if row.action == HEAD_RESTORED:
                warnings.append(
                    f"the chain head was deleted and restored from entry {row.seq - 1} "
                    f"(entry {row.seq}, {format_timestamp(row.at)}); entries removed from the end "
                    "before that are found only by an anchor"
                )
            checked, last_seq = checked + 1, row.seq
            before_last_hash, last_hash = last_hash, row.entry_hash

    if head is None:
        if checked:  # the entries are intact among themselves; what is gone is the head row
            problem = f"the chain head (table audit_head) is missing; {checked} entries exist"
            return VerifyResult(False, checked, None, problem, last_hash, last_seq, tuple(warnings))
        return VerifyResult(True, 0, None, None, GENESIS_HASH)

    head_seq, head_hash = head
    if last_seq < head_seq:
        return bad(last_seq + 1, _removed_at_end(last_seq, head_seq))
    if head_hash != last_hash:
        suspect = last_seq
        checked, last_hash, last_seq = checked - 1, before_last_hash, last_seq - 1
        return bad(
            suspect,
            f"the last entry ({suspect}) does not match the chain head: it was replaced or re-hashed",
        )
    beyond = await _first_seq_after(session, head_seq)
    if beyond is not None:
        moved = await _read_head(session)
        if moved is None or moved[0] < beyond:  # no concurrent append: nobody moved the head
            return bad(
                beyond,
                f"entry {beyond} is not in the chain (the head ends at {head_seq}): "
                f"it was written outside the audit service",
            )
    return VerifyResult(True, checked, None, None, last_hash, last_seq, tuple(warnings))


# -- reading ----------------------------------------------------------------------------
def _filters(
    *,
    actor: str | None,
    action: str | None,
    resource_type: str | None,
    resource_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[ColumnElement[bool]]:
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware (e.g. datetime.now(UTC))")
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (AuditEntry.actor, actor),
        (AuditEntry.action, action),
        (AuditEntry.resource_type, resource_type),
        (AuditEntry.resource_id, resource_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if since is not None:
        conditions.append(AuditEntry.at >= since)
    if until is not None:
        conditions.append(AuditEntry.at < until)
    return conditions


async def list_entries(
    session: AsyncSession,
    *,
    actor: str | None = None,
    action: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    before_seq: int | None = None,
) -> list[AuditEntry]:
    """Entries matching every given filter, newest first.

    `since` is inclusive, `until` exclusive. Page backwards by passing the last returned
    entry's `seq` as `before_seq`. `limit` is 1 to MAX_LIST_LIMIT.
    """
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIST_LIMIT}, not {limit}")
    query: Select[tuple[AuditEntry]] = select(AuditEntry).where(
        *_filters(
            actor=actor,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            since=since,
            until=until,
        )
    )
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    result = await session.execute(query.order_by(AuditEntry.seq.desc()).limit(limit))
    return list(result.scalars())


async def export_jsonl(
    session: AsyncSession,
    *,
    actor: str | None = None,
    action: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AsyncIterator[str]:
    """Matching entries in seq order, one JSON object per line (with its trailing newline).

    Each line is `entry_as_json()`; an unfiltered export is the whole chain, verifiable
    offline. Reads BATCH_SIZE entries at a time.
    """
    conditions = _filters(
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        since=since,
        until=until,
    )
    async for rows in _batches(session, conditions):
        for row in rows:
            yield canonical_json(entry_as_json(row)) + "\n"
