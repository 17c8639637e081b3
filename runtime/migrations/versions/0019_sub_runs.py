"""sub-runs: a run started by an `assistant` or `map` node names its parent run

`parent_run_id` links a sub-run to the run whose node started it (the parent waits for it
and is resumed once its sub-runs have ended: the sweep looks them up by this index);
`call_depth` counts how deeply assistants call assistants (0 for a run a person started),
so that an assistant calling itself, directly or indirectly, is refused at a limit.

Revision ID: 0019_sub_runs
Revises: 0011_ingest_bounds
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_sub_runs"
# As given by the coordinator; re-chained when branches merge.
down_revision = "0011_ingest_bounds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("parent_run_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("call_depth", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_runs_parent_run_id", "runs", ["parent_run_id"])


def downgrade() -> None:
    op.drop_index("ix_runs_parent_run_id", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("call_depth")
        batch.drop_column("parent_run_id")
