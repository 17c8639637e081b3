"""Index backends: where an index's chunks live and how they are searched.

    Backend (protocol)
    ├── EmbeddedBackend   the default: an `EmbeddedStore` directory + a local embedding model
    └── MarqoBackend      a Marqo server (runtime/knowledge/marqo_backend.py)

A backend receives a document's chunks and its effective labels (the index's labels
plus the document's own) and replaces whatever it held for that document in one step.
A search gets the caller's readable labels and returns only passages all of whose labels
are among them; `require_any` narrows further to passages that carry one of those labels.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from runtime.knowledge.chunking import Chunk
from runtime.knowledge.embedding import EmbeddingModel, encode, load_model
from runtime.knowledge.store import WAL_KEEP_BYTES, EmbeddedStore, Hit, StoredChunk

Progress = Callable[[int], Awaitable[None] | None]

EMBED_BATCH = 64


@dataclass(frozen=True)
class DocumentChunks:
    document_id: str
    source: str
    version: str  # short content hash: chunk ids change when the content does
    chunks: list[Chunk]
    labels: tuple[str, ...]
    # The version this one replaces (backends that cannot delete by document use it).
    previous_version: str | None = None
    previous_count: int = 0


class Backend(Protocol):
    async def setup(self) -> None: ...
    async def replace_document(self, document: DocumentChunks, progress: Progress | None = None) -> int: ...
    async def delete_document(
        self, document_id: str, *, version: str | None = None, count: int = 0
    ) -> None: ...
    async def search(
        self,
        query: str,
        k: int,
        readable: Iterable[str],
        *,
        require_any: Iterable[str] | None = None,
        mode: str = "hybrid",
        known_labelsets: Iterable[tuple[str, ...]] = (),
    ) -> list[Hit]: ...
    async def passage(self, chunk_id: str) -> Hit | None:
        """One chunk by id, with its labels (the caller checks them), or None."""
        ...

    async def stats(self) -> dict[str, Any]: ...
    async def flush(self) -> None: ...
    async def drop(self) -> None: ...
    async def close(self) -> None: ...


async def replace_documents(
    backend: Backend, documents: list[DocumentChunks], progress: Progress | None = None
) -> list[int | Exception]:
    """Replace several documents; per document the chunk count, or why it failed.

    Backends that embed locally do it for all documents at once (`replace_documents`),
    so many small files make full model batches; the others go one by one.
    """
    together = getattr(backend, "replace_documents", None)
    if together is not None:
        return await together(documents, progress)  # type: ignore[no-any-return]
    results: list[int | Exception] = []
    for document in documents:
        try:
            results.append(await backend.replace_document(document, progress))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            results.append(error)
    return results


async def _report(progress: Progress | None, count: int) -> None:
    if progress is not None:
        result = progress(count)
        if result is not None:
            await result


class EmbeddedBackend:
    """Embeds with a local model (in a worker thread) and stores in an `EmbeddedStore`."""

    def __init__(self, directory: Path, model: EmbeddingModel) -> None:
        self.directory = directory
        self.model = model
        self.store = EmbeddedStore(directory, model.dimension)

    async def replace_documents(
        self, documents: list[DocumentChunks], progress: Progress | None = None
    ) -> list[int | Exception]:
        """Embed the chunks of all `documents` in shared batches, then store each one."""
        import numpy as np

        texts = [chunk.text for document in documents for chunk in document.chunks]
        vectors = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start : start + EMBED_BATCH]
            vectors.append(await encode(self.model, batch))
            await _report(progress, len(batch))
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, self.model.dimension), np.float32)

        def store_all() -> list[int | Exception]:
            results: list[int | Exception] = []
            offset = 0
            for document in documents:
                part = matrix[offset : offset + len(document.chunks)]
                offset += len(document.chunks)
                stored = [StoredChunk(c.ordinal, c.text, c.page, c.section) for c in document.chunks]
                try:
                    results.append(
                        self.store.replace_document(
                            document.document_id,
                            document.source,
                            stored,
                            part,
                            document.labels,
                            version=f"{document.version}:",
                        )
                    )
                except Exception as error:  # this document stays as it was; the others go on
                    results.append(error)
            self.store.checkpoint(above_bytes=WAL_KEEP_BYTES)
            return results

        return await asyncio.to_thread(store_all)

    async def replace_document(self, document: DocumentChunks, progress: Progress | None = None) -> int:
        texts = [chunk.text for chunk in document.chunks]
        vectors = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start : start + EMBED_BATCH]
            vectors.append(await encode(self.model, batch))
            await _report(progress, len(batch))
        import numpy as np

        matrix = np.concatenate(vectors) if vectors else np.zeros((0, self.model.dimension), np.float32)
        stored = [StoredChunk(c.ordinal, c.text, c.page, c.section) for c in document.chunks]

        # Everything is embedded before anything is written: a failure leaves the old content.
        def store() -> int:
            try:
                return self.store.replace_document(
                    document.document_id,
                    document.source,
                    stored,
                    matrix,
                    document.labels,
                    version=f"{document.version}:",
                )
            finally:
                self.store.checkpoint(above_bytes=WAL_KEEP_BYTES)

        return await asyncio.to_thread(store)

    async def setup(self) -> None:
        return None

    async def delete_document(self, document_id: str, *, version: str | None = None, count: int = 0) -> None:
        def delete() -> None:
            self.store.delete_document(document_id)
            self.store.checkpoint()

        await asyncio.to_thread(delete)

    async def search(
        self,
        query: str,
        k: int,
        readable: Iterable[str],
        *,
        require_any: Iterable[str] | None = None,
        mode: str = "hybrid",
        known_labelsets: Iterable[tuple[str, ...]] = (),
    ) -> list[Hit]:
        # The store knows its labelsets itself; `known_labelsets` is for remote backends.
        vector = None
        if mode != "lexical":
            vector = (await encode(self.model, [query]))[0]
        return await asyncio.to_thread(
            self.store.search, query, vector, k, set(readable), mode=mode, require_any=require_any
        )

    async def passage(self, chunk_id: str) -> Hit | None:
        return await asyncio.to_thread(self.store.passage, chunk_id)

    async def stats(self) -> dict[str, Any]:
        return {"backend": "embedded", "model": self.model.name, **self.store.stats()}

    async def flush(self) -> None:
        def save() -> None:
            from runtime.knowledge.store import COMPACT_TOMBSTONE_SHARE

            if self.store.tombstone_share() > COMPACT_TOMBSTONE_SHARE:
                self.store.compact()
            else:
                self.store.save()
            self.store.checkpoint()

        await asyncio.to_thread(save)

    async def drop(self) -> None:
        import shutil

        await self.close()
        await asyncio.to_thread(shutil.rmtree, self.directory, True)

    async def close(self) -> None:
        self.store.close()


ModelLoader = Callable[[str], EmbeddingModel]


class Backends:
    """The open backends of this process, one per index, opened on first use."""

    def __init__(
        self,
        root: Path,
        *,
        model_loader: ModelLoader | None = None,
        marqo_factory: Callable[[Any], Backend] | None = None,
    ) -> None:
        self.root = Path(root)
        self.model_loader: ModelLoader = model_loader or load_model
        self.marqo_factory = marqo_factory
        self._open: dict[str, Backend] = {}
        self._lock = asyncio.Lock()

    async def get(self, index: Any) -> Backend:
        """The backend of `index` (an ORM `KnowledgeIndex`)."""
        backend = self._open.get(index.id)
        if backend is not None:
            return backend
        async with self._lock:
            if index.id not in self._open:
                self._open[index.id] = await self._build(index)
            return self._open[index.id]

    async def _build(self, index: Any) -> Backend:
        if index.backend == "marqo":
            from runtime.knowledge.errors import BackendUnavailable

            if self.marqo_factory is None:
                raise BackendUnavailable(
                    "this index uses Marqo, but no Marqo server is configured; "
                    "set DIRIGENT_KNOWLEDGE_MARQO_URL"
                )
            return self.marqo_factory(index)
        model = await asyncio.to_thread(self.model_loader, index.embedding_model)
        directory = self.root / index.id
        return await asyncio.to_thread(EmbeddedBackend, directory, model)

    async def forget(self, index_id: str) -> Backend | None:
        async with self._lock:
            return self._open.pop(index_id, None)

    async def close(self) -> None:
        for backend in list(self._open.values()):
            await backend.flush()
            await backend.close()
        self._open.clear()
