"""What the inbox and mail-settings routes answer (`runtime.notifications.controller`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from runtime.notifications import config
from runtime.notifications.models import Notification


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
