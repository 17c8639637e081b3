"""Fixtures of the notification tests: the module's app (tests.support.scenario) with a real
SMTP server (aiosmtpd on 127.0.0.1), an e-mail connection to it chosen for notifications,
and an address for every test person (`<name>@firma.de`).

The outbox's background loop is stopped for the module: tests send due mails with
`mailer.deliver()` (one pass of `MailOutbox.deliver_due`), so what was sent when is theirs
to say."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.connections.service import ConnectionService
from runtime.db.models import User
from runtime.notifications.models import Notification, NotificationMail
from runtime.notifications.outbox import Delivery, MailOutbox
from tests.runtime.connections.servers import SmtpTarget
from tests.support.api import PEOPLE
from tests.support.scenario import Scenario, expect

DOMAIN = "firma.de"


def address(username: str) -> str:
    return f"{username}@{DOMAIN}"


@dataclass
class Mailer:
    sc: Scenario
    smtp: SmtpTarget
    connection_id: str

    @property
    def outbox(self) -> MailOutbox:
        outbox = self.sc.api.runtime.outbox
        assert isinstance(outbox, MailOutbox)
        return outbox

    def deliver(self) -> Delivery:
        """One pass of the outbox, on the app's loop."""
        return self.sc.api.client.blocking_portal.call(self.outbox.deliver_due)  # type: ignore[no-any-return]

    def recipients(self) -> list[str]:
        """Every envelope recipient the SMTP server accepted, in order."""
        return [to for _, recipients in self.smtp.envelopes for to in recipients]

    def mails_to(self, username: str) -> list[Any]:
        return [message for message in self.smtp.messages if message["To"] == address(username)]

    def clear(self) -> None:
        self.smtp.messages.clear()
        self.smtp.envelopes.clear()


async def notifications_of(sc: Scenario, **where: Any) -> list[Notification]:
    """Notifications (any recipient) whose params/target match `where` (flow_id=..., target_id=...)."""

    async def read(session: AsyncSession) -> list[Notification]:
        rows = (await session.execute(select(Notification).order_by(Notification.created_at))).scalars()
        found = []
        for row in rows:
            values = {**(row.params or {}), "target_id": row.target_id, "kind": row.kind}
            if all(values.get(key) == value for key, value in where.items()):
                found.append(row)
        return found

    return sc.in_app(read)


async def recipients_of(sc: Scenario, **where: Any) -> list[str]:
    """Usernames told about what `where` matches, sorted."""
    rows = await notifications_of(sc, **where)

    async def names(session: AsyncSession) -> dict[str, str]:
        return dict((await session.execute(select(User.id, User.username))).tuples().all())

    usernames = sc.in_app(names)
    return sorted(usernames[row.user_id] for row in rows)


async def outbox_rows(sc: Scenario, notification_ids: list[str]) -> list[NotificationMail]:
    async def read(session: AsyncSession) -> list[NotificationMail]:
        return list(
            (
                await session.execute(
                    select(NotificationMail).where(NotificationMail.notification_id.in_(notification_ids))
                )
            ).scalars()
        )

    return sc.in_app(read)


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpTarget]:
    with SmtpTarget() as server:
        yield server


@pytest_asyncio.fixture(loop_scope="module")
async def mailer(sc: Scenario, smtp_server: SmtpTarget) -> AsyncIterator[Mailer]:
    """Mails on: a connection to the test SMTP server chosen by the admin; every person
    has an address. The connection is created once per module (kept in `sc.flows`)."""
    runtime = sc.api.runtime
    service = runtime.services["connections"]
    assert isinstance(service, ConnectionService)
    service.guard = EgressGuard(EgressPolicy.parse("127.0.0.1"))
    sc.api.client.blocking_portal.call(runtime.outbox.stop)
    connection_id = sc.flows.get(CONNECTION_KEY)
    if connection_id is None:

        async def give_addresses(session: AsyncSession) -> None:
            for name in PEOPLE:
                await session.execute(update(User).where(User.username == name).values(email=address(name)))

        sc.in_app(give_addresses, write=True)
        settings = {
            "host": "127.0.0.1",
            "port": smtp_server.port,
            "security": "none",
            "sender": f"dirigent@{DOMAIN}",
            "allowed_domains": [DOMAIN],
        }
        body = {"name": "notify", "kind": "email", "settings": settings, "secrets": {}}
        created = await sc.as_("admin").post("/api/workspaces/sales/connections", json=body)
        connection_id = expect(created, 201)["id"]
        sc.flows[CONNECTION_KEY] = connection_id
    await choose(sc, connection_id)
    mailer = Mailer(sc, smtp_server, connection_id)
    mailer.deliver()  # what earlier tests left due
    mailer.clear()
    yield mailer


CONNECTION_KEY = "__notification_connection__"


async def choose(
    sc: Scenario, connection_id: str | None, studio_url: str = "https://dirigent.firma.de"
) -> Any:
    answer = await sc.as_("admin").request(
        "PUT",
        "/api/admin/notification-settings",
        json={"connection_id": connection_id, "studio_url": studio_url},
    )
    return expect(answer, 200)
