"""test reports: results of running a flow version's test cases (they gate submission)

Revision ID: 0004_test_reports
Revises: 0003_connections
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import runtime.db.models

revision = "0004_test_reports"
down_revision = "0003_connections"
branch_labels = None
depends_on = None

UTC = runtime.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "test_reports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("flow_id", sa.String(length=32), nullable=False),
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("cases", sa.JSON(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["flow_id"], ["flows.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["flow_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_test_reports_flow_id", "test_reports", ["flow_id"])
    # The gate asks for the latest fixed report of a version; lists go newest first.
    op.create_index(
        "ix_test_reports_version_mode_created", "test_reports", ["version_id", "mode", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("test_reports")
