"""model endpoints: who registered them, their last test; a change counter every process reads

Revision ID: 0018_model_endpoints
Revises: 0017_runs_viewer
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import runtime.db.models

revision = "0018_model_endpoints"
down_revision = "0017_runs_viewer"
branch_labels = None
depends_on = None

UTC = runtime.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("model_endpoints") as batch:
        batch.add_column(sa.Column("created_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("updated_at", UTC, nullable=True))
        batch.add_column(sa.Column("last_test_at", UTC, nullable=True))
        batch.add_column(sa.Column("last_test_ok", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("last_test_error", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("last_test_latency_ms", sa.Float(), nullable=True))
        batch.create_foreign_key(
            "fk_model_endpoints_created_by", "users", ["created_by"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "change_counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    # The row exists from the start: a change is then always an UPDATE, never a racing INSERT.
    op.execute("INSERT INTO change_counters (name, value) VALUES ('model_endpoints', 0)")


def downgrade() -> None:
    op.drop_table("change_counters")
    with op.batch_alter_table("model_endpoints") as batch:
        batch.drop_constraint("fk_model_endpoints_created_by", type_="foreignkey")
        for column in (
            "last_test_latency_ms",
            "last_test_error",
            "last_test_ok",
            "last_test_at",
            "updated_at",
            "created_by",
        ):
            batch.drop_column(column)
