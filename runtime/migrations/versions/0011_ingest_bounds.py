"""ingestion jobs are claimed by one process (worker, heartbeat) and scheduled fairly
across workspaces (claimed_at: when a process last took the job)

Revision ID: 0011_ingest_bounds
Revises: 0018_model_endpoints
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import runtime.db.models

revision = "0011_ingest_bounds"
down_revision = "0018_model_endpoints"
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
    # Columns dropped in place, not in batch mode (see 0007's downgrade).
    op.drop_index("ix_knowledge_jobs_status_created", table_name="knowledge_jobs")
    for column in ("claimed_at", "heartbeat_at", "worker_id"):
        op.drop_column("knowledge_jobs", column)
