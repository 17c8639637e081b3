"""ORM rows of the notifications domain (tables created by migration 0014_notifications).

notifications            one row per event and recipient: what happened as a code and its
                         parameters (the studio words it in German or English), what it
                         links to, and whether the recipient has read it
notification_mails       the outbox: one row per notification that is to be mailed, claimed
                         by one process at a time (compare-and-set), retried with backoff
notification_settings    one row: the e-mail connection an admin chose, and the studio's
                         address for links in the mails
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db.models import Base, UTCDateTime, new_id, utcnow


class Notification(Base):
    """Something a person is told about. `event_key` names the event (kind, resource and
    its revision), so that the same event never notifies the same person twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "event_key", name="uq_notifications_user_event"),
        # The unread count, and the inbox newest first (keyset on created_at, id).
        Index("ix_notifications_unread", "user_id", "read_at"),
        Index("ix_notifications_user_created", "user_id", "created_at", "id"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # version_submitted | version_approved | version_rejected | task_assigned | task_overdue
    kind: Mapped[str] = mapped_column(String(32))
    event_key: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    target_type: Mapped[str] = mapped_column(String(16))  # version | task
    target_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class NotificationMail(Base):
    """A notification on its way out by e-mail.

    status  pending   waiting for its (next) attempt at `next_attempt_at`
            sending   claimed by `claimed_by` at `claimed_at`; a claim older than the lease
                      is taken over (its process died mid-send)
            sent      the SMTP server accepted it
            failed    given up after the last attempt, or nothing to send to (`last_error`)
    """

    __tablename__ = "notification_mails"
    __table_args__ = (Index("ix_notification_mails_due", "status", "next_attempt_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    notification_id: Mapped[str] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


SETTINGS_ROW = 1


class NotificationSettings(Base):
    """The platform's notification settings (one row, id 1), chosen by an admin."""

    __tablename__ = "notification_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=SETTINGS_ROW)
    # The e-mail connection that sends notifications; None: the inbox only, no mails.
    connection_id: Mapped[str | None] = mapped_column(
        ForeignKey("connections.id", ondelete="SET NULL"), nullable=True
    )
    # The studio's address for links in mails; None: `DIRIGENT_STUDIO_URL`.
    studio_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
