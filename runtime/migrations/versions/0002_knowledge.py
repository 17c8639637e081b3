"""knowledge: indexes, documents, ingestion jobs

Revision ID: 0002_knowledge
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import runtime.db.models

revision = "0002_knowledge"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_indexes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("embedding_model", sa.String(length=200), nullable=False),
        sa.Column("chunking", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", runtime.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name"),
    )
    with op.batch_alter_table("knowledge_indexes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_knowledge_indexes_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "knowledge_documents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("index_id", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=120), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", runtime.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", runtime.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["index_id"], ["knowledge_indexes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("index_id", "filename"),
    )
    with op.batch_alter_table("knowledge_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_knowledge_documents_index_id"), ["index_id"], unique=False)

    op.create_table(
        "knowledge_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("index_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("files_total", sa.Integer(), nullable=False),
        sa.Column("files_done", sa.Integer(), nullable=False),
        sa.Column("files_failed", sa.Integer(), nullable=False),
        sa.Column("chunks_done", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", runtime.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", runtime.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", runtime.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["index_id"], ["knowledge_indexes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("knowledge_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_knowledge_jobs_index_id"), ["index_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("knowledge_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_jobs_index_id"))
    op.drop_table("knowledge_jobs")
    with op.batch_alter_table("knowledge_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_documents_index_id"))
    op.drop_table("knowledge_documents")
    with op.batch_alter_table("knowledge_indexes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_indexes_workspace_id"))
    op.drop_table("knowledge_indexes")
