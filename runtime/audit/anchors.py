"""Anchors: the audit chain's head, signed and kept outside the database.

The hash chain (`runtime/audit/service.py`) finds a changed, removed or slipped-in entry,
but not someone with write access who re-hashes everything after a change, or who cuts
off the tail and moves the head back: the chain is intact again. An anchor pins the head
down where that person cannot reach::

    {"schema": "dirigent.audit-anchor/v1", "seq": 4711, "entry_hash": "…",
     "anchored_at": "2026-12-07T18:00:00.000000Z", "key_id": "…", "signature": "…"}

`signature` is HMAC-SHA256 over the canonical JSON of `{seq, entry_hash, anchored_at}`
with a key that is not in the database (`DIRIGENT_AUDIT_ANCHOR_KEY_FILE`); `key_id` names
the key without revealing it. Anchors are written at an interval (when the head moved)
and on demand (`POST /api/audit/anchor`, `dirigent audit anchor`) to every configured
sink: a JSON Lines file (`DIRIGENT_AUDIT_ANCHOR_FILE`, best on another disk or host), a
syslog target and an HTTP endpoint that receives each anchor as JSON.

`check_anchors` compares the chain with the anchors in the file: an anchored entry that
is gone (the log was cut back) or whose hash differs (the chain was rewritten up to it)
is a break; entries after the newest anchor are reported as not yet anchored. An anchor
with a bad signature is reported as forged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import logging.handlers
import os
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import HEAD_ID, canonical_json, compute_entry_hash, format_timestamp
from runtime.db.database import Database
from runtime.db.models import AuditEntry, AuditHead
from runtime.settings import Settings

log = logging.getLogger("dirigent.audit")

ANCHOR_SCHEMA = "dirigent.audit-anchor/v1"
_KEY_ID_CONTEXT = b"dirigent audit anchor key id\0"


@dataclass(frozen=True)
class Anchor:
    """One signed statement "the chain's entry `seq` had hash `entry_hash` at `anchored_at`"."""

    seq: int
    entry_hash: str
    anchored_at: str
    key_id: str
    signature: str
    schema: str = ANCHOR_SCHEMA

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> Anchor:
        """An anchor as read back from a sink; `ValueError` names what is wrong with it."""
        if not isinstance(value, dict) or value.get("schema") != ANCHOR_SCHEMA:
            raise ValueError(f"not an anchor (expected schema {ANCHOR_SCHEMA!r})")
        try:
            anchor = cls(
                seq=value["seq"],
                entry_hash=value["entry_hash"],
                anchored_at=value["anchored_at"],
                key_id=value["key_id"],
                signature=value["signature"],
            )
        except KeyError as missing:
            raise ValueError(f"the anchor has no {missing.args[0]!r}") from None
        if not isinstance(anchor.seq, int) or anchor.seq < 0:
            raise ValueError("the anchor's seq is not a number")
        if not all(
            isinstance(text, str) for text in (anchor.entry_hash, anchor.anchored_at, anchor.signature)
        ):
            raise ValueError("the anchor's hash, time or signature is not text")
        return anchor


class AnchorKey:
    """The HMAC key anchors are signed with; kept in a file of its own (0600), never in
    the database. Whoever holds it can vouch for a head, so keep it away from the
    database's backups and from people with write access to the database."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("an anchor key needs at least 32 bytes")
        self._key = key
        self.key_id = hashlib.sha256(_KEY_ID_CONTEXT + key).hexdigest()[:16]

    @classmethod
    def from_file(cls, path: Path) -> AnchorKey:
        """The key in `path` (hex), created with 0600 when the file does not exist yet."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
        text = path.read_text().strip()
        try:
            return cls(bytes.fromhex(text))
        except ValueError as error:
            raise ValueError(f"the anchor key file {path} does not hold a hex key of 32+ bytes") from error

    def _mac(self, seq: int, entry_hash: str, anchored_at: str) -> str:
        message = canonical_json({"seq": seq, "entry_hash": entry_hash, "anchored_at": anchored_at})
        return hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def sign(self, seq: int, entry_hash: str, at: datetime) -> Anchor:
        anchored_at = format_timestamp(at)
        return Anchor(seq, entry_hash, anchored_at, self.key_id, self._mac(seq, entry_hash, anchored_at))

    def vouches_for(self, anchor: Anchor) -> bool:
        expected = self._mac(anchor.seq, anchor.entry_hash, anchor.anchored_at)
        return anchor.key_id == self.key_id and hmac.compare_digest(expected, anchor.signature)


# -- sinks ----------------------------------------------------------------------------------
class AnchorSink(Protocol):
    name: str

    async def write(self, anchor: Anchor) -> None: ...


class FileSink:
    """Appends one JSON line per anchor (0600). Each line is written with one `write` on a
    file opened for appending, so several processes can share the file."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(descriptor, line.encode("utf-8"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    async def write(self, anchor: Anchor) -> None:
        await asyncio.to_thread(self._append, canonical_json(anchor.as_json()) + "\n")

    def read(self) -> list[Any]:
        """Every line as parsed JSON (a line that does not parse is kept as its text, so
        that checking reports it instead of skipping it)."""
        if not self.path.exists():
            return []
        records: list[Any] = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    records.append(json.loads(line))
                except ValueError:
                    records.append(line)
        return records


class SyslogSink:
    """Sends each anchor to syslog (`host:port` over UDP, or a socket path like /dev/log)."""

    name = "syslog"

    def __init__(self, address: str) -> None:
        target: str | tuple[str, int] = address
        if ":" in address and not address.startswith("/"):
            host, port = address.rsplit(":", 1)
            target = (host, int(port))
        self._handler = logging.handlers.SysLogHandler(address=target)
        self._handler.ident = "dirigent-audit-anchor: "

    async def write(self, anchor: Anchor) -> None:
        record = logging.LogRecord("dirigent.audit.anchor", logging.INFO, __file__, 0, "%s", None, None)
        record.msg = canonical_json(anchor.as_json())
        await asyncio.to_thread(self._handler.emit, record)


class WebhookSink:
    """POSTs each anchor as JSON to an HTTP endpoint the operator configured (not a
    user-chosen address, so the connections' egress guard does not apply)."""

    name = "webhook"

    def __init__(self, url: str, client: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self._client = client

    async def write(self, anchor: Anchor) -> None:
        if self._client is not None:
            response = await self._client.post(self.url, json=anchor.as_json())
        else:
            async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
                response = await client.post(self.url, json=anchor.as_json())
        response.raise_for_status()


def anchor_key(settings: Settings) -> AnchorKey:
    return AnchorKey.from_file(settings.audit_anchor_key_file or Path(settings.data_dir) / "audit-anchor.key")


def anchor_file(settings: Settings) -> FileSink:
    return FileSink(settings.audit_anchor_file or Path(settings.data_dir) / "audit-anchors.jsonl")


def configured_sinks(settings: Settings) -> list[AnchorSink]:
    sinks: list[AnchorSink] = [anchor_file(settings)]
    if settings.audit_anchor_syslog:
        sinks.append(SyslogSink(settings.audit_anchor_syslog))
    if settings.audit_anchor_url:
        sinks.append(WebhookSink(settings.audit_anchor_url))
    return sinks


# -- anchoring ------------------------------------------------------------------------------
class HeadNotAnchorable(Exception):
    """The head does not match the last entry: anchoring it would vouch for a break."""


async def current_head(session: AsyncSession) -> tuple[int, str] | None:
    """The head, checked against the entry it names (its stored hash and its content)."""
    head = (
        await session.execute(select(AuditHead.seq, AuditHead.last_hash).where(AuditHead.id == HEAD_ID))
    ).one_or_none()
    if head is None or head.seq == 0:
        return None
    entry = await session.get(AuditEntry, head.seq)
    if entry is None or entry.entry_hash != head.last_hash or compute_entry_hash(entry) != entry.entry_hash:
        raise HeadNotAnchorable(
            f"the chain head ({head.seq}) does not match its entry; run `dirigent audit verify`"
        )
    return head.seq, head.last_hash


@dataclass
class AnchorResult:
    anchor: Anchor | None
    written_to: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


async def anchor_now(db: Database, key: AnchorKey, sinks: Sequence[AnchorSink]) -> AnchorResult:
    """Sign the current head and write it to every sink (an empty log has nothing to
    anchor). A sink that fails is reported, the others still get the anchor."""
    async with db.read() as session:
        head = await current_head(session)
    if head is None:
        return AnchorResult(None)
    anchor = key.sign(head[0], head[1], datetime.now(UTC))
    result = AnchorResult(anchor)
    for sink in sinks:
        try:
            await sink.write(anchor)
        except Exception as error:  # one unreachable target must not cost the others
            log.warning("could not write an audit anchor to %s: %s", sink.name, error)
            result.failed[sink.name] = str(error) or type(error).__name__
        else:
            result.written_to.append(sink.name)
    return result


# -- checking -------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnchorCheck:
    """The chain compared with its anchors.

    Attributes:
        ok: every anchor is genuine and its entry is still there with the anchored hash.
        anchors: how many anchors were read.
        last_anchored_seq: the newest anchored entry (0: none).
        last_anchored_at: when it was anchored.
        unanchored_entries: entries after it; a rewrite among them is found only by the
            chain itself (or the next anchor).
        problems: what is wrong, for people, oldest first.
    """

    ok: bool
    anchors: int
    last_anchored_seq: int
    last_anchored_at: str | None
    unanchored_entries: int
    problems: tuple[str, ...]


async def check_anchors(session: AsyncSession, records: Sequence[Any], key: AnchorKey) -> AnchorCheck:
    problems: list[str] = []
    genuine: list[Anchor] = []
    for number, record in enumerate(records, start=1):
        try:
            anchor = Anchor.from_json(record)
        except ValueError as error:
            problems.append(f"anchor {number} cannot be read: {error}")
            continue
        if not key.vouches_for(anchor):
            problems.append(
                f"anchor {number} (entry {anchor.seq}, {anchor.anchored_at}) is not signed with this "
                "installation's anchor key: forged, or signed with another key"
            )
            continue
        genuine.append(anchor)

    head = (await session.execute(select(AuditHead.seq).where(AuditHead.id == HEAD_ID))).scalar_one_or_none()
    wanted = sorted({anchor.seq for anchor in genuine})
    stored: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = await session.execute(
            select(AuditEntry.seq, AuditEntry.entry_hash).where(AuditEntry.seq.in_(chunk))
        )
        stored.update({row.seq: row.entry_hash for row in rows})

    for anchor in sorted(genuine, key=lambda item: (item.seq, item.anchored_at)):
        found = stored.get(anchor.seq)
        if found is None:
            problems.append(
                f"entry {anchor.seq}, anchored at {anchor.anchored_at}, is gone "
                f"(the log now ends at {head or 0}): the log was cut back"
            )
        elif found != anchor.entry_hash:
            problems.append(
                f"entry {anchor.seq} differs from its anchor of {anchor.anchored_at}: "
                "the chain was rewritten up to there and re-hashed"
            )

    newest = max(genuine, key=lambda item: (item.seq, item.anchored_at), default=None)
    last_seq = newest.seq if newest else 0
    return AnchorCheck(
        ok=not problems,
        anchors=len(records),
        last_anchored_seq=last_seq,
        last_anchored_at=newest.anchored_at if newest else None,
        unanchored_entries=max((head or 0) - last_seq, 0),
        problems=tuple(problems),
    )


# -- the interval -------------------------------------------------------------------------
class Anchorer:
    """Anchors the head every `audit_anchor_interval_s` when it moved since the newest
    anchor in the file (several processes then add at most a few anchors of one head)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.settings.audit_anchor_interval_s > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="audit-anchors")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def tick(self) -> AnchorResult | None:
        """One round: anchor the head unless the newest anchor in the file already names it."""
        file = anchor_file(self.settings)
        async with self.db.read() as session:
            head = await current_head(session)
        if head is None:
            return None
        newest = await asyncio.to_thread(file.read)
        if newest and isinstance(newest[-1], dict) and newest[-1].get("seq") == head[0]:
            return None
        return await anchor_now(self.db, anchor_key(self.settings), configured_sinks(self.settings))

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.audit_anchor_interval_s)
            try:
                await self.tick()
            except HeadNotAnchorable as error:
                log.error("audit anchor skipped: %s", error)
            except Exception:
                log.exception("audit anchoring failed; trying again at the next interval")
