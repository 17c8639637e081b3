"""side effects: the call journal's in-flight state, connections' test targets, test runs
that may read live data, and who asked for an approval task (four eyes on tasks)

connection_calls   status sending|sent becomes in_flight|uncertain|done|failed; what was
                   called (request_digest, summary) is written before the call
connections        test_settings, sealed_test_secrets, test_secrets_changed: the test
                   target that test runs use instead of production
runs               allow_live_reads: a test run may make read-only calls to production
approval_tasks     requested_by (the run's starter) and risk (the flow card's), the facts
                   the policy's four-eyes rule on tasks reads

Revision ID: 0007_side_effects
Revises: 0005_feedback_monitoring
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_side_effects"
down_revision = "0005_feedback_monitoring"
branch_labels = None
depends_on = None

STATUSES = (("sending", "in_flight"), ("sent", "done"))


def upgrade() -> None:
    with op.batch_alter_table("connection_calls") as batch:
        batch.add_column(sa.Column("request_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("summary", sa.Text(), nullable=True))
    for old, new in STATUSES:
        op.execute(sa.text(f"UPDATE connection_calls SET status = '{new}' WHERE status = '{old}'"))

    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("test_settings", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("sealed_test_secrets", sa.Text(), nullable=True))
        batch.add_column(sa.Column("test_secrets_changed", sa.JSON(), nullable=True))

    with op.batch_alter_table("runs") as batch:
        batch.add_column(
            sa.Column("allow_live_reads", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("approval_tasks") as batch:
        batch.add_column(sa.Column("requested_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("risk", sa.String(length=16), nullable=True))
    # Tasks open before this migration: their requester is their run's starter. Their risk
    # stays unknown, which the policy treats like any risk but `minimal` (the safe side).
    op.execute(
        sa.text(
            "UPDATE approval_tasks SET requested_by = "
            "(SELECT runs.started_by FROM runs WHERE runs.id = approval_tasks.run_id)"
        )
    )


def downgrade() -> None:
    # Plain columns are dropped in place (SQLite 3.35+), not in batch mode: that recreates
    # the table, which fails under foreign keys when other tables' rows refer to it.
    for table, column in (
        ("approval_tasks", "risk"),
        ("approval_tasks", "requested_by"),
        ("runs", "allow_live_reads"),
        ("connections", "test_secrets_changed"),
        ("connections", "sealed_test_secrets"),
        ("connections", "test_settings"),
    ):
        op.drop_column(table, column)
    # in_flight and uncertain were both "sending" before; failed calls were left "sending" too.
    for old, new in (
        ("in_flight", "sending"),
        ("uncertain", "sending"),
        ("failed", "sending"),
        ("done", "sent"),
    ):
        op.execute(sa.text(f"UPDATE connection_calls SET status = '{new}' WHERE status = '{old}'"))
    op.drop_column("connection_calls", "summary")
    op.drop_column("connection_calls", "request_digest")
