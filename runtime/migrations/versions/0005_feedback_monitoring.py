"""feedback on runs, and the indexes monitoring reads runs and connector steps by

Revision ID: 0005_feedback_monitoring
Revises: 0004_test_reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import runtime.db.models

revision = "0005_feedback_monitoring"
down_revision = "0004_test_reports"
branch_labels = None
depends_on = None

UTC = runtime.db.models.UTCDateTime(timezone=True)
RUNS_MONITORING_COLUMNS = (
    "workspace_id",
    "created_at",
    "flow_id",
    "started_by",
    "status",
    "is_test",
    "total_tokens",
    "finished_at",
    "id",
)
CONNECTOR_STEP = "node_type = 'connector'"


def upgrade() -> None:
    op.create_table(
        "run_feedback",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("rating", sa.String(length=8), nullable=False),
        sa.Column("correction", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "user_id", name="uq_run_feedback_run_user"),
    )
    # Monitoring reads a workspace's runs by creation time; the other columns are what it
    # counts and joins by, so that SQLite answers from the index alone (bench/monitoring.py).
    op.create_index("ix_runs_monitoring", "runs", list(RUNS_MONITORING_COLUMNS))
    # ... and the connector steps of those runs, a small part of all steps.
    op.create_index(
        "ix_run_steps_connector",
        "run_steps",
        ["run_id", "node_type", "status"],
        sqlite_where=sa.text(CONNECTOR_STEP),
        postgresql_where=sa.text(CONNECTOR_STEP),
    )


def downgrade() -> None:
    op.drop_index("ix_run_steps_connector", table_name="run_steps")
    op.drop_index("ix_runs_monitoring", table_name="runs")
    op.drop_table("run_feedback")
