"""notifications: the in-studio inbox, its e-mail outbox, the admin's choice of the mail
connection, and an e-mail address per user

users                   email: where notifications are mailed (none: inbox only)
notifications           one row per event and recipient (kind, parameters, target, read_at)
notification_mails      the outbox, claimed by compare-and-set, retried with backoff
notification_settings   one row: the e-mail connection that sends, the studio's address

Revision ID: 0014_notifications
Revises: 0006_durable_runs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_notifications"
down_revision = "0006_durable_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))

    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column(
            "user_id", sa.String(length=32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("user_id", "event_key", name="uq_notifications_user_event"),
    )
    op.create_index("ix_notifications_unread", "notifications", ["user_id", "read_at"])
    op.create_index("ix_notifications_user_created", "notifications", ["user_id", "created_at", "id"])

    op.create_table(
        "notification_mails",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column(
            "notification_id",
            sa.String(length=32),
            sa.ForeignKey("notifications.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_notification_mails_due", "notification_mails", ["status", "next_attempt_at"])

    op.create_table(
        "notification_settings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column(
            "connection_id",
            sa.String(length=32),
            sa.ForeignKey("connections.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("studio_url", sa.String(length=500), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notification_settings")
    op.drop_index("ix_notification_mails_due", table_name="notification_mails")
    op.drop_table("notification_mails")
    op.drop_index("ix_notifications_user_created", table_name="notifications")
    op.drop_index("ix_notifications_unread", table_name="notifications")
    op.drop_table("notifications")
    # Not in batch mode: on SQLite that recreates `users`, which other tables reference, and
    # dropping it fails under foreign keys once there is data; SQLite (3.35+) drops a
    # plain column in place.
    op.drop_column("users", "email")
