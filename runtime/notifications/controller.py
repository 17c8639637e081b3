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

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from pydantic import BaseModel, Field

from runtime.api.deps import Caller, Rt
from runtime.api.schemas import Body
from runtime.notifications import config, service
from runtime.notifications.models import Notification
from runtime.policy.resources import Platform


class NotificationOut(BaseModel):
    id: str
    kind: str = Field(
        description="version_submitted | version_approved | version_rejected | task_assigned | task_overdue"
    )
    params: dict[str, Any] = Field(
        description="What the studio words the notification with (flow, number, by, title, ...)"
    )
    target_type: str = Field(description="version | task")
    target_id: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, row: Notification) -> NotificationOut:
        return cls(
            id=row.id,
            kind=row.kind,
            params=row.params or {},
            target_type=row.target_type,
            target_id=row.target_id,
            created_at=row.created_at,
            read_at=row.read_at,
        )


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    unread: int
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null: no more")


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int
    unread: int


class MailSettingsOut(BaseModel):
    connection_id: str | None
    connection_name: str | None
    workspace: str | None
    studio_url: str = Field(description="What links in mails point at")
    studio_url_set: str | None = Field(description="The admin's address; null: DIRIGENT_STUDIO_URL")
    updated_by: str | None
    updated_at: datetime | None
    mails: dict[str, int] = Field(description="Outbox rows per status: pending, sending, sent, failed")

    @classmethod
    def of(cls, choice: config.MailChoice) -> MailSettingsOut:
        return cls(**choice.__dict__)


class MailSettingsIn(Body):
    connection_id: str | None = Field(
        None, max_length=32, description="An e-mail connection; null: notifications stay in the inbox"
    )
    studio_url: str | None = Field(None, max_length=config.MAX_URL, description="null: DIRIGENT_STUDIO_URL")


LimitQuery = Annotated[int, QueryParameter(ge=1, le=service.MAX_PAGE, description="Notifications per page")]
CursorQuery = Annotated[
    str | None, QueryParameter(max_length=100, description="next_cursor of the previous page")
]


class NotificationController(Controller):
    path = "/api/notifications"
    tags = ["notifications"]

    @get("/")
    async def list_notifications(
        self,
        rt: Rt,
        actor: Caller,
        unread_only: FromQuery[bool] = False,
        limit: LimitQuery = 50,
        cursor: CursorQuery = None,
    ) -> NotificationPage:
        async with rt.db.read() as session:
            rows, next_cursor = await service.inbox_page(
                session, rt.authz, actor, unread_only=unread_only, limit=limit, cursor=cursor
            )
            unread = await service.unread_count(session, actor)
        return NotificationPage(
            items=[NotificationOut.of(row) for row in rows], unread=unread, next_cursor=next_cursor
        )

    @get("/unread-count")
    async def count_unread(self, rt: Rt, actor: Caller) -> UnreadCount:
        return UnreadCount(unread=await service.unread_count_quick(rt.db, actor))

    @get("/{notification_id:str}")
    async def get_notification(
        self, rt: Rt, actor: Caller, notification_id: FromPath[str]
    ) -> NotificationOut:
        async with rt.db.read() as session:
            return NotificationOut.of(
                await service.get_notification(session, rt.authz, actor, notification_id)
            )

    @post("/read-all", status_code=200)
    async def read_all(self, rt: Rt, actor: Caller) -> MarkedRead:
        async with rt.db.write() as session:
            marked = await service.mark_all_read(session, actor)
            return MarkedRead(marked=marked, unread=await service.unread_count(session, actor))

    @post("/{notification_id:str}/read", status_code=200)
    async def read_one(self, rt: Rt, actor: Caller, notification_id: FromPath[str]) -> NotificationOut:
        async with rt.db.write() as session:
            return NotificationOut.of(await service.mark_read(session, rt.authz, actor, notification_id))


class NotificationSettingsController(Controller):
    path = "/api/admin/notification-settings"
    tags = ["notifications"]

    @get("/")
    async def read_settings(self, rt: Rt, actor: Caller) -> MailSettingsOut:
        rt.authz.authorize(actor, "manage_notifications", Platform())
        async with rt.db.read() as session:
            return MailSettingsOut.of(await config.read_choice(session, rt.settings))

    @put("/")
    async def choose(self, rt: Rt, actor: Caller, data: JSONBody[MailSettingsIn]) -> MailSettingsOut:
        async with rt.db.write() as session:
            choice = await config.choose(
                session,
                rt.authz,
                actor,
                rt.settings,
                connection_id=data.connection_id,
                studio_url=data.studio_url,
            )
        return MailSettingsOut.of(choice)
