"""The inbox API (`/api/notifications`) and the admin's mail settings
(`/api/admin/notification-settings`).

    GET  /api/notifications?unread_only=&limit=&cursor=   own notifications, newest first
    GET  /api/notifications/unread-count                  {"unread": n} (the studio polls it)
    GET  /api/notifications/{id}                          one of one's own (404 otherwise)
    POST /api/notifications/{id}/read                     mark one read
    POST /api/notifications/read-all                      mark all read
    GET  /api/admin/notification-settings                 the chosen connection, studio URL, outbox counts
    PUT  /api/admin/notification-settings                 {"connection_id", "studio_url"} (global admins)
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from pydantic import Field

from runtime.api.deps import Caller, Root
from runtime.api.schemas import Body
from runtime.notifications import config, service
from runtime.notifications.inbox import Inbox, MailSettingsDesk
from runtime.notifications.responses import (
    MailSettingsOut,
    MarkedRead,
    NotificationOut,
    NotificationPage,
    UnreadCount,
)


class MailSettingsIn(Body):
    connection_id: str | None = Field(
        None, max_length=32, description="An e-mail connection; null: notifications stay in the inbox"
    )
    studio_url: str | None = Field(None, max_length=config.MAX_URL, description="null: DIRIGENT_STUDIO_URL")


LimitQuery = Annotated[int, QueryParameter(ge=1, le=service.MAX_PAGE, description="Notifications per page")]
CursorQuery = Annotated[
    str | None, QueryParameter(max_length=100, description="next_cursor of the previous page")
]


def provide_inbox(root: Root, actor: Caller) -> Inbox:
    # Names `actor` so that it is resolved after it, alone on its level (see runtime.runs.deps).
    return Inbox(root.db, root.authz)


def provide_mail_settings(root: Root, actor: Caller) -> MailSettingsDesk:
    return MailSettingsDesk(root.db, root.authz, root.settings)


Inboxes = NamedDependency[Inbox]
MailSettings = NamedDependency[MailSettingsDesk]


class NotificationController(Controller):
    path = "/api/notifications"
    tags = ["notifications"]
    dependencies = {"inbox": Provide(provide_inbox, sync_to_thread=False)}

    @get("/")
    async def list_notifications(
        self,
        inbox: Inboxes,
        actor: Caller,
        unread_only: FromQuery[bool] = False,
        limit: LimitQuery = 50,
        cursor: CursorQuery = None,
    ) -> NotificationPage:
        return await inbox.page(actor, unread_only=unread_only, limit=limit, cursor=cursor)

    @get("/unread-count")
    async def count_unread(self, inbox: Inboxes, actor: Caller) -> UnreadCount:
        return UnreadCount(unread=await inbox.unread(actor))

    @get("/{notification_id:str}")
    async def get_notification(
        self, inbox: Inboxes, actor: Caller, notification_id: FromPath[str]
    ) -> NotificationOut:
        return await inbox.one(actor, notification_id)

    @post("/read-all", status_code=200)
    async def read_all(self, inbox: Inboxes, actor: Caller) -> MarkedRead:
        return await inbox.read_all(actor)

    @post("/{notification_id:str}/read", status_code=200)
    async def read_one(
        self, inbox: Inboxes, actor: Caller, notification_id: FromPath[str]
    ) -> NotificationOut:
        return await inbox.read_one(actor, notification_id)


class NotificationSettingsController(Controller):
    path = "/api/admin/notification-settings"
    tags = ["notifications"]
    dependencies = {"mail_settings": Provide(provide_mail_settings, sync_to_thread=False)}

    @get("/")
    async def read_settings(self, mail_settings: MailSettings, actor: Caller) -> MailSettingsOut:
        return await mail_settings.read(actor)

    @put("/")
    async def choose(
        self, mail_settings: MailSettings, actor: Caller, data: JSONBody[MailSettingsIn]
    ) -> MailSettingsOut:
        return await mail_settings.choose(actor, connection_id=data.connection_id, studio_url=data.studio_url)
