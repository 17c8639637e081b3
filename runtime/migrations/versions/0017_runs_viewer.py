"""the runs viewer: an assistant's runs, newest first, read from an index

`GET /api/flows/{id}/runs` pages one flow's runs by (created_at, id); with only the index
on `flow_id`, every page sorted all of the flow's runs first (20,000 runs on SQLite, a busy
2-core machine: 22-110 ms a page; with this index 3-8 ms: bench/runs_viewer.py).

Revision ID: 0017_runs_viewer
Revises: 0014_notifications
"""

from __future__ import annotations

from alembic import op

revision = "0017_runs_viewer"
# The newest revision on this branch when it was written; re-chained when branches merge.
down_revision = "0014_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_flow_created", "runs", ["flow_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_runs_flow_created", table_name="runs")
