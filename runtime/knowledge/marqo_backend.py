"""The Marqo backend: chunks live in a Marqo index, embedded and searched by Marqo.

Reached through the `marqo` client (3.18), which is synchronous (requests), so every
call runs in a worker thread. The client is passed in, with its timeout set, so tests
point it at a local test double of Marqo's REST API.

One Marqo index per knowledge index (`dirigent-<index id>`), unstructured, with the
index's model; each chunk is one Marqo document:

    {"_id": "<document id>:<version>:<ordinal>", "text": ..., "document_id": ...,
     "source": ..., "page": ..., "section": ..., "ordinal": ..., "labels": [...],
     "labelset": "hr-salaries,legal"}

Access filtering is a whitelist in Marqo's filter DSL: the caller may see the labelsets
all of whose labels they may read, so the filter is `labelset:(a) OR labelset:(b,c)`,
every value escaped. A labelset nobody listed is never matched (fails closed).

Replacing a document adds the new version's chunks first (batches of at most 128,
checking every item), and only then deletes the old version's; if any chunk is refused,
the new ones are deleted again and the old version stays, so nothing is half-indexed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from runtime.extras import needs_extra
from runtime.knowledge.backends import DocumentChunks, Progress, _report
from runtime.knowledge.errors import BackendUnavailable
from runtime.knowledge.store import RRF_K, Hit, canonical_labels, visible_labelsets

T = TypeVar("T")

BATCH_SIZE = 128
NO_LABELS = "_none"  # the labelset of unlabelled chunks; labels cannot start with "_"
# Characters with a meaning in Marqo's filter DSL (Lucene-like); escaped with a backslash.
_SPECIAL = re.compile(r'([\\+\-!(){}\[\]^"~*?:/&|\s])')
RETRIEVED = ["_id", "text", "document_id", "source", "page", "section", "labels"]


def marqo_client(url: str, *, timeout_s: float = 30.0, api_key: str | None = None) -> Any:
    """A `marqo.Client` for `url` with a request timeout (the client has none by default)."""
    with needs_extra("knowledge", "a Marqo index"):
        import marqo

    client = marqo.Client(url=url, api_key=api_key)
    client.config.timeout = timeout_s
    return client


def escape_filter_value(value: str) -> str:
    return _SPECIAL.sub(r"\\\1", value)


def labelset_key(labels: Iterable[str]) -> str:
    return ",".join(canonical_labels(labels)) or NO_LABELS


def filter_string(allowed: Iterable[tuple[str, ...]]) -> str | None:
    """`labelset:(…) OR …` for the allowed labelsets; None when nothing is allowed."""
    terms = sorted({f"labelset:({escape_filter_value(labelset_key(labels))})" for labels in allowed})
    return " OR ".join(terms) if terms else None


def marqo_index_name(index_id: str) -> str:
    return f"dirigent-{index_id}"


class MarqoBackend:
    def __init__(self, client: Any, index: Any) -> None:
        self.client = client
        self.index_id = index.id
        self.name = marqo_index_name(index.id)
        self.model = index.embedding_model
        self.url = str(getattr(client.config.instance_mapping, "_url", "Marqo"))

    async def _call(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with needs_extra("knowledge", "a Marqo index"):
            from marqo.errors import MarqoError, MarqoWebError
            from requests import RequestException

        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except (MarqoWebError, MarqoError, RequestException) as error:
            raise BackendUnavailable(_describe(what, self.url, error)) from None

    def _index(self) -> Any:
        return self.client.index(self.name)

    async def setup(self) -> None:
        """Create the Marqo index with this index's model and text settings."""
        with needs_extra("knowledge", "a Marqo index"):
            from marqo.models.marqo_index import TextPreProcessing

        await self._call(
            "create the index",
            self.client.create_index,
            self.name,
            type="unstructured",
            model=self.model,
            normalize_embeddings=True,
            filter_string_max_length=1024,
            # Dirigent chunks already; Marqo keeps each chunk whole as one vector.
            text_preprocessing=TextPreProcessing(splitLength=50, splitOverlap=0, splitMethod="sentence"),
        )

    async def replace_document(self, document: DocumentChunks, progress: Progress | None = None) -> int:
        labels = list(canonical_labels(document.labels))
        docs = []
        for chunk in document.chunks:
            doc: dict[str, Any] = {
                "_id": f"{document.document_id}:{document.version}:{chunk.ordinal}",
                "text": chunk.text,
                "document_id": document.document_id,
                "source": document.source,
                "ordinal": chunk.ordinal,
                "labels": labels,
                "labelset": labelset_key(labels),
            }
            if chunk.page is not None:
                doc["page"] = chunk.page
            if chunk.section:
                doc["section"] = chunk.section
            docs.append(doc)
        added: list[str] = []
        for start in range(0, len(docs), BATCH_SIZE):
            batch = docs[start : start + BATCH_SIZE]
            result = await self._call(
                "add documents", self._index().add_documents, batch, tensor_fields=["text"]
            )
            failed = [item for item in result.get("items", []) if int(item.get("status", 200)) >= 300]
            added += [item["_id"] for item in result.get("items", []) if int(item.get("status", 200)) < 300]
            if failed or result.get("errors"):
                if added:
                    await self._call("roll back added chunks", self._index().delete_documents, added)
                first = failed[0] if failed else {}
                raise BackendUnavailable(
                    f"Marqo refused {len(failed) or 'some'} of {len(batch)} passages of {document.source} "
                    f"({first.get('error') or first.get('message') or 'no reason given'}); "
                    "the document was left as it was"
                )
            await _report(progress, len(batch))
        if document.previous_version is not None and document.previous_version != document.version:
            old = [
                f"{document.document_id}:{document.previous_version}:{ordinal}"
                for ordinal in range(document.previous_count)
            ]
            for start in range(0, len(old), BATCH_SIZE):
                await self._call(
                    "delete old chunks", self._index().delete_documents, old[start : start + BATCH_SIZE]
                )
        return len(docs)

    async def delete_document(self, document_id: str, *, version: str | None = None, count: int = 0) -> None:
        if version is None:
            return
        ids = [f"{document_id}:{version}:{ordinal}" for ordinal in range(count)]
        for start in range(0, len(ids), BATCH_SIZE):
            await self._call("delete chunks", self._index().delete_documents, ids[start : start + BATCH_SIZE])

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
        """`known_labelsets`: the label combinations that occur in the index (the service
        reads them from the database); chunks with any other labelset never match."""
        numbered = dict(enumerate(canonical_labels(labels) for labels in known_labelsets))
        allowed = [numbered[i] for i in visible_labelsets(numbered, readable, require_any)]
        condition = filter_string(allowed)
        if condition is None:
            return []
        method = {"hybrid": "HYBRID", "dense": "TENSOR", "lexical": "LEXICAL"}[mode]
        extra: dict[str, Any] = {}
        if method == "HYBRID":
            extra["hybrid_parameters"] = {
                "retrievalMethod": "disjunction",
                "rankingMethod": "rrf",
                "alpha": 0.5,
                "rrfK": RRF_K,
                "searchableAttributesLexical": ["text"],
                "searchableAttributesTensor": ["text"],
            }
        result = await self._call(
            "search",
            self._index().search,
            q=query,
            limit=k,
            search_method=method,
            filter_string=condition,
            attributes_to_retrieve=RETRIEVED,
            show_highlights=False,
            **extra,
        )
        hits = []
        for item in result.get("hits", []):
            score = float(item.get("_score", 0.0))
            hits.append(
                Hit(
                    chunk_id=str(item["_id"]),
                    document_id=str(item.get("document_id", "")),
                    text=str(item.get("text", "")),
                    source=str(item.get("source", "")),
                    page=item.get("page"),
                    section=item.get("section"),
                    labels=list(item.get("labels") or []),
                    score=min(1.0, score * (RRF_K + 1)) if method == "HYBRID" else score,
                    similarity=score if method == "TENSOR" else None,
                )
            )
        return hits

    async def passage(self, chunk_id: str) -> Hit | None:
        with needs_extra("knowledge", "a Marqo index"):
            from marqo.errors import MarqoWebError

        try:
            item = await asyncio.to_thread(self._index().get_document, chunk_id)
        except MarqoWebError as error:
            if (
                getattr(error, "status_code", None) == 404
                or getattr(error, "code", None) == "document_not_found"
            ):
                return None
            raise BackendUnavailable(_describe("read a passage", self.url, error)) from None
        except Exception as error:
            raise BackendUnavailable(_describe("read a passage", self.url, error)) from None
        return Hit(
            chunk_id=str(item.get("_id", chunk_id)),
            document_id=str(item.get("document_id", "")),
            text=str(item.get("text", "")),
            source=str(item.get("source", "")),
            page=item.get("page"),
            section=item.get("section"),
            labels=list(item.get("labels") or []),
            score=1.0,
        )

    async def stats(self) -> dict[str, Any]:
        stats = await self._call("read the statistics", self._index().get_stats)
        return {
            "backend": "marqo",
            "model": self.model,
            "index": self.name,
            "chunks": stats.get("numberOfDocuments"),
            "vectors": stats.get("numberOfVectors"),
        }

    async def flush(self) -> None:
        return None

    async def drop(self) -> None:
        await self._call("delete the index", self.client.delete_index, self.name)

    async def close(self) -> None:
        return None


def _describe(what: str, url: str, error: Exception) -> str:
    with needs_extra("knowledge", "a Marqo index"):
        from marqo.errors import BackendCommunicationError, BackendTimeoutError, MarqoWebError

    if isinstance(error, BackendTimeoutError):
        reason = "it did not answer in time"
    elif isinstance(error, BackendCommunicationError):
        reason = "it cannot be reached"
    elif isinstance(error, MarqoWebError):
        code = getattr(error, "code", None) or getattr(error, "status_code", None)
        reason = f"it answered with an error ({code}: {str(getattr(error, 'message', error))[:200]})"
    else:
        reason = f"the request failed ({type(error).__name__}: {str(error)[:200]})"
    return f"could not {what} in Marqo at {url}: {reason}"
