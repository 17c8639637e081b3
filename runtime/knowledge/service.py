"""The knowledge service: indexes, documents, search — and the `knowledge` node service.

One instance per runtime process (`Composition.services["knowledge"]`). Controllers call it
with the caller; the `retrieval` node calls `retrieve()` with its run id, and the service
finds out who started that run. Every decision about access goes through the policy:
`KnowledgeIndex` `read`/`manage`, and `readable_labels` for the passages.

Ingestion jobs live in `runtime/knowledge/jobs.py`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nodes.errors import NodeError, ServiceUnavailable
from nodes.retrieval import Passage, RetrievalRequest
from runtime.audit.service import append as audit
from runtime.db.database import Database
from runtime.db.models import Run, Workspace
from runtime.errors import BadRequest, Conflict, DirigentError, NotFound
from runtime.knowledge.backends import Backends
from runtime.knowledge.chunking import ChunkingSettings
from runtime.knowledge.embedding import DEFAULT_MODEL
from runtime.knowledge.limits import IngestLimits
from runtime.knowledge.models import IngestionJob, KnowledgeDocument, KnowledgeIndex, iso
from runtime.knowledge.store import Hit
from runtime.policy import resources
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import workspace_view
from runtime.private_files import private_directory
from runtime.settings import Settings
from runtime.users.service import load_actor
from runtime.users.workspaces import workspace_by_slug

log = logging.getLogger("dirigent.knowledge")

INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
LABEL = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,63}$")
BACKENDS = ("embedded", "marqo")
MAX_K = 100


class KnowledgeSettings(BaseSettings):
    """`DIRIGENT_KNOWLEDGE_*`: where indexes live, upload limits, the Marqo server."""

    model_config = SettingsConfigDict(env_prefix="DIRIGENT_KNOWLEDGE_", extra="ignore")

    dir: Path | None = Field(
        None, description="Embedded indexes and upload spool; default: <data_dir>/knowledge"
    )
    max_file_mb: float = Field(100.0, gt=0, description="Largest file accepted for ingestion, in MiB")
    default_model: str = Field(DEFAULT_MODEL, description="Embedding model of new embedded indexes")
    marqo_url: str | None = Field(
        None,
        validation_alias=AliasChoices("DIRIGENT_KNOWLEDGE_MARQO_URL", "DIRIGENT_MARQO_URL"),
        description="Marqo server for indexes with backend 'marqo' (compose.yaml sets DIRIGENT_MARQO_URL)",
    )
    marqo_model: str = Field("hf/multilingual-e5-small", description="Model of new Marqo indexes")
    marqo_timeout_s: float = Field(30.0, gt=0)
    ingest_slots: int = Field(2, ge=1, description="Ingestion jobs one runtime process works on at once")
    workspace_slots: int = Field(
        1, ge=1, description="Ingestion jobs of one workspace that run at once (the others' go first)"
    )
    poll_s: float = Field(
        2.0, gt=0, description="How often a process looks for queued ingestion jobs and beats their hearts"
    )
    # DIRIGENT_KNOWLEDGE_LIMIT_*: what one file may cost (runtime/knowledge/limits.py)
    limits: IngestLimits = Field(default_factory=IngestLimits)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


def parse_labels(raw: Iterable[str] | str | None) -> list[str]:
    """Labels from a list or a comma-separated string; each checked, sorted, unique."""
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    labels = sorted({item.strip().lower() for item in items if item and item.strip()})
    for label in labels:
        if not LABEL.fullmatch(label):
            raise BadRequest(
                f"'{label}' is not a label: 1-64 lowercase letters, digits and . _ : - "
                f"(e.g. hr-confidential)",
                code="invalid_label",
                label=label,
            )
    return labels


def index_as_json(index: KnowledgeIndex, workspace_slug: str | None = None) -> dict[str, Any]:
    return {
        "id": index.id,
        "name": index.name,
        "workspace_id": index.workspace_id,
        "workspace": workspace_slug,
        "description": index.description,
        "backend": index.backend,
        "embedding_model": index.embedding_model,
        "chunking": index.chunking,
        "labels": list(index.labels or []),
        "created_at": iso(index.created_at),
    }


def document_as_json(document: KnowledgeDocument) -> dict[str, Any]:
    return {
        "id": document.id,
        "index_id": document.index_id,
        "filename": document.filename,
        "content_hash": document.content_hash,
        "size_bytes": document.size_bytes,
        "media_type": document.media_type,
        "labels": list(document.labels or []),
        "chunks": document.chunk_count,
        "created_at": iso(document.created_at),
        "updated_at": iso(document.updated_at),
    }


class KnowledgeService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        authz: Authorizer | None = None,
        *,
        backends: Backends | None = None,
        config: KnowledgeSettings | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self._authz = authz
        self.config = config or KnowledgeSettings()  # type: ignore[call-arg]
        self.root = (self.config.dir or Path(settings.data_dir) / "knowledge").resolve()
        self.backends = backends or Backends(self.root / "indexes", marqo_factory=self._marqo_factory())
        from runtime.knowledge.jobs import IngestionJobs

        self.jobs = IngestionJobs(self)
        self._started = False
        self._start_lock = asyncio.Lock()

    @property
    def authz(self) -> Authorizer:
        """The policy; one shared with the runtime when handed in, else loaded on first use."""
        if self._authz is None:
            self._authz = Authorizer()
        return self._authz

    def _marqo_factory(self) -> Any:
        if not self.config.marqo_url:
            return None
        url, timeout_s = self.config.marqo_url, self.config.marqo_timeout_s
        clients: list[Any] = []  # one client, made when the first Marqo index is opened

        def open_marqo(index: Any) -> Any:
            # Imported here: without the 'knowledge' extra (no marqo client) the runtime
            # still starts, and opening a Marqo index answers `extra_missing`.
            from runtime.knowledge.marqo_backend import MarqoBackend, marqo_client

            if not clients:
                clients.append(marqo_client(url, timeout_s=timeout_s))
            return MarqoBackend(clients[0], index)

        return open_marqo

    async def ensure_started(self) -> None:
        """Start claiming ingestion jobs, those a stopped process left behind too (on
        start of the runtime, or on first use)."""
        if self._started:
            return
        async with self._start_lock:
            if not self._started:
                self._started = True
                private_directory(self.root)  # indexes and uploads: readable by the runtime only
                self.jobs.start()

    async def close(self) -> None:
        await self.jobs.stop()
        self._started = False
        await self.backends.close()

    # -- views and lookups ------------------------------------------------------------
    async def view(self, session: AsyncSession, index: KnowledgeIndex) -> resources.KnowledgeIndex:
        """The policy's view of `index`, with every label that occurs in it."""
        rows = await session.execute(
            select(KnowledgeDocument.labels).where(KnowledgeDocument.index_id == index.id)
        )
        labels = set(index.labels or [])
        for (document_labels,) in rows:
            labels.update(document_labels or [])
        return resources.KnowledgeIndex(
            id=index.id, workspace_id=index.workspace_id, labels=frozenset(labels)
        )

    async def get_index(
        self, session: AsyncSession, actor: Actor, index_id: str, action: str = "read"
    ) -> tuple[KnowledgeIndex, resources.KnowledgeIndex]:
        index = await session.get(KnowledgeIndex, index_id)
        if index is None:
            raise NotFound("knowledge index not found", code="not_found", resource="knowledge_index")
        view = await self.view(session, index)
        self.authz.authorize(actor, action, view)
        return index, view

    async def _workspace(self, session: AsyncSession, actor: Actor, slug: str, action: str) -> Workspace:
        workspace = await workspace_by_slug(session, slug)
        self.authz.authorize(actor, action, workspace_view(workspace))
        return workspace

    # -- indexes ----------------------------------------------------------------------
    async def create_index(
        self,
        actor: Actor,
        workspace_slug: str,
        name: str,
        *,
        description: str = "",
        backend: str = "embedded",
        embedding_model: str | None = None,
        chunking: dict[str, Any] | None = None,
        labels: Iterable[str] = (),
    ) -> dict[str, Any]:
        if not INDEX_NAME.fullmatch(name or ""):
            raise BadRequest(
                f"'{name}' is not an index name: 1-64 lowercase letters, digits, - and _ "
                f'(flows refer to it, e.g. "index": "offers")',
                code="invalid_name",
                name=name,
            )
        if backend not in BACKENDS:
            raise BadRequest(
                f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}",
                code="invalid_backend",
                backend=backend,
                backends=", ".join(BACKENDS),
            )
        if backend == "marqo" and not self.config.marqo_url:
            raise BadRequest(
                "the backend 'marqo' needs a Marqo server: set DIRIGENT_KNOWLEDGE_MARQO_URL, "
                "or use the backend 'embedded'",
                code="marqo_not_configured",
            )
        try:
            chunking_settings = ChunkingSettings.model_validate(chunking or {})
        except ValueError as error:
            raise BadRequest(
                f"invalid chunking settings: {error}", code="invalid_chunking", detail=str(error)
            ) from None
        model = embedding_model or (
            self.config.marqo_model if backend == "marqo" else self.config.default_model
        )
        clean_labels = parse_labels(list(labels))
        async with self.db.write() as session:
            workspace = await self._workspace(session, actor, workspace_slug, "manage_knowledge")
            taken = await session.execute(
                select(KnowledgeIndex.id).where(
                    KnowledgeIndex.workspace_id == workspace.id, KnowledgeIndex.name == name
                )
            )
            if taken.first():
                raise Conflict(
                    f"the workspace already has a knowledge index named '{name}'",
                    code="name_taken",
                    what="knowledge_index",
                    name=name,
                )
            index = KnowledgeIndex(
                workspace_id=workspace.id,
                name=name,
                description=description,
                backend=backend,
                embedding_model=model,
                chunking=chunking_settings.model_dump(),
                labels=clean_labels,
                created_by=actor.id,
            )
            session.add(index)
            await session.flush()
            await audit(
                session,
                actor=actor.username,
                action="knowledge.index.created",
                resource_type="knowledge_index",
                resource_id=index.id,
                detail={
                    "workspace": workspace_slug,
                    "name": name,
                    "backend": backend,
                    "model": model,
                    "labels": clean_labels,
                },
            )
        # Fail now, not at the first upload: load the model, or create the Marqo index.
        try:
            await (await self.backends.get(index)).setup()
        except DirigentError:
            await self.backends.forget(index.id)
            async with self.db.write() as session:
                row = await session.get(KnowledgeIndex, index.id)
                if row is not None:
                    await session.delete(row)
                await audit(
                    session,
                    actor=actor.username,
                    action="knowledge.index.deleted",
                    resource_type="knowledge_index",
                    resource_id=index.id,
                    detail={"name": name, "reason": "the backend could not be set up"},
                )
            raise
        return index_as_json(index, workspace_slug)

    async def list_indexes(self, actor: Actor, workspace_slug: str) -> list[dict[str, Any]]:
        await self.ensure_started()
        async with self.db.read() as session:
            workspace = await self._workspace(session, actor, workspace_slug, "read_knowledge")
            rows = (
                (
                    await session.execute(
                        select(KnowledgeIndex)
                        .where(KnowledgeIndex.workspace_id == workspace.id)
                        .order_by(KnowledgeIndex.name)
                    )
                )
                .scalars()
                .all()
            )
            result = []
            for index in rows:
                if self.authz.is_allowed(actor, "read", await self.view(session, index)):
                    result.append(index_as_json(index, workspace_slug))
        return result

    async def describe_index(self, actor: Actor, index_id: str) -> dict[str, Any]:
        async with self.db.read() as session:
            index, view = await self.get_index(session, actor, index_id)
            workspace = await session.get(Workspace, index.workspace_id)
            documents = (
                await session.execute(
                    select(KnowledgeDocument.id).where(KnowledgeDocument.index_id == index.id)
                )
            ).all()
        data = index_as_json(index, workspace.slug if workspace else None)
        data["documents"] = len(documents)
        data["allowed_actions"] = sorted(self.authz.allowed_actions(actor, view))
        try:
            data["stats"] = await (await self.backends.get(index)).stats()
        except DirigentError as error:
            data["stats"] = {"error": error.message}
        return data

    async def delete_index(self, actor: Actor, index_id: str) -> None:
        async with self.db.write() as session:
            index, _ = await self.get_index(session, actor, index_id, "manage")
            job_ids = list(
                (
                    await session.execute(select(IngestionJob.id).where(IngestionJob.index_id == index_id))
                ).scalars()
            )
            await session.delete(index)
            await audit(
                session,
                actor=actor.username,
                action="knowledge.index.deleted",
                resource_type="knowledge_index",
                resource_id=index_id,
                detail={"name": index.name},
            )
        await self.jobs.cancel_for_index(index_id, job_ids)
        backend = await self.backends.forget(index_id)
        if backend is None:
            try:
                backend = await self.backends.get(index)
                await self.backends.forget(index_id)
            except DirigentError:
                backend = None
        if backend is not None:
            await backend.drop()

    # -- documents --------------------------------------------------------------------
    async def list_documents(self, actor: Actor, index_id: str) -> list[dict[str, Any]]:
        async with self.db.read() as session:
            await self.get_index(session, actor, index_id)
            rows = (
                (
                    await session.execute(
                        select(KnowledgeDocument)
                        .where(KnowledgeDocument.index_id == index_id)
                        .order_by(KnowledgeDocument.filename)
                    )
                )
                .scalars()
                .all()
            )
        return [document_as_json(row) for row in rows]

    async def delete_document(self, actor: Actor, index_id: str, document_id: str) -> None:
        async with self.db.read() as session:
            index, _ = await self.get_index(session, actor, index_id, "manage")
            document = await session.get(KnowledgeDocument, document_id)
        if document is None or document.index_id != index_id:
            raise NotFound("document not found in this index", code="not_found", resource="document")
        # Chunks first: a document row without chunks can be deleted again; chunks without
        # a row could never be found to delete.
        await (await self.backends.get(index)).delete_document(
            document_id, version=document.content_hash[:12], count=document.chunk_count
        )
        async with self.db.write() as session:
            row = await session.get(KnowledgeDocument, document_id)
            if row is not None:
                await session.delete(row)
            await audit(
                session,
                actor=actor.username,
                action="knowledge.document.deleted",
                resource_type="knowledge_document",
                resource_id=document_id,
                detail={"index_id": index_id, "filename": document.filename},
            )

    async def read_passage(self, actor: Actor, document_id: str, chunk_id: str) -> dict[str, Any]:
        """One passage of a document, for whoever may read it (a source link in the chat).

        Access is decided again, as for a search: the caller must be allowed to read the
        index, and every label of the passage; otherwise (and for unknown ids) 404, so a
        link never tells whether a passage exists."""
        async with self.db.read() as session:
            document = await session.get(KnowledgeDocument, document_id)
            if document is None:
                raise NotFound("passage not found", code="not_found", resource="passage")
            index = await session.get(KnowledgeIndex, document.index_id)
            if index is None:
                raise NotFound("passage not found", code="not_found", resource="passage")
            view = await self.view(session, index)
            if not self.authz.is_allowed(actor, "read", view):
                raise NotFound("passage not found", code="not_found", resource="passage")
        hit = await (await self.backends.get(index)).passage(chunk_id)
        if hit is None or hit.document_id != document_id:
            raise NotFound("passage not found", code="not_found", resource="passage")
        if not set(hit.labels) <= self.authz.readable_labels(actor, view, hit.labels):
            raise NotFound("passage not found", code="not_found", resource="passage")
        return {
            "index_id": index.id,
            "index": index.name,
            "document_id": document_id,
            "chunk_id": hit.chunk_id,
            "source": hit.source or document.filename,
            "page": hit.page,
            "section": hit.section,
            "text": hit.text,
        }

    # -- search -----------------------------------------------------------------------
    async def search(
        self,
        actor: Actor,
        index_id: str,
        query: str,
        k: int = 5,
        *,
        labels: Iterable[str] | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]:
        """The caller's search (the studio's test panel): only passages they may read."""
        async with self.db.read() as session:
            index, view = await self.get_index(session, actor, index_id)
        return await self._search(actor, index, view, query, k, labels=labels, mode=mode)

    async def _search(
        self,
        actor: Actor,
        index: KnowledgeIndex,
        view: resources.KnowledgeIndex,
        query: str,
        k: int,
        *,
        labels: Iterable[str] | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]:
        if not query.strip():
            raise BadRequest("the search query is empty", code="empty_query")
        if not 1 <= k <= MAX_K:
            raise BadRequest(f"k must be between 1 and {MAX_K}, not {k}", code="invalid_k", max_k=MAX_K, k=k)
        if mode not in ("hybrid", "dense", "lexical"):
            raise BadRequest(
                f"unknown search mode '{mode}'; choose hybrid, dense or lexical",
                code="invalid_search_mode",
                mode=mode,
            )
        readable = self.authz.readable_labels(actor, view)
        backend = await self.backends.get(index)
        wanted = None if labels is None else parse_labels(list(labels))
        return await backend.search(
            query, k, readable, require_any=wanted, mode=mode, known_labelsets=await self._labelsets(index)
        )

    async def _labelsets(self, index: KnowledgeIndex) -> list[tuple[str, ...]]:
        """Every combination of labels a passage of `index` carries (index + document labels)."""
        async with self.db.read() as session:
            rows = await session.execute(
                select(KnowledgeDocument.labels).where(KnowledgeDocument.index_id == index.id)
            )
            found = {tuple(sorted(set(index.labels or []) | set(labels or []))) for (labels,) in rows}
        return sorted(found | {tuple(sorted(set(index.labels or [])))})

    async def retrieve(self, request: RetrievalRequest) -> list[Passage]:
        """The `retrieval` node's search, on behalf of whoever started the run."""
        await self.ensure_started()
        async with self.db.read() as session:
            caller_id, workspace_id = request.caller_id, request.workspace_id
            if caller_id is None or workspace_id is None:  # an engine that does not say: ask the run
                run = await session.get(Run, request.run_id)
                if run is None:
                    raise NodeError(
                        f"run {request.run_id} is not known to this runtime",
                        code="run_unknown",
                        run=request.run_id,
                    )
                caller_id, workspace_id = run.started_by, run.workspace_id
            if caller_id is None:
                raise NodeError(
                    "knowledge is searched on behalf of a person, and this run has no caller",
                    code="no_caller",
                )
            actor = await load_actor(session, caller_id)
            if actor is None:
                raise NodeError(
                    "the person who started this run no longer exists or is inactive", code="caller_gone"
                )
            query = select(KnowledgeIndex).where(KnowledgeIndex.workspace_id == workspace_id)
            indexes = (await session.execute(query)).scalars().all()
            visible = {index.name: (index, await self.view(session, index)) for index in indexes}
            visible = {
                name: pair for name, pair in visible.items() if self.authz.is_allowed(actor, "read", pair[1])
            }
        if request.index not in visible:
            names = ", ".join(sorted(visible)) or "none"
            raise NodeError(
                f"no knowledge index named '{request.index}' that this caller may read in the "
                f"flow's workspace (available: {names})",
                field="index",
                code="knowledge_index_unknown",
                index=request.index,
                available=names,
            )
        index, view = visible[request.index]
        try:
            hits = await self._search(actor, index, view, request.query, request.k, labels=request.labels)
        except BadRequest as error:
            raise NodeError(error.message, code=error.code, **error.extra) from None
        except DirigentError as error:  # the backend (model, store, Marqo) is not available
            raise ServiceUnavailable(
                f"knowledge index '{request.index}': {error.message}",
                code="knowledge_index_failed",
                index=request.index,
                detail=error.message,
            ) from None
        return [
            Passage(
                text=hit.text,
                source=hit.source,
                page=hit.page,
                section=hit.section,
                score=hit.score,
                chunk_id=hit.chunk_id,
                document_id=hit.document_id,
            )
            for hit in hits
            if hit.score >= request.min_score
        ]
