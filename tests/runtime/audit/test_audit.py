"""The audit log: appending, the hash chain and what tampering it catches, export, filters."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, bindparam, event, select, text

from runtime.audit import service
from runtime.audit.service import (
    GENESIS_HASH,
    append,
    compute_entry_hash,
    entry_as_json,
    export_jsonl,
    list_entries,
    verify,
)
from runtime.db.database import Database
from runtime.db.models import AuditEntry, AuditHead


async def _append_many(db: Database, count: int, **fields: Any) -> list[AuditEntry]:
    entries = []
    for number in range(count):
        async with db.write() as session:
            entries.append(
                await append(
                    session,
                    actor=fields.get("actor", "u1"),
                    action=fields.get("action", "flow.saved"),
                    resource_type=fields.get("resource_type", "flow"),
                    resource_id=fields.get("resource_id", f"f{number}"),
                    detail={"number": number},
                )
            )
    return entries


async def _execute(db: Database, statement: Any, **params: Any) -> None:
    async with db.write() as session:
        await session.execute(statement, params)


async def _verify(db: Database) -> service.VerifyResult:
    async with db.read() as session:
        return await verify(session)


async def _export(db: Database, **filters: Any) -> list[str]:
    async with db.read() as session:
        return [line async for line in export_jsonl(session, **filters)]


async def _head(db: Database) -> tuple[int, str] | None:
    async with db.read() as session:
        row = (await session.execute(select(AuditHead.seq, AuditHead.last_hash))).one_or_none()
    return None if row is None else (row.seq, row.last_hash)


def verify_offline(lines: list[str]) -> int:
    """An auditor's check of an export, independent of the service: returns the count."""
    previous_hash = "0" * 64
    for expected_seq, line in enumerate(lines, start=1):
        record = json.loads(line)
        claimed = record.pop("entry_hash")
        payload = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(payload.encode("utf-8")).hexdigest() == claimed, record["seq"]
        assert record["seq"] == expected_seq
        assert record["prev_hash"] == previous_hash, record["seq"]
        previous_hash = claimed
    return len(lines)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 3, so a few entries exercise the batch boundaries of verify and export."""
    monkeypatch.setattr(service, "BATCH_SIZE", 3)


# -- appending and the round trip ----------------------------------------------------------
async def test_empty_log_verifies(db: Database) -> None:
    result = await _verify(db)
    assert (result.ok, result.entries, result.first_bad_seq, result.problem) == (
        True,
        0,
        None,
        None,
    )
    assert result.last_hash == GENESIS_HASH


async def test_append_and_verify_round_trip(db: Database, small_batches: None) -> None:
    async with db.write() as session:
        first = await append(
            session,
            actor="u1",
            action="flow.version.approved",
            resource_type="flow_version",
            resource_id="v1",
            version_hash="ab" * 32,
            detail={"comment": "Prüfung ok ✓", "round": 1, "quorum": [1, 2.5, None, True]},
        )
    rest = await _append_many(db, 6)

    assert [entry.seq for entry in [first, *rest]] == list(range(1, 8))
    assert first.prev_hash == GENESIS_HASH
    assert all(
        later.prev_hash == earlier.entry_hash for earlier, later in zip([first, *rest], rest, strict=False)
    )
    assert first.at.tzinfo is not None
    assert first.entry_hash == compute_entry_hash(first)

    result = await _verify(db)
    assert result.ok, result.problem
    assert (result.entries, result.first_bad_seq, result.last_hash) == (
        7,
        None,
        rest[-1].entry_hash,
    )
    assert await _head(db) == (7, rest[-1].entry_hash)

    async with db.read() as session:
        stored = await session.get(AuditEntry, 1)
        assert stored is not None
        assert entry_as_json(stored) == entry_as_json(first)
        assert stored.detail["comment"] == "Prüfung ok ✓"


async def test_detail_is_stored_as_it_reads_back(db: Database) -> None:
    async with db.write() as session:
        entry = await append(session, actor=None, action="system.started", detail={"ids": (1, 2)})
    assert entry.detail == {"ids": [1, 2]}
    assert (await _verify(db)).ok


# -- tampering ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("statement", "params"),
    [
        pytest.param(
            text("UPDATE audit_entries SET detail = :detail WHERE seq = 3").bindparams(
                bindparam("detail", type_=JSON)
            ),
            {"detail": {"number": 99}},
            id="detail",
        ),
        pytest.param(text("UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 3"), {}, id="actor"),
        pytest.param(text("UPDATE audit_entries SET action = 'flow.deleted' WHERE seq = 3"), {}, id="action"),
    ],
)
async def test_altered_entry_is_named(db: Database, statement: Any, params: dict[str, Any]) -> None:
    await _append_many(db, 5)
    await _execute(db, statement, **params)

    result = await _verify(db)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert result.entries == 2
    assert result.problem == "entry 3 was altered (its hash does not match its content)"


async def test_altered_and_rehashed_entry_breaks_the_link(db: Database) -> None:
    entries = await _append_many(db, 5)
    forged = entries[2]
    forged.detail = {"number": 99}
    await _execute(
        db,
        text("UPDATE audit_entries SET detail = :detail, entry_hash = :hash WHERE seq = 3").bindparams(
            bindparam("detail", type_=JSON)
        ),
        detail=forged.detail,
        hash=compute_entry_hash(forged),
    )

    result = await _verify(db)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert result.entries == 2
    assert result.problem is not None
    assert result.problem.startswith("entry 4 does not link to entry 3")


async def test_removed_middle_entry_is_detected(db: Database, small_batches: None) -> None:
    await _append_many(db, 8)
    await _execute(db, text("DELETE FROM audit_entries WHERE seq = 4"))

    result = await _verify(db)
    assert (result.ok, result.entries, result.first_bad_seq) == (False, 3, 4)
    assert result.problem == "entry 4 is missing (the chain jumps from 3 to 5)"


async def test_removed_run_of_entries_and_first_entry_are_detected(db: Database) -> None:
    await _append_many(db, 8)
    await _execute(db, text("DELETE FROM audit_entries WHERE seq IN (4, 5, 6)"))
    result = await _verify(db)
    assert result.first_bad_seq == 4
    assert result.problem == "entries 4 to 6 are missing (the chain jumps from 3 to 7)"

    await _execute(db, text("DELETE FROM audit_entries WHERE seq = 1"))
    result = await _verify(db)
    assert (result.entries, result.first_bad_seq) == (0, 1)
    assert result.problem == "entry 1 is missing (the chain starts at 2)"


async def test_removed_last_entry_is_detected(db: Database) -> None:
    await _append_many(db, 5)
    await _execute(db, text("DELETE FROM audit_entries WHERE seq = 5"))

    result = await _verify(db)
    assert (result.ok, result.entries, result.first_bad_seq) == (False, 4, 5)
    assert result.problem == "the last entry (5) was removed"

    await _execute(db, text("DELETE FROM audit_entries WHERE seq >= 3"))
    assert (await _verify(db)).problem == "the last 3 entries (3 to 5) were removed"


async def test_replaced_last_entry_does_not_match_the_head(db: Database) -> None:
    entries = await _append_many(db, 3)
    forged = entries[-1]
    forged.actor = "someone-else"
    await _execute(
        db,
        text("UPDATE audit_entries SET actor = :actor, entry_hash = :hash WHERE seq = 3"),
        actor=forged.actor,
        hash=compute_entry_hash(forged),
    )

    result = await _verify(db)
    assert (result.ok, result.entries, result.first_bad_seq) == (False, 2, 3)
    assert result.problem == "the last entry (3) does not match the chain head: it was replaced or re-hashed"


async def test_entry_written_outside_the_service_is_detected(db: Database) -> None:
    entries = await _append_many(db, 2)
    extra = AuditEntry(
        seq=3,
        at=datetime.now(UTC),
        actor="intruder",
        action="flow.published",
        detail={},
        prev_hash=entries[-1].entry_hash,
    )
    extra.entry_hash = compute_entry_hash(extra)
    async with db.write() as session:
        session.add(extra)

    result = await _verify(db)
    assert (result.ok, result.entries, result.first_bad_seq) == (False, 2, 3)
    assert result.problem is not None
    assert result.problem.startswith("entry 3 is not in the chain (the head ends at 2)")


async def test_missing_head_is_detected(db: Database) -> None:
    await _append_many(db, 2)
    await _execute(db, text("DELETE FROM audit_head"))

    result = await _verify(db)
    assert (result.ok, result.entries, result.first_bad_seq) == (False, 2, None)
    assert result.problem == "the chain head (table audit_head) is missing; 2 entries exist"


# -- transactions and concurrency ------------------------------------------------------------
class _Abort(Exception):
    pass


async def test_rolled_back_transaction_leaves_no_entry(db: Database) -> None:
    # The very first append rolls back, head creation included.
    with pytest.raises(_Abort):
        async with db.write() as session:
            await append(session, actor="u1", action="flow.saved", detail={"n": 0})
            raise _Abort
    assert await _head(db) is None

    kept = await _append_many(db, 2)
    with pytest.raises(_Abort):
        async with db.write() as session:
            await append(session, actor="u1", action="flow.deleted")
            raise _Abort
    later = await _append_many(db, 1)

    async with db.read() as session:
        seqs = list((await session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq))).all())
        actions = set((await session.scalars(select(AuditEntry.action))).all())
    assert seqs == [1, 2, 3]
    assert actions == {"flow.saved"}
    assert later[0].prev_hash == kept[-1].entry_hash
    result = await _verify(db)
    assert result.ok, result.problem
    assert result.entries == 3


async def test_concurrent_appenders_get_contiguous_seqs(db: Database) -> None:
    async def one(number: int) -> int:
        async with db.write() as session:
            entry = await append(
                session, actor=f"u{number}", action="assistant.invoked", detail={"n": number}
            )
            await asyncio.sleep(0)  # hold the transaction across a switch
            return entry.seq

    seqs = await asyncio.gather(*(one(number) for number in range(50)))

    assert sorted(seqs) == list(range(1, 51))
    result = await _verify(db)
    assert result.ok, result.problem
    assert result.entries == 50
    assert verify_offline(await _export(db)) == 50


# -- refused input -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("detail", "path"),
    [
        ({"password": "hunter2"}, "detail.password"),
        ({"api_key": "k"}, "detail.api_key"),
        ({"apiKey": "k"}, "detail.apiKey"),
        ({"X-Api-Key": "k"}, "detail.X-Api-Key"),
        ({"client_secret": "s"}, "detail.client_secret"),
        ({"access_token": "t"}, "detail.access_token"),
        (
            {"connection": {"headers": {"Authorization": "Bearer t"}}},
            "detail.connection.headers.Authorization",
        ),
        ({"calls": [{"ok": 1}, {"TOKEN": "t"}]}, "detail.calls[1].TOKEN"),
        ({"user": {"password_hash": "x"}}, "detail.user.password_hash"),
    ],
)
async def test_secrets_in_detail_are_refused(db: Database, detail: dict[str, Any], path: str) -> None:
    with pytest.raises(ValueError, match="must not hold secrets") as raised:
        async with db.write() as session:
            await append(session, actor="u1", action="connection.updated", detail=detail)
    assert path in str(raised.value)
    assert await _head(db) is None


async def test_keys_that_only_resemble_secrets_are_allowed(db: Database) -> None:
    detail = {"total_tokens": 812, "tokenizer": "bpe", "usage": {"max_tokens": 512}, "keyboard": 1}
    async with db.write() as session:
        entry = await append(session, actor="u1", action="run.finished", detail=detail)
    assert entry.detail == detail


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"detail": {"when": datetime.now(UTC)}}, "JSON-serialisable"),
        ({"detail": {"ratio": float("nan")}}, "JSON-serialisable"),
        ({"detail": {1: "a", "b": 2}}, "JSON-serialisable"),
        ({"detail": ["not", "a", "dict"]}, "must be a dict"),
        ({"action": ""}, "must not be empty"),
        ({"actor": "u" * 65}, "at most 64"),
        ({"resource_type": "t" * 33}, "at most 32"),
    ],
)
async def test_invalid_input_is_refused(db: Database, fields: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"actor": "u1", "action": "flow.saved", **fields}
    with pytest.raises(ValueError, match=message):
        async with db.write() as session:
            await append(session, **arguments)
    assert await _head(db) is None


# -- export and listing --------------------------------------------------------------------
async def test_export_verifies_offline(db: Database, small_batches: None) -> None:
    async with db.write() as session:
        await append(session, actor="u1", action="flow.saved", detail={"name": "Angebot «Ü»", "x": 1.5})
    await _append_many(db, 7)

    lines = await _export(db)
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    assert verify_offline(lines) == 8
    assert json.loads(lines[0])["detail"] == {"name": "Angebot «Ü»", "x": 1.5}
    assert json.loads(lines[0])["at"].endswith("Z")

    # The offline check catches what verify() catches.
    await _execute(db, text("UPDATE audit_entries SET actor = 'x' WHERE seq = 5"))
    with pytest.raises(AssertionError):
        verify_offline(await _export(db))


async def test_filters(db: Database, small_batches: None) -> None:
    before = datetime.now(UTC)
    await _append_many(db, 3, actor="anna", action="flow.saved", resource_type="flow")
    middle = datetime.now(UTC)
    await _append_many(db, 2, actor="ben", action="flow.version.approved", resource_type="flow_version")
    async with db.write() as session:
        await append(session, actor=None, action="run.started", resource_type="run", resource_id="r1")

    async def seqs(**filters: Any) -> list[int]:
        async with db.read() as session:
            return [entry.seq for entry in await list_entries(session, **filters)]

    assert await seqs() == [6, 5, 4, 3, 2, 1]
    assert await seqs(actor="anna") == [3, 2, 1]
    assert await seqs(action="flow.version.approved") == [5, 4]
    assert await seqs(resource_type="run", resource_id="r1") == [6]
    assert await seqs(resource_type="flow", resource_id="f1") == [2]
    assert await seqs(actor="nobody") == []
    assert await seqs(since=middle) == [6, 5, 4]
    assert await seqs(until=middle) == [3, 2, 1]
    assert await seqs(since=before, until=middle, actor="anna") == [3, 2, 1]
    assert await seqs(since=datetime.now(UTC) + timedelta(seconds=1)) == []
    assert await seqs(limit=2) == [6, 5]
    assert await seqs(limit=2, before_seq=5) == [4, 3]
    assert await seqs(actor="anna", before_seq=2) == [1]

    exported = [json.loads(line)["seq"] for line in await _export(db, actor="anna")]
    assert exported == [1, 2, 3]
    exported = [json.loads(line)["seq"] for line in await _export(db, since=middle)]
    assert exported == [4, 5, 6]


async def test_listing_refuses_bad_arguments(db: Database) -> None:
    async with db.read() as session:
        with pytest.raises(ValueError, match="limit"):
            await list_entries(session, limit=0)
        with pytest.raises(ValueError, match="timezone-aware"):
            await list_entries(session, since=datetime(2025, 1, 1))


async def test_verify_reads_in_batches(db: Database, small_batches: None) -> None:
    await _append_many(db, 7)
    statements: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    async with db.read() as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", record)
        try:
            result = await verify(session)
        finally:
            event.remove(engine, "before_cursor_execute", record)

    assert result.ok
    assert result.entries == 7
    entry_queries = [sql for sql in statements if "FROM audit_entries" in sql and "LIMIT" in sql]
    assert len(entry_queries) == 3  # 3 + 3 + 1


async def test_verify_while_others_append_raises_no_false_alarm(db: Database) -> None:
    await _append_many(db, 3)

    async def appender(number: int) -> None:
        async with db.write() as session:
            await append(session, actor=f"u{number}", action="assistant.invoked")

    async def verifier() -> list[service.VerifyResult]:
        results = []
        for _ in range(10):
            results.append(await _verify(db))
            await asyncio.sleep(0)
        return results

    outcome = await asyncio.gather(verifier(), *(appender(number) for number in range(30)))
    problems = [result.problem for result in outcome[0] if not result.ok]
    assert problems == []
    final = await _verify(db)
    assert final.ok and final.entries == 33
