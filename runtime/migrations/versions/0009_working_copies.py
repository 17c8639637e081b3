"""working copies: one autosaved, possibly invalid document per flow, versions cut from it

Revision ID: 0009_working_copies
Revises: 0007_side_effects
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import runtime.db.models

revision = "0009_working_copies"
down_revision = "0007_side_effects"
branch_labels = None
depends_on = None

UTC = runtime.db.models.UTCDateTime(timezone=True)

# Every existing flow starts with a working copy equal to its newest version.
BACKFILL = """
INSERT INTO flow_drafts (flow_id, document, base_version, revision, updated_by, updated_at)
SELECT v.flow_id, v.document, v.number, 1, v.author_id, v.created_at
FROM flow_versions v
WHERE v.number = (SELECT MAX(w.number) FROM flow_versions w WHERE w.flow_id = v.flow_id)
"""


def upgrade() -> None:
    op.create_table(
        "flow_drafts",
        sa.Column("flow_id", sa.String(length=32), nullable=False),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["flow_id"], ["flows.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("flow_id"),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("flow_drafts")
