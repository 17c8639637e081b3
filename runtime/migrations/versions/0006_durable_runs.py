"""accepted means stored: idempotency keys of invocations, and the run of each webhook delivery

Revision ID: 0006_durable_runs
Revises: 0008_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import runtime.db.models

revision = "0006_durable_runs"
down_revision = "0008_sessions"
branch_labels = None
depends_on = None

UTC = runtime.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("caller_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["caller_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("caller_id", "key", name="uq_idempotency_keys_caller_key"),
    )
    op.create_index("ix_idempotency_keys_run_id", "idempotency_keys", ["run_id"])
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    # A redelivered webhook answers with the run the first delivery started.
    with op.batch_alter_table("trigger_deliveries") as batch:
        batch.add_column(sa.Column("run_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("trigger_deliveries", "run_id")  # in place: see 0007's downgrade
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_index("ix_idempotency_keys_run_id", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
