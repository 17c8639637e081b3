"""What the knowledge API answers with (`runtime/knowledge/controller.py`).

The service builds these answers as dicts (`index_as_json`, `document_as_json`,
`job_as_json`, `Hit.as_json`); the controller validates them into these models, which
give the OpenAPI its shapes. Times are ISO-8601 strings, as `runtime.db.models.iso` writes them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from runtime.wire import Out

Backend = Literal["embedded", "marqo"]
JobStatus = Literal["queued", "running", "succeeded", "completed_with_errors", "failed"]
FileStatus = Literal["queued", "running", "indexed", "unchanged", "failed"]


class ChunkingOut(BaseModel):
    max_chars: int = Field(description="Longest passage in characters")
    overlap_chars: int = Field(description="Characters of whole sentences repeated in the next passage")


class IndexOut(BaseModel):
    id: str
    name: str
    workspace_id: str
    workspace: str | None = Field(description="The workspace's slug")
    description: str
    backend: Backend
    embedding_model: str
    chunking: ChunkingOut
    labels: list[str] = Field(description="Labels every document of the index carries")
    created_at: str | None


class IndexDetailOut(IndexOut):
    """One index with its counts, what the caller may do with it, and its backend's figures."""

    documents: int
    allowed_actions: list[str]
    stats: dict[str, Any] = Field(
        description="The backend's figures (embedded: chunks, documents, vectors, tombstones; marqo: "
        "index, chunks, vectors), or {error} when the backend cannot be reached"
    )


class DocumentOut(BaseModel):
    id: str
    index_id: str
    filename: str
    content_hash: str
    size_bytes: int
    media_type: str
    labels: list[str]
    chunks: int
    created_at: str | None
    updated_at: str | None


class JobFileOut(Out):
    """One file of an upload; `params` only on a file that failed with a coded reason."""

    absent_when_unset = frozenset({"params"})

    name: str
    size: int
    status: FileStatus
    chunks: int
    error: str | None = Field(description="Why the file failed, in English")
    code: str | None = Field(description="Why the file failed, as a code (runtime/codes)")
    document_id: str | None
    params: dict[str, Any] | None = Field(None, description="The parameters of `code`")


class JobOut(BaseModel):
    id: str
    index_id: str
    status: JobStatus
    labels: list[str]
    files_total: int
    files_done: int
    files_failed: int
    chunks_done: int
    error: str | None
    files: list[JobFileOut]
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class PassageOut(BaseModel):
    """One passage (a source of an answer)."""

    index_id: str
    index: str = Field(description="The index's name")
    document_id: str
    chunk_id: str
    source: str
    page: int | None
    section: str | None
    text: str


class HitOut(BaseModel):
    chunk_id: str
    document_id: str
    text: str
    source: str
    page: int | None
    section: str | None
    labels: list[str]
    score: float
    similarity: float | None = Field(description="Cosine similarity of the dense search, if it ran")
    ranks: dict[str, int] = Field(description="Rank in each search that found the passage (dense, lexical)")


class SearchOut(BaseModel):
    query: str
    k: int
    results: list[HitOut]
