"""The inbox and the admin's mail settings bound to the database and the policy: what
`runtime.notifications.controller` calls (the rules are in `service` and `config`)."""

from __future__ import annotations

from runtime.db.database import Database
from runtime.notifications import config, service
from runtime.notifications.responses import (
    MailSettingsOut,
    MarkedRead,
    NotificationOut,
    NotificationPage,
)
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor, Platform
from runtime.settings import Settings


class Inbox:
    """One's own notifications: a page, the unread count, one, marking read."""

    __slots__ = ("authz", "db")

    def __init__(self, db: Database, authz: Authorizer) -> None:
        self.db = db
        self.authz = authz

    async def page(
        self, actor: Actor, *, unread_only: bool, limit: int, cursor: str | None
    ) -> NotificationPage:
        async with self.db.read() as session:
            rows, next_cursor = await service.inbox_page(
                session, self.authz, actor, unread_only=unread_only, limit=limit, cursor=cursor
            )
            unread = await service.unread_count(session, actor)
        return NotificationPage(
            items=[NotificationOut.of(row) for row in rows], unread=unread, next_cursor=next_cursor
        )

    async def unread(self, actor: Actor) -> int:
        return await service.unread_count_quick(self.db, actor)

    async def one(self, actor: Actor, notification_id: str) -> NotificationOut:
        async with self.db.read() as session:
            return NotificationOut.of(
                await service.get_notification(session, self.authz, actor, notification_id)
            )

    async def read_all(self, actor: Actor) -> MarkedRead:
        async with self.db.write() as session:
            marked = await service.mark_all_read(session, actor)
            return MarkedRead(marked=marked, unread=await service.unread_count(session, actor))

    async def read_one(self, actor: Actor, notification_id: str) -> NotificationOut:
        async with self.db.write() as session:
            return NotificationOut.of(await service.mark_read(session, self.authz, actor, notification_id))


class MailSettingsDesk:
    """Which e-mail connection sends notifications, and where their links point."""

    __slots__ = ("authz", "db", "settings")

    def __init__(self, db: Database, authz: Authorizer, settings: Settings) -> None:
        self.db = db
        self.authz = authz
        self.settings = settings

    async def read(self, actor: Actor) -> MailSettingsOut:
        self.authz.authorize(actor, "manage_notifications", Platform())
        async with self.db.read() as session:
            return MailSettingsOut.of(await config.read_choice(session, self.settings))

    async def choose(
        self, actor: Actor, *, connection_id: str | None, studio_url: str | None
    ) -> MailSettingsOut:
        async with self.db.write() as session:
            choice = await config.choose(
                session, self.authz, actor, self.settings, connection_id=connection_id, studio_url=studio_url
            )
        return MailSettingsOut.of(choice)
