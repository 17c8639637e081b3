"""The mail outbox on a real database (SQLite, or PostgreSQL with DIRIGENT_TEST_DATABASE_URL)
and a real SMTP server on 127.0.0.1: each mail is sent once, also by two processes at the
same time; a failing server means later, never lost; a dead sender's claim is taken over."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.connections.models import ConnectionRow
from runtime.connections.service import ConnectionService
from runtime.db.database import Database
from runtime.db.models import AuditEntry, User, new_id, utcnow
from runtime.notifications.models import SETTINGS_ROW, Notification, NotificationMail, NotificationSettings
from runtime.notifications.outbox import LEASE, MAX_ATTEMPTS, MailOutbox, retry_delay
from runtime.settings import Settings
from runtime.users.service import add_user, get_or_create_workspace
from tests.runtime.connections.servers import SmtpTarget, free_port
from tests.support.api import PASSWORD
from tests.support.scenario import fast_passwords

__all__ = ["fast_passwords"]

DOMAIN = "firma.de"


class Outboxes:
    """Outboxes of separate "processes": each its own engine and connections to the database."""

    def __init__(self, tmp_path: Path, url: str) -> None:
        self.settings = Settings(data_dir=tmp_path / "data", database_url=url, notification_mail_interval_s=0)
        self.url = url
        self.databases: list[Database] = []

    def new(self, worker_id: str) -> MailOutbox:
        db = Database(self.url)
        self.databases.append(db)
        guard = EgressGuard(EgressPolicy.parse("127.0.0.1"))
        return MailOutbox(db, self.settings, ConnectionService(self.settings, db, guard=guard), worker_id)

    async def close(self) -> None:
        for db in self.databases:
            await db.dispose()


@pytest.fixture
async def outboxes(tmp_path: Path, database_url: str, db: Database) -> AsyncIterator[Outboxes]:
    made = Outboxes(tmp_path, database_url)
    yield made
    await made.close()


@pytest.fixture
def smtp() -> Iterator[SmtpTarget]:
    with SmtpTarget() as server:
        yield server


async def seed(db: Database, port: int, people: int, *, with_address: bool = True) -> list[str]:
    """`people` users with a pending notification mail each, and the chosen connection on `port`."""
    mail_ids = []
    async with db.write() as session:
        workspace = await get_or_create_workspace(session, "sales")
        connection = (
            await session.execute(select(ConnectionRow).where(ConnectionRow.name == "notify"))
        ).scalar_one_or_none()
        if connection is None:
            connection = ConnectionRow(
                workspace_id=workspace.id,
                name="notify",
                kind="email",
                settings={
                    "host": "127.0.0.1",
                    "port": port,
                    "security": "none",
                    "sender": f"dirigent@{DOMAIN}",
                    "allowed_domains": [DOMAIN],
                },
                secrets_changed={},
            )
            session.add(connection)
            await session.flush()
            session.add(NotificationSettings(id=SETTINGS_ROW, connection_id=connection.id))
        start = len((await session.execute(select(User.id))).all())
        for number in range(start, start + people):
            name = f"person{number}"
            user = await add_user(
                session, name, PASSWORD, "user", "sales", email=f"{name}@{DOMAIN}" if with_address else None
            )
            notification = Notification(
                id=new_id(),
                user_id=user.id,
                kind="task_assigned",
                event_key=f"task.assigned:t{number}",
                params={"task_id": f"t{number}", "title": f"Angebot Nr. {number} prüfen", "flow": "Angebote"},
                target_type="task",
                target_id=f"t{number}",
            )
            session.add(notification)
            await session.flush()
            mail = NotificationMail(
                id=new_id(), notification_id=notification.id, status="pending", attempts=0
            )
            session.add(mail)
            mail_ids.append(mail.id)
    return mail_ids


async def mails(db: Database, ids: list[str]) -> dict[str, NotificationMail]:
    async with db.read() as session:
        rows = (await session.execute(select(NotificationMail).where(NotificationMail.id.in_(ids)))).scalars()
        return {row.id: row for row in rows}


async def make_due(db: Database, ids: list[str]) -> None:
    """Let the backoff pass (instead of waiting for it)."""
    async with db.write() as session:
        await session.execute(
            update(NotificationMail).where(NotificationMail.id.in_(ids)).values(next_attempt_at=utcnow())
        )


def message_ids(server: SmtpTarget) -> Counter[str]:
    return Counter(str(message["Message-ID"]) for message in server.messages)


@pytest.fixture(autouse=True)
def _cheap_passwords(fast_passwords: None) -> None:
    """Seeding creates users; Argon2 at its cheapest."""


async def test_two_processes_send_each_mail_exactly_once(
    outboxes: Outboxes, db: Database, smtp: SmtpTarget
) -> None:
    ids = await seed(db, smtp.port, 30)
    first, second = outboxes.new("process-a"), outboxes.new("process-b")
    sent_by: dict[str, list[str]] = {"process-a": [], "process-b": []}
    for _ in range(20):
        # Both look for due mails at the same moment and race for the same rows.
        rounds = await asyncio.gather(first.deliver_due(limit=7), second.deliver_due(limit=7))
        sent_by["process-a"] += rounds[0].sent
        sent_by["process-b"] += rounds[1].sent
        if not rounds[0].sent and not rounds[1].sent:
            break
    assert sorted(sent_by["process-a"] + sent_by["process-b"]) == sorted(ids)  # each once, by one of them
    assert len(smtp.messages) == 30
    assert set(message_ids(smtp).values()) == {1}
    assert sorted(to for _, recipients in smtp.envelopes for to in recipients) == sorted(
        f"person{number}@{DOMAIN}" for number in range(30)
    )
    rows = await mails(db, ids)
    assert {row.status for row in rows.values()} == {"sent"}
    assert {row.attempts for row in rows.values()} == {1}
    assert all(row.claimed_by is None and row.sent_at is not None for row in rows.values())


async def test_a_claim_on_mails_another_process_claimed_since_gets_none(
    outboxes: Outboxes, db: Database, smtp: SmtpTarget
) -> None:
    """The race itself, made to happen: B reads the mails as due, A claims (and sends) them,
    then B's claim of what it read wins nothing — the compare-and-set on status and attempts."""
    ids = await seed(db, smtp.port, 3)
    first, second = outboxes.new("process-a"), outboxes.new("process-b")
    async with second.db.read() as session:
        seen = await second.due(session, 10, utcnow())
    assert sorted(mail_id for mail_id, _, _ in seen) == sorted(ids)
    assert sorted((await first.deliver_due()).sent) == sorted(ids)
    async with second.db.write() as session:
        won = [await second.try_claim(session, *row, utcnow()) for row in seen]
    assert won == [False, False, False]
    assert len(smtp.messages) == 3
    assert {row.claimed_by for row in (await mails(db, ids)).values()} == {None}


async def test_a_mail_names_the_task_and_links_to_it_in_german_then_english(
    outboxes: Outboxes, db: Database, smtp: SmtpTarget
) -> None:
    (mail_id,) = await seed(db, smtp.port, 1)
    assert (await outboxes.new("p").deliver_due()).sent == [mail_id]
    (message,) = smtp.messages
    assert message["To"] == f"person0@{DOMAIN}"
    assert message["Subject"] == "Aufgabe: Angebot Nr. 0 prüfen / Task: Angebot Nr. 0 prüfen"
    text = message.get_content()
    assert text.index("Eine Aufgabe wartet auf Ihre Entscheidung: Angebot Nr. 0 prüfen") < text.index(
        "A task awaits your decision: Angebot Nr. 0 prüfen"
    )
    assert text.count("http://127.0.0.1:8711/tasks?task=t0") == 2  # DIRIGENT_STUDIO_URL's default
    assert "http://127.0.0.1:8711/inbox" in text


async def test_a_server_that_is_down_means_later_never_lost(outboxes: Outboxes, db: Database) -> None:
    port = free_port()  # nothing listens here yet
    ids = await seed(db, port, 2)
    outbox = outboxes.new("p")
    before = utcnow()
    attempt = await outbox.deliver_due()
    assert sorted(attempt.retrying) == sorted(ids) and attempt.sent == [] and attempt.failed == []
    rows = await mails(db, ids)
    for row in rows.values():
        assert row.status == "pending" and row.attempts == 1 and row.claimed_by is None
        assert "127.0.0.1" in (row.last_error or "")
        assert row.next_attempt_at >= before + retry_delay(1) - timedelta(seconds=1)
    assert (await outbox.deliver_due()).retrying == []  # not due again yet

    with SmtpTarget(port=port) as server:
        await make_due(db, ids)
        assert sorted((await outbox.deliver_due()).sent) == sorted(ids)
        assert len(server.messages) == 2
    rows = await mails(db, ids)
    assert {(row.status, row.attempts, row.last_error) for row in rows.values()} == {("sent", 2, None)}


class _Busy:
    """An SMTP server that answers `451` (try again later) to the first `times` recipients."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.delivered: list[Any] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.times > 0:
            self.times -= 1
            return "451 4.3.2 Bitte später noch einmal"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.delivered.append(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


async def test_a_server_that_says_try_later_gets_the_mail_on_a_later_attempt(
    outboxes: Outboxes, db: Database
) -> None:
    port = free_port()
    busy = _Busy(times=1)
    controller = Controller(busy, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        (mail_id,) = await seed(db, port, 1)
        outbox = outboxes.new("p")
        assert (await outbox.deliver_due()).retrying == [mail_id]
        row = (await mails(db, [mail_id]))[mail_id]
        assert row.status == "pending" and "refused the recipients" in (row.last_error or ""), row.last_error
        await make_due(db, [mail_id])
        assert (await outbox.deliver_due()).sent == [mail_id]
        assert busy.delivered == [[f"person0@{DOMAIN}"]]
    finally:
        controller.stop()


async def test_after_the_last_attempt_the_mail_is_failed_and_audited(
    outboxes: Outboxes, db: Database
) -> None:
    (mail_id,) = await seed(db, free_port(), 1)
    async with db.write() as session:
        await session.execute(
            update(NotificationMail).where(NotificationMail.id == mail_id).values(attempts=MAX_ATTEMPTS - 1)
        )
    assert (await outboxes.new("p").deliver_due()).failed == [mail_id]
    row = (await mails(db, [mail_id]))[mail_id]
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS and row.last_error
    async with db.read() as session:
        entry = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "notification.mail_failed"))
        ).scalar_one()
    assert entry.detail == {"mail_id": mail_id, "connection": "notify", "attempts": MAX_ATTEMPTS}


async def test_a_recipient_without_an_address_fails_at_once(
    outboxes: Outboxes, db: Database, smtp: SmtpTarget
) -> None:
    (mail_id,) = await seed(db, smtp.port, 1, with_address=False)
    assert (await outboxes.new("p").deliver_due()).failed == [mail_id]
    assert smtp.messages == []
    assert (await mails(db, [mail_id]))[mail_id].attempts == 1


async def test_a_dead_senders_claim_is_taken_over_after_the_lease(
    outboxes: Outboxes, db: Database, smtp: SmtpTarget
) -> None:
    stale, fresh = await seed(db, smtp.port, 2)
    async with db.write() as session:
        for mail_id, claimed_at in ((stale, utcnow() - LEASE - timedelta(seconds=5)), (fresh, utcnow())):
            await session.execute(
                update(NotificationMail)
                .where(NotificationMail.id == mail_id)
                .values(status="sending", claimed_by="dead-process", claimed_at=claimed_at, attempts=1)
            )
    assert (await outboxes.new("p").deliver_due()).sent == [stale]  # the fresh claim is respected
    rows = await mails(db, [stale, fresh])
    assert (rows[stale].status, rows[stale].attempts) == ("sent", 2)
    assert (rows[fresh].status, rows[fresh].claimed_by) == ("sending", "dead-process")
    assert len(smtp.messages) == 1


async def test_no_chosen_connection_no_mails(outboxes: Outboxes, db: Database, smtp: SmtpTarget) -> None:
    ids = await seed(db, smtp.port, 1)
    async with db.write() as session:
        await session.execute(update(NotificationSettings).values(connection_id=None))
    outbox = outboxes.new("p")
    assert (await outbox.deliver_due()).sent == []
    assert (await mails(db, ids))[ids[0]].status == "pending"  # waits for an admin's choice


def test_the_backoff_doubles_up_to_an_hour() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(MAX_ATTEMPTS).total_seconds() == 3600
