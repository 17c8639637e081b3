"""The mail outbox: notification mails go out in the background, never in a request.

Every runtime process (and `dirigent worker`) runs a `MailOutbox`. One pass::

    due rows ──claim (compare-and-set: status, attempts) ──▶ sending, claimed_by = us
             ──SMTP through the chosen e-mail connection──▶ sent
                                                      └──▶ pending again, next attempt
                                                           after a backoff (failed after
                                                           the last attempt)

A claim is an UPDATE whose WHERE names the status and attempt count the process read;
on PostgreSQL a second process's UPDATE of the same row waits for the first to commit
and then matches nothing, so each mail is sent by exactly one process. A process that
dies mid-send leaves its row `sending`; after `LEASE` another process takes it over,
so a mail is never lost (in that rare case it may arrive twice; both copies carry the
same Message-ID, derived from the notification).

Retries: any SMTP or connection failure (server down, refused, login failed, address
not allowed) waits 30 s, 1, 2, 4 … minutes (at most an hour) and tries again, up to
`MAX_ATTEMPTS`; then the mail is `failed` with its last error (the admin section of the
studio shows the counts). A recipient without an address (removed, address deleted)
fails at once. While no connection is chosen, due mails wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nodes.errors import NodeError
from runtime.audit.service import append as audit
from runtime.connections.calls import scrub, sensitive_values
from runtime.connections.email import EmailSender, Mail
from runtime.connections.kinds import EmailSettings
from runtime.connections.models import ConnectionRow
from runtime.connections.service import ConnectionService
from runtime.db.database import Database
from runtime.db.models import User, utcnow
from runtime.notifications.config import mail_route
from runtime.notifications.mails import render
from runtime.notifications.models import Notification, NotificationMail
from runtime.settings import Settings

log = logging.getLogger("dirigent.notifications.outbox")

LEASE = timedelta(minutes=5)  # longer than any SMTP session (timeout_s <= 120)
MAX_ATTEMPTS = 12  # about seven hours of retries
FIRST_RETRY_S = 30.0
LONGEST_WAIT_S = 3600.0
BATCH = 20


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 30 s, 60 s, 2 min … at most 1 h."""
    return timedelta(seconds=min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), LONGEST_WAIT_S))


@dataclass
class Delivery:
    """What one pass did, by mail id."""

    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class MailOutbox:
    def __init__(
        self, db: Database, settings: Settings, connections: ConnectionService, worker_id: str
    ) -> None:
        self.db = db
        self.settings = settings
        self.connections = connections
        self.worker_id = worker_id
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        if self.settings.notification_mail_interval_s > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="notification-mails")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database was away; the next pass tries again
                log.exception("sending notification mails failed; trying again")
            await asyncio.sleep(self.settings.notification_mail_interval_s)

    # -- one pass ---------------------------------------------------------------------
    async def deliver_due(self, limit: int = BATCH) -> Delivery:
        """Claim up to `limit` due mails and send them through the chosen connection."""
        done = Delivery()
        async with self.db.read() as session:
            connection_id, studio_url = await mail_route(session, self.settings)
            connection = await session.get(ConnectionRow, connection_id) if connection_id else None
        if connection is None or connection.kind != "email":
            return done  # no mails without a connection; they wait until an admin chooses one
        secrets = self.connections.box.open(connection.sealed_secrets)
        sender = EmailSender(
            connection.name,
            EmailSettings.model_validate(connection.settings),
            secrets,
            self.connections.guard,
        )
        for mail_id in await self._claim(limit):
            outcome, error = await self._send(mail_id, sender, studio_url)
            if error is not None:
                error = str(scrub(error, sensitive_values(connection, secrets)))[:1000]
            await self._settle(mail_id, connection, outcome, error, done)
        return done

    async def _claim(self, limit: int) -> list[str]:
        now = utcnow()
        async with self.db.write() as session:
            due = await self.due(session, limit, now)
            return [
                mail_id
                for mail_id, status, attempts in due
                if await self.try_claim(session, mail_id, status, attempts, now)
            ]

    @staticmethod
    async def due(session: AsyncSession, limit: int, now: datetime) -> list[tuple[str, str, int]]:
        """(id, status, attempts) of mails to send now: pending and due, or claimed by a
        process whose lease ran out."""
        rows = await session.execute(
            select(NotificationMail.id, NotificationMail.status, NotificationMail.attempts)
            .where(
                or_(
                    and_(NotificationMail.status == "pending", NotificationMail.next_attempt_at <= now),
                    and_(NotificationMail.status == "sending", NotificationMail.claimed_at < now - LEASE),
                )
            )
            # One order for every process, so that concurrent claims lock rows alike.
            .order_by(NotificationMail.next_attempt_at, NotificationMail.id)
            .limit(limit)
        )
        return [(mail_id, status, attempts) for mail_id, status, attempts in rows]

    async def try_claim(
        self, session: AsyncSession, mail_id: str, status: str, attempts: int, now: datetime
    ) -> bool:
        """Claim a mail as read (`status`, `attempts`); False when another process changed
        it since: its claim came first."""
        result = await session.execute(
            update(NotificationMail)
            .where(
                NotificationMail.id == mail_id,
                NotificationMail.status == status,
                NotificationMail.attempts == attempts,
            )
            .values(status="sending", claimed_by=self.worker_id, claimed_at=now, attempts=attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    async def _send(self, mail_id: str, sender: EmailSender, studio_url: str) -> tuple[str, str | None]:
        """("sent", None), ("retry", why) or ("failed", why)."""
        async with self.db.read() as session:
            found = (
                await session.execute(
                    select(Notification, User.email, User.active)
                    .join(NotificationMail, NotificationMail.notification_id == Notification.id)
                    .join(User, User.id == Notification.user_id)
                    .where(NotificationMail.id == mail_id)
                )
            ).first()
        if found is None or not found[1] or not found[2]:
            return "failed", "the recipient has no e-mail address (or was removed)"
        notification, address = found[0], str(found[1])
        text = render(notification, studio_url)
        try:
            answer = await sender.send(
                Mail(
                    to=[address],
                    subject=text.subject,
                    text=text.text,
                    message_key=f"dirigent-notification:{notification.id}",
                )
            )
        except NodeError as error:
            return "retry", error.message
        except Exception as error:  # a defect: try again later rather than hold the row
            log.exception("notification mail %s could not be sent", mail_id)
            return "retry", f"unexpected {type(error).__name__}"
        refused = answer.get("refused")
        if isinstance(refused, list) and refused:
            return "retry", f"the SMTP server refused {', '.join(map(str, refused))}"
        return "sent", None

    async def _settle(
        self, mail_id: str, connection: ConnectionRow, outcome: str, error: str | None, done: Delivery
    ) -> None:
        now = utcnow()
        async with self.db.write() as session:
            attempts = (
                await session.execute(
                    select(NotificationMail.attempts).where(
                        NotificationMail.id == mail_id,
                        NotificationMail.status == "sending",
                        NotificationMail.claimed_by == self.worker_id,
                    )
                )
            ).scalar_one_or_none()
            if attempts is None:  # our lease ran out and another process has it now
                return
            if outcome == "retry" and attempts >= MAX_ATTEMPTS:
                outcome = "failed"
            values: dict[str, object] = {"claimed_by": None, "claimed_at": None, "last_error": error}
            if outcome == "sent":
                values.update(status="sent", sent_at=now)
            elif outcome == "retry":
                values.update(status="pending", next_attempt_at=now + retry_delay(attempts))
            else:
                values.update(status="failed")
            result = await session.execute(
                update(NotificationMail)
                .where(
                    NotificationMail.id == mail_id,
                    NotificationMail.status == "sending",
                    NotificationMail.claimed_by == self.worker_id,
                    NotificationMail.attempts == attempts,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return
            {"sent": done.sent, "retry": done.retrying, "failed": done.failed}[outcome].append(mail_id)
            if outcome != "retry":
                await self._audit(session, mail_id, connection, outcome, attempts)

    @staticmethod
    async def _audit(
        session: AsyncSession, mail_id: str, connection: ConnectionRow, outcome: str, attempts: int
    ) -> None:
        # Who was told is in the notification; the audit names the mail and the connection only.
        await audit(
            session,
            actor=None,
            action=f"notification.mail_{outcome}",
            resource_type="connection",
            resource_id=connection.id,
            detail={"mail_id": mail_id, "connection": connection.name, "attempts": attempts},
        )
