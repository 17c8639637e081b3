"""Anchors of the audit chain, and writes that keep working when the chain was tampered with.

Each attack here leaves a chain that verifies as intact on its own (the whole tail
re-hashed, the tail cut off with the head moved back): only the anchors, kept outside the
database, catch it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import stat
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update

from runtime.audit import anchors
from runtime.audit.anchors import Anchor, Anchorer, AnchorKey, FileSink, SyslogSink, WebhookSink
from runtime.audit.service import (
    GENESIS_HASH,
    HEAD_RESTORED,
    append,
    compute_entry_hash,
    verify,
)
from runtime.db.database import Database
from runtime.db.models import AuditEntry, AuditHead
from runtime.settings import Settings
from tests.support.api import ApiHarness
from tests.support.scenario import expect


async def _append(db: Database, count: int) -> None:
    for number in range(count):
        async with db.write() as session:
            await append(
                session, actor="u1", action="flow.saved", resource_id=f"f{number}", detail={"n": number}
            )


async def _rehash_from(db: Database, seq: int, actor: str) -> None:
    """The attack the chain alone cannot see: change entry `seq`, then re-hash it and every
    later entry and move the head along."""
    async with db.write() as session:
        entries = list((await session.scalars(select(AuditEntry).order_by(AuditEntry.seq))).all())
        previous = GENESIS_HASH
        for entry in entries:
            if entry.seq == seq:
                entry.actor = actor
            if entry.seq >= seq:
                entry.prev_hash = previous
                entry.entry_hash = compute_entry_hash(entry)
            previous = entry.entry_hash
        await session.flush()
        await session.execute(update(AuditHead).values(last_hash=previous))


async def _truncate_to(db: Database, seq: int) -> None:
    """Cut the log back to `seq` and move the head there: the rest verifies as intact."""
    async with db.write() as session:
        last_hash = (
            await session.execute(select(AuditEntry.entry_hash).where(AuditEntry.seq == seq))
        ).scalar_one()
        await session.execute(delete(AuditEntry).where(AuditEntry.seq > seq))
        await session.execute(update(AuditHead).values(seq=seq, last_hash=last_hash))


async def _check(db: Database, file: FileSink, key: AnchorKey) -> anchors.AnchorCheck:
    async with db.read() as session:
        return await anchors.check_anchors(session, file.read(), key)


async def _chain_ok(db: Database) -> bool:
    async with db.read() as session:
        return (await verify(session)).ok


@pytest.fixture
def key(tmp_path: Path) -> AnchorKey:
    return AnchorKey.from_file(tmp_path / "keys" / "anchor.key")


@pytest.fixture
def file(tmp_path: Path) -> FileSink:
    return FileSink(tmp_path / "elsewhere" / "anchors.jsonl")


# -- what anchors catch --------------------------------------------------------------------
async def test_an_anchor_catches_a_rehashed_chain(db: Database, key: AnchorKey, file: FileSink) -> None:
    await _append(db, 5)
    anchored = await anchors.anchor_now(db, key, [file])
    assert anchored.anchor is not None and anchored.anchor.seq == 5 and anchored.written_to == ["file"]
    assert (await _check(db, file, key)).ok

    await _rehash_from(db, 2, "mallory")

    assert await _chain_ok(db)  # the chain alone is fooled
    check = await _check(db, file, key)
    assert not check.ok
    assert check.problems == (
        f"entry 5 differs from its anchor of {anchored.anchor.anchored_at}: "
        "the chain was rewritten up to there and re-hashed",
    )


async def test_an_anchor_catches_a_truncated_tail(db: Database, key: AnchorKey, file: FileSink) -> None:
    await _append(db, 3)
    await anchors.anchor_now(db, key, [file])
    await _append(db, 3)
    await anchors.anchor_now(db, key, [file])
    await _append(db, 2)

    await _truncate_to(db, 4)

    assert await _chain_ok(db)
    check = await _check(db, file, key)
    assert not check.ok and len(check.problems) == 1
    assert check.problems[0].startswith("entry 6, anchored at ")
    assert check.problems[0].endswith("is gone (the log now ends at 4): the log was cut back")
    assert check.last_anchored_seq == 6


async def test_unanchored_entries_are_counted(db: Database, key: AnchorKey, file: FileSink) -> None:
    check = await _check(db, file, key)
    assert (check.ok, check.anchors, check.last_anchored_seq, check.unanchored_entries) == (True, 0, 0, 0)
    await _append(db, 2)
    await anchors.anchor_now(db, key, [file])
    await _append(db, 3)
    check = await _check(db, file, key)
    assert (check.ok, check.anchors, check.last_anchored_seq, check.unanchored_entries) == (True, 1, 2, 3)


async def test_forged_and_unreadable_anchors_are_reported(
    db: Database, key: AnchorKey, file: FileSink, tmp_path: Path
) -> None:
    await _append(db, 2)
    genuine = (await anchors.anchor_now(db, key, [file])).anchor
    assert genuine is not None
    # Someone re-hashed the chain and appended a matching anchor without the key ...
    forged = replace(genuine, entry_hash="f" * 64, signature="0" * 64)
    # ... or with a key of their own.
    other = AnchorKey.from_file(tmp_path / "other.key").sign(2, "e" * 64, datetime.now(UTC))
    with file.path.open("a") as handle:
        handle.write(json.dumps(forged.as_json()) + "\n")
        handle.write(json.dumps(other.as_json()) + "\n")
        handle.write("not json at all\n")
        handle.write(json.dumps({"schema": anchors.ANCHOR_SCHEMA, "seq": 1}) + "\n")

    check = await _check(db, file, key)
    assert not check.ok
    assert check.anchors == 5
    assert [problem.split(": ")[0] for problem in check.problems] == [
        f"anchor 2 (entry 2, {forged.anchored_at}) is not signed with this installation's anchor key",
        f"anchor 3 (entry 2, {other.anchored_at}) is not signed with this installation's anchor key",
        "anchor 4 cannot be read",
        "anchor 5 cannot be read",
    ]
    assert check.last_anchored_seq == 2  # only the genuine one counts


async def test_a_head_that_does_not_match_its_entry_is_not_anchored(
    db: Database, key: AnchorKey, file: FileSink
) -> None:
    await _append(db, 2)
    async with db.write() as session:
        await session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor="mallory"))
    with pytest.raises(anchors.HeadNotAnchorable):
        await anchors.anchor_now(db, key, [file])
    assert file.read() == []


async def test_an_empty_log_has_nothing_to_anchor(db: Database, key: AnchorKey, file: FileSink) -> None:
    assert (await anchors.anchor_now(db, key, [file])).anchor is None


# -- the key and the sinks ------------------------------------------------------------------
def test_key_and_anchor_file_are_private(tmp_path: Path, key: AnchorKey) -> None:
    path = tmp_path / "keys" / "anchor.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert AnchorKey.from_file(path).key_id == key.key_id  # the same key on the next start
    anchor = key.sign(7, "a" * 64, datetime.now(UTC))
    assert key.vouches_for(anchor)
    assert not key.vouches_for(replace(anchor, seq=8))
    sink = FileSink(tmp_path / "anchors.jsonl")
    asyncio.run(sink.write(anchor))
    assert stat.S_IMODE(sink.path.stat().st_mode) == 0o600
    assert [Anchor.from_json(record) for record in sink.read()] == [anchor]
    (tmp_path / "short.key").write_text("abcd")
    with pytest.raises(ValueError, match="does not hold a hex key of 32"):
        AnchorKey.from_file(tmp_path / "short.key")


class _Collector(BaseHTTPRequestHandler):
    received: list[Any] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    _Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/anchors"
    server.shutdown()


async def test_anchors_reach_syslog_and_a_webhook(
    db: Database, key: AnchorKey, file: FileSink, collector: str
) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    port = receiver.getsockname()[1]
    await _append(db, 1)
    failing = WebhookSink("http://127.0.0.1:9/nothing-listens")

    result = await anchors.anchor_now(
        db, key, [file, SyslogSink(f"127.0.0.1:{port}"), WebhookSink(collector), failing]
    )

    assert result.anchor is not None
    assert result.written_to == ["file", "syslog", "webhook"]
    assert list(result.failed) == ["webhook"]  # the unreachable one; the others got it
    assert _Collector.received == [result.anchor.as_json()]
    datagram = receiver.recv(4096).decode()
    receiver.close()
    assert "dirigent-audit-anchor: " in datagram
    assert (
        json.loads(datagram.split("dirigent-audit-anchor: ", 1)[1].rstrip("\x00")) == result.anchor.as_json()
    )


async def test_the_interval_anchors_only_a_moved_head(db: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", audit_anchor_file=tmp_path / "far" / "anchors.jsonl")
    anchorer = Anchorer(settings, db)
    assert await anchorer.tick() is None  # nothing to anchor yet
    await _append(db, 2)
    first = await anchorer.tick()
    assert first is not None and first.anchor is not None and first.anchor.seq == 2
    assert await anchorer.tick() is None  # the head did not move
    await _append(db, 1)
    second = await anchorer.tick()
    assert second is not None and second.anchor is not None and second.anchor.seq == 3
    assert [record["seq"] for record in FileSink(tmp_path / "far" / "anchors.jsonl").read()] == [2, 3]
    assert (tmp_path / "data" / "audit-anchor.key").exists()


# -- writes keep working after tampering ---------------------------------------------------------
async def test_a_row_forged_after_the_head_does_not_stop_writes(db: Database) -> None:
    await _append(db, 2)
    async with db.read() as session:
        head_hash = (await session.execute(select(AuditHead.last_hash))).scalar_one()
    forged = AuditEntry(
        seq=3, at=datetime.now(UTC), actor="intruder", action="flow.published", detail={}, prev_hash=head_hash
    )
    forged.entry_hash = compute_entry_hash(forged)
    async with db.write() as session:
        session.add(forged)

    await _append(db, 2)  # failed with a duplicate key before

    async with db.read() as session:
        seqs = list((await session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq))).all())
        result = await verify(session)
    assert seqs == [1, 2, 3, 4, 5]
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert (
        result.problem
        == "entry 3 is not in the chain (entry 4 links to entry 2): it was written outside the audit service"
    )


async def test_a_deleted_head_is_restored_and_reported(db: Database) -> None:
    await _append(db, 2)
    async with db.write() as session:
        await session.execute(text("DELETE FROM audit_head"))

    await _append(db, 1)  # the head is rebuilt from entry 2, with an entry that says so

    async with db.read() as session:
        entries = list((await session.scalars(select(AuditEntry).order_by(AuditEntry.seq))).all())
        result = await verify(session)
    assert [entry.action for entry in entries] == ["flow.saved", "flow.saved", HEAD_RESTORED, "flow.saved"]
    assert entries[2].detail == {"restored_from_seq": 2, "restored_from_hash": entries[1].entry_hash}
    assert result.ok and result.entries == 4
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("the chain head was deleted and restored from entry 2 (entry 3, ")


async def test_writes_keep_working_through_the_sqlite_writer_too(db: Database) -> None:
    if db.sqlite_writer is None:
        pytest.skip("the runtime's database is not a SQLite file here")
    from runtime.audit.service import Event, append_many_sqlite

    await _append(db, 1)
    async with db.write() as session:
        await session.execute(text("DELETE FROM audit_head"))
    await db.sqlite_writer.run(
        lambda transaction: append_many_sqlite(transaction, [Event("u1", "run.finished")])
    )
    async with db.read() as session:
        actions = list((await session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq))).all())
        assert (await verify(session)).ok
    assert actions == ["flow.saved", HEAD_RESTORED, "run.finished"]


# -- over HTTP -----------------------------------------------------------------------------------
async def _outside(api: ApiHarness) -> Database:
    """The app's database, opened on the test's own event loop (the app runs on another)."""
    assert api.settings.database_url is not None
    return Database(api.settings.database_url)


async def test_sign_in_works_after_the_head_row_was_deleted(api: ApiHarness) -> None:
    db = await _outside(api)
    async with db.write() as session:
        await session.execute(text("DELETE FROM audit_head"))
    await db.dispose()
    await api.login("user")  # answered 500 before: every audit write failed
    verified = expect(await api.as_("board1").get("/api/audit/verify"), 200)
    assert verified["ok"] is True
    assert verified["warnings"] and verified["warnings"][0].startswith("the chain head was deleted")


async def test_anchor_and_verify_over_http(api: ApiHarness) -> None:
    expect(await api.as_("user").post("/api/audit/anchor"), 403)
    anchored = expect(await api.as_("board1").post("/api/audit/anchor"), 201)
    assert anchored["written_to"] == ["file"] and anchored["failed"] == {}
    verified = expect(await api.as_("admin").get("/api/audit/verify"), 200)
    assert verified["ok"] is True
    assert verified["anchors"]["last_anchored_seq"] == anchored["seq"]
    assert verified["anchors"]["anchors"] == 1

    db = await _outside(api)
    await _truncate_to(db, anchored["seq"] - 1)
    await db.dispose()

    verified = expect(await api.as_("admin").get("/api/audit/verify"), 200)
    assert verified["ok"] is False and verified["problem"] is None  # the chain alone looks intact
    assert verified["anchors"]["ok"] is False
    assert verified["anchors"]["problems"][0].endswith("the log was cut back")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/audit/export", {"until": "null"}),
        ("/api/audit/export", {"since": "yesterday"}),
        ("/api/audit", {"before_seq": str(2**70)}),
        ("/api/audit", {"before_seq": "0"}),
        ("/api/audit", {"limit": "0"}),
        ("/api/audit", {"limit": "1001"}),
    ],
)
async def test_bad_audit_queries_get_a_clear_400(api: ApiHarness, path: str, params: dict[str, str]) -> None:
    response = await api.as_("board1").get(path, params=params)
    assert response.status_code == 400, response.text  # before: a 200 whose stream broke off, or a 500
    assert response.json()["error"] in {"invalid_time", "bad_request"}


# -- the command line ----------------------------------------------------------------------------
def test_cli_anchor_then_verify_finds_a_cut_back_log(tmp_path: Path, database_url: str) -> None:
    from click.testing import CliRunner

    from runtime.cli import cli

    env = {
        "DIRIGENT_DATA_DIR": str(tmp_path / "data"),
        "DIRIGENT_DATABASE_URL": database_url,
        "DIRIGENT_AUDIT_ANCHOR_FILE": str(tmp_path / "offsite" / "anchors.jsonl"),
    }

    def dirigent(*args: str) -> Any:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    empty = dirigent("audit", "anchor")
    assert (empty.exit_code, empty.stdout) == (0, "the audit log is empty: nothing to anchor\n")
    dirigent(
        "user", "add", "kim", "--password", "correct-horse-battery", "--role", "champion", "--workspace", "s"
    )
    anchored = dirigent("audit", "anchor")
    assert anchored.exit_code == 0, anchored.output
    assert json.loads(anchored.stdout)["seq"] == 3
    intact = dirigent("audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert "anchors: 1 match; the newest covers entry 3" in intact.stdout

    async def cut_back() -> None:
        db = Database(database_url)
        await _truncate_to(db, 2)
        await db.dispose()

    asyncio.run(cut_back())
    broken = dirigent("audit", "verify")
    assert broken.exit_code == 2
    assert "chain intact: 2 entries" in broken.stdout  # the chain alone is fooled ...
    assert "anchor check FAILED: entry 3, anchored at " in broken.stderr  # ... the anchor is not
