"""ORM models of the knowledge domain (tables created by migration 0002_knowledge; the
job's claim columns by 0011_ingest_bounds).

The chunks themselves live in the index's backend (the embedded store's directory, or
Marqo); these tables hold what the API lists and what ingestion needs to decide:
indexes, documents with their content hash, and ingestion jobs with their progress.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db.models import Base, UTCDateTime, new_id, utcnow


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class KnowledgeIndex(Base):
    """A searchable collection of documents in a workspace; `name` is what flows use."""

    __tablename__ = "knowledge_indexes"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    backend: Mapped[str] = mapped_column(String(16), default="embedded")  # embedded | marqo
    embedding_model: Mapped[str] = mapped_column(String(200))
    chunking: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Labels every document of the index carries (in addition to its own).
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KnowledgeDocument(Base):
    """One file in an index. Identity is its file name: uploading the same name again
    is a no-op when `content_hash` is unchanged and replaces its chunks otherwise."""

    __tablename__ = "knowledge_documents"
    __table_args__ = (UniqueConstraint("index_id", "filename"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    index_id: Mapped[str] = mapped_column(ForeignKey("knowledge_indexes.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(120))
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IngestionJob(Base):
    """An upload being indexed. `files` holds one entry per file:
    `{"name", "size", "status": queued|running|indexed|unchanged|failed, "chunks", "error", "code",
    "document_id", "params"}`; the counters are kept in step for cheap progress reads.

    A job is run by the process that claimed it (`worker_id`, compare-and-set from
    `queued`, or from `running` once its `heartbeat_at` is older than the orphan timeout);
    `claimed_at` is when a process last took it, which the scheduler reads as "when its
    workspace was last served" (`scheduler.py`)."""

    __tablename__ = "knowledge_jobs"
    __table_args__ = (Index("ix_knowledge_jobs_status_created", "status", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    index_id: Mapped[str] = mapped_column(ForeignKey("knowledge_indexes.id", ondelete="CASCADE"), index=True)
    # queued | running | succeeded (every file indexed or unchanged) | completed_with_errors | failed
    status: Mapped[str] = mapped_column(String(24), default="queued")
    files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    files_total: Mapped[int] = mapped_column(Integer, default=0)
    files_done: Mapped[int] = mapped_column(Integer, default=0)
    files_failed: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
