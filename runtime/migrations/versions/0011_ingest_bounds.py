"""ingestion jobs are claimed by one process (worker, heartbeat) and scheduled fairly
across workspaces (claimed_at: when a process last took the job)

Revision ID: 0011_ingest_bounds
Revises: 0005_feedback_monitoring
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import runtime.db.models

revision = "0011_ingest_bounds"
down_revision = "0005_feedback_monitoring"
branch_labels = None
depends_on = None

UTC = runtime.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("knowledge_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("claimed_at", UTC, nullable=True))
        batch_op.create_index("ix_knowledge_jobs_status_created", ["status", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("knowledge_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_knowledge_jobs_status_created")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("worker_id")
