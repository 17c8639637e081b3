"""Knowledge indexes, uploads (→ ingestion jobs), documents and search over HTTP."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from pydantic import Field

from runtime.api.deps import Caller, Root
from runtime.api.schemas import Body, Integer, documented_pattern
from runtime.errors import Unavailable
from runtime.knowledge.responses import (
    DocumentOut,
    HitOut,
    IndexDetailOut,
    IndexOut,
    JobOut,
    PassageOut,
    SearchOut,
)
from runtime.knowledge.service import INDEX_NAME, MAX_K, KnowledgeService

# The whole multipart request; each file is also held to DIRIGENT_KNOWLEDGE_MAX_FILE_MB
# while it streams in, so an oversized file fails alone and the others are indexed.
UPLOAD_MAX_REQUEST_BYTES = 4 * 1024 * 1024 * 1024
LABEL_RULE = "each 1-64 lowercase letters, digits and . _ : -, e.g. hr-confidential"


class IndexCreate(Body):
    name: str = Field(
        ..., description="Name flows use, e.g. offers", json_schema_extra=documented_pattern(INDEX_NAME)
    )
    description: str = Field("", max_length=2000)
    backend: Literal["embedded", "marqo"] = Field(
        "embedded", description="embedded (default, no server) or marqo"
    )
    embedding_model: str | None = Field(None, description="Default: the runtime's configured model")
    chunking: dict[str, Any] | None = Field(None, description="{max_chars, overlap_chars}")
    labels: list[str] = Field(
        default_factory=list, description=f"Labels every document of the index carries ({LABEL_RULE})"
    )


class SearchRequest(Body):
    query: str = Field(..., min_length=1, max_length=4000)
    k: Integer = Field(5, ge=1, le=MAX_K)
    labels: list[str] | None = Field(
        None, description=f"Only passages carrying one of these labels ({LABEL_RULE})"
    )
    mode: Literal["hybrid", "dense", "lexical"] = Field("hybrid", description="hybrid, dense or lexical")


def provide_knowledge(root: Root) -> KnowledgeService:
    """The runtime's knowledge service; 503 `not_configured` in a runtime without one."""
    service = root.services.get("knowledge")
    if not isinstance(service, KnowledgeService):
        raise Unavailable(
            "knowledge indexes are not configured in this runtime",
            code="not_configured",
            service="knowledge indexes",
        )
    return service


Knowledge = NamedDependency[KnowledgeService]


class KnowledgeController(Controller):
    path = "/api"
    tags = ["knowledge"]
    dependencies = {"knowledge": Provide(provide_knowledge, sync_to_thread=False)}

    @get("/workspaces/{workspace:str}/knowledge")
    async def list_indexes(
        self, knowledge: Knowledge, actor: Caller, workspace: FromPath[str]
    ) -> list[IndexOut]:
        return [IndexOut.model_validate(index) for index in await knowledge.list_indexes(actor, workspace)]

    @post("/workspaces/{workspace:str}/knowledge")
    async def create_index(
        self, knowledge: Knowledge, actor: Caller, workspace: FromPath[str], data: JSONBody[IndexCreate]
    ) -> IndexOut:
        created = await knowledge.create_index(
            actor,
            workspace,
            data.name,
            description=data.description,
            backend=data.backend,
            embedding_model=data.embedding_model,
            chunking=data.chunking,
            labels=data.labels,
        )
        return IndexOut.model_validate(created)

    @get("/knowledge/jobs/{job_id:str}")
    async def get_job(self, knowledge: Knowledge, actor: Caller, job_id: FromPath[str]) -> JobOut:
        return JobOut.model_validate(await knowledge.jobs.get(actor, job_id))

    @get("/knowledge/{index_id:str}")
    async def get_index(self, knowledge: Knowledge, actor: Caller, index_id: FromPath[str]) -> IndexDetailOut:
        return IndexDetailOut.model_validate(await knowledge.describe_index(actor, index_id))

    @delete("/knowledge/{index_id:str}", status_code=204)
    async def delete_index(self, knowledge: Knowledge, actor: Caller, index_id: FromPath[str]) -> None:
        await knowledge.delete_index(actor, index_id)

    @post(
        "/knowledge/{index_id:str}/documents", status_code=202, request_max_body_size=UPLOAD_MAX_REQUEST_BYTES
    )
    async def upload(
        self,
        knowledge: Knowledge,
        actor: Caller,
        request: Request[Any, Any, Any],
        index_id: FromPath[str],
        labels: FromQuery[str | None] = None,
    ) -> JobOut:
        """Multipart upload, one `files` part per file (and optionally a `labels` field:
        comma-separated labels for all of them). Answers with the ingestion job."""
        job = await knowledge.jobs.upload(
            actor,
            index_id,
            request.stream(),
            request.headers.get("content-type", ""),
            labels=labels.split(",") if labels else None,
        )
        return JobOut.model_validate(job)

    @get("/knowledge/{index_id:str}/documents")
    async def list_documents(
        self, knowledge: Knowledge, actor: Caller, index_id: FromPath[str]
    ) -> list[DocumentOut]:
        return [DocumentOut.model_validate(row) for row in await knowledge.list_documents(actor, index_id)]

    @delete("/knowledge/{index_id:str}/documents/{document_id:str}", status_code=204)
    async def delete_document(
        self, knowledge: Knowledge, actor: Caller, index_id: FromPath[str], document_id: FromPath[str]
    ) -> None:
        await knowledge.delete_document(actor, index_id, document_id)

    @get("/knowledge/documents/{document_id:str}/passages/{chunk_id:str}")
    async def read_passage(
        self, knowledge: Knowledge, actor: Caller, document_id: FromPath[str], chunk_id: FromPath[str]
    ) -> PassageOut:
        """One passage (a source of an answer), if the caller may read it; else 404."""
        return PassageOut.model_validate(await knowledge.read_passage(actor, document_id, chunk_id))

    @post("/knowledge/{index_id:str}/search", status_code=200)
    async def search(
        self, knowledge: Knowledge, actor: Caller, index_id: FromPath[str], data: JSONBody[SearchRequest]
    ) -> SearchOut:
        hits = await knowledge.search(actor, index_id, data.query, data.k, labels=data.labels, mode=data.mode)
        return SearchOut(
            query=data.query, k=data.k, results=[HitOut.model_validate(hit.as_json()) for hit in hits]
        )
