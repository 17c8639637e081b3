"""The embedded store: one directory per index, no server.

    <dir>/chunks.sqlite   chunks (text, source, page, section, labels, vector) and an
                          FTS5 lexical index over their text — the source of truth
    <dir>/vectors.faiss   a faiss HNSW graph over the vectors — a cache, rebuilt or
                          caught up from chunks.sqlite whenever it is missing or behind

Every chunk has a *position*: its row in the vector index, handed out in order and never
reused. Replacing or deleting a document deletes its rows in one SQLite transaction and
leaves their vectors in the graph as tombstones that no search can return (they are
never in the allowed set); `compact()` rebuilds the graph when they pile up. So a crash
at any moment leaves a consistent store: what SQLite committed is what search sees.

Access filtering happens inside both searches. A chunk's labels are stored as a
*labelset* id; a caller may see a chunk when every label of its labelset is readable to
them. The dense search passes faiss a bitmap of the allowed positions (HNSW skips the
rest while it walks the graph, so k results come back however many are hidden), or,
when few positions are allowed, scans exactly those; the lexical search (BM25 from the
FTS5 index's postings, `bm25.py`) drops the hidden chunks from each phrase's postings
before anything is ranked. Results of the two are fused by reciprocal rank (RRF).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runtime.knowledge.bm25 import Bm25, LexicalResult
from runtime.private_files import private_directory, private_file, private_sqlite

RRF_K = 60
# Below this many allowed vectors an exact scan is about as fast as the graph, and exact.
EXACT_SCAN_BELOW = 20_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
# Rebuild the graph when this share of its vectors are tombstones.
COMPACT_TOMBSTONE_SHARE = 0.3
# The write-ahead log may grow to this between checkpoints while a job writes.
WAL_KEEP_BYTES = 16 * 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS labelsets (id INTEGER PRIMARY KEY, labels TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS chunks (
    pos INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    document_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    page INTEGER,
    section TEXT,
    labelset INTEGER NOT NULL REFERENCES labelsets(id),
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='pos', tokenize='unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab(chunks_fts, 'row');
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab_instance USING fts5vocab(chunks_fts, 'instance');
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.pos, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.pos, old.text);
END;
"""


@dataclass(frozen=True)
class StoredChunk:
    """A chunk to store: its text and where it is from."""

    ordinal: int
    text: str
    page: int | None = None
    section: str | None = None


@dataclass
class Hit:
    chunk_id: str
    document_id: str
    text: str
    source: str
    page: int | None
    section: str | None
    labels: list[str]
    score: float
    similarity: float | None = None
    ranks: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "document_id": self.document_id,
            "text": self.text,
            "source": self.source,
            "page": self.page,
            "section": self.section,
            "labels": self.labels,
            "score": round(self.score, 6),
            "similarity": None if self.similarity is None else round(self.similarity, 6),
            "ranks": self.ranks,
        }


def canonical_labels(labels: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({label for label in labels if label}))


def visible_labelsets(
    labelsets: dict[int, tuple[str, ...]], readable: Iterable[str], require_any: Iterable[str] | None = None
) -> list[int]:
    """Ids of the labelsets a caller may see: every label readable (and, with
    `require_any`, at least one of those labels present)."""
    readable_set = set(readable)
    wanted = None if require_any is None else set(require_any)
    return sorted(
        labelset_id
        for labelset_id, labels in labelsets.items()
        if set(labels) <= readable_set and (wanted is None or wanted & set(labels))
    )


class EmbeddedStore:
    """Chunks, vectors and both indexes of one knowledge index, in one directory."""

    def __init__(self, directory: Path, dimension: int) -> None:
        self.directory = private_directory(directory)  # passages may be restricted: 0700
        self.dimension = dimension
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            private_sqlite(self.directory / "chunks.sqlite"), check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # After SQLite's own checkpoints, the log is cut back to this (it never shrinks else).
        self._db.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
        self._db.executescript(_SCHEMA)
        stored = self._meta("dimension")
        if stored is None:
            self._set_meta("dimension", str(dimension))
        elif int(stored) != dimension:
            raise ValueError(
                f"the store at {self.directory} holds {stored}-dimensional vectors, "
                f"not {dimension}; an index keeps the embedding model it was created with"
            )
        self._labelsets: dict[int, tuple[str, ...]] = {
            row[0]: tuple(json.loads(row[1])) for row in self._db.execute("SELECT id, labels FROM labelsets")
        }
        # labelset id per position; -1 marks a tombstone (deleted chunk, or never written).
        self._position_labelset = np.full(0, -1, dtype=np.int32)
        self._allowed_cache: dict[tuple[int, ...], tuple[int, np.ndarray, np.ndarray]] = {}
        self._generation = 0
        self._index: Any = None
        self._lexical = Bm25(self._db)
        self._load_vectors()

    # -- metadata ---------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _next_position(self) -> int:
        return int(self._meta("next_pos") or 0)

    def _labelset_id(self, labels: tuple[str, ...]) -> int:
        for labelset_id, known in self._labelsets.items():
            if known == labels:
                return labelset_id
        cursor = self._db.execute("INSERT INTO labelsets(labels) VALUES (?)", (json.dumps(list(labels)),))
        labelset_id = int(cursor.lastrowid or 0)
        self._labelsets[labelset_id] = labels
        return labelset_id

    # -- the vector index -------------------------------------------------------------
    def _new_index(self) -> Any:
        import faiss

        index = faiss.IndexHNSWFlat(self.dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        return index

    def _load_vectors(self) -> None:
        """Load the graph and catch it up with SQLite (or rebuild it if unreadable)."""
        import faiss

        path = self.directory / "vectors.faiss"
        index = None
        if path.exists():
            try:
                index = faiss.read_index(str(path))
                if index.d != self.dimension or index.ntotal > self._next_position():
                    index = None  # from another store, or ahead of SQLite: do not trust it
            except RuntimeError:
                index = None
        self._index = index if index is not None else self._new_index()
        next_pos = self._next_position()
        labelsets = np.full(next_pos, -1, dtype=np.int32)
        for pos, labelset in self._db.execute("SELECT pos, labelset FROM chunks"):
            labelsets[pos] = labelset
        self._position_labelset = labelsets
        self._add_stored_vectors(self._index.ntotal, next_pos)

    def _add_stored_vectors(self, start: int, end: int) -> None:
        """Add positions [start, end) from SQLite to the graph; deleted ones as zero vectors."""
        step = 4096
        for first in range(start, end, step):
            last = min(first + step, end)
            block = np.zeros((last - first, self.dimension), dtype=np.float32)
            for pos, blob in self._db.execute(
                "SELECT pos, vector FROM chunks WHERE pos >= ? AND pos < ?", (first, last)
            ):
                block[pos - first] = np.frombuffer(blob, dtype=np.float32)
            self._index.add(block)

    def _stored_vectors(self) -> np.ndarray:
        """The graph's vectors as a read-only view (no copy), for exact scans."""
        import faiss

        storage: Any = faiss.downcast_index(self._index.storage)
        count = self._index.ntotal
        if count == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        flat = faiss.rev_swig_ptr(storage.get_xb(), count * self.dimension)
        return np.asarray(flat).reshape(count, self.dimension)

    def checkpoint(self, *, above_bytes: int = 0) -> None:
        """Move the write-ahead log into the database file and cut the log to zero bytes
        (only if it is larger than `above_bytes`).

        SQLite checkpoints on its own every 1,000 pages, but it never shrinks the log,
        which keeps the size of the largest transaction it ever held (one document's,
        bounded by `max_document_bytes`, limits.py). Called after each batch of documents
        with `WAL_KEEP_BYTES` — a checkpoint costs two fsyncs (~15 ms), too much for every
        small file — and at the end of each job without.
        """
        wal = self.directory / "chunks.sqlite-wal"
        with self._lock:
            if above_bytes and (not wal.exists() or wal.stat().st_size <= above_bytes):
                return
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def save(self) -> None:
        """Write the graph to disk (atomically); SQLite is always current."""
        import faiss

        with self._lock:
            target = self.directory / "vectors.faiss"
            partial = target.with_suffix(".faiss.partial")
            private_file(partial)
            faiss.write_index(self._index, str(partial))
            partial.replace(target)

    # -- writing ----------------------------------------------------------------------
    def replace_document(
        self,
        document_id: str,
        source: str,
        chunks: Sequence[StoredChunk],
        vectors: np.ndarray,
        labels: Iterable[str],
        *,
        version: str = "",
    ) -> int:
        """Store `chunks` as the whole content of `document_id`, in one transaction."""
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(chunks), self.dimension)
        with self._lock:
            start = self._next_position()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                removed = self._delete_rows(document_id)
                labelset = self._labelset_id(canonical_labels(labels))
                self._db.executemany(
                    "INSERT INTO chunks(pos, chunk_id, document_id, ordinal, text, source, page, section, "
                    "labelset, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            start + i,
                            f"{document_id}:{version}{chunk.ordinal}",
                            document_id,
                            chunk.ordinal,
                            chunk.text,
                            source,
                            chunk.page,
                            chunk.section,
                            labelset,
                            vectors[i].tobytes(),
                        )
                        for i, chunk in enumerate(chunks)
                    ],
                )
                self._set_meta("next_pos", str(start + len(chunks)))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._labelsets = {
                    row[0]: tuple(json.loads(row[1]))
                    for row in self._db.execute("SELECT id, labels FROM labelsets")
                }
                raise
            self._index.add(vectors)
            grown = np.full(start + len(chunks), -1, dtype=np.int32)
            grown[: len(self._position_labelset)] = self._position_labelset
            grown[start:] = labelset
            for pos in removed:
                grown[pos] = -1
            self._position_labelset = grown
            self._generation += 1
            self._lexical.changed(len(chunks) + len(removed))
        return len(chunks)

    def _delete_rows(self, document_id: str) -> list[int]:
        positions = [
            row[0] for row in self._db.execute("SELECT pos FROM chunks WHERE document_id = ?", (document_id,))
        ]
        self._db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        return positions

    def delete_document(self, document_id: str) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                removed = self._delete_rows(document_id)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._position_labelset[removed] = -1
            self._generation += 1
            self._lexical.changed(len(removed))
        return len(removed)

    def compact(self) -> None:
        """Rebuild the graph without tombstones (positions are renumbered)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = self._db.execute("SELECT pos FROM chunks ORDER BY pos").fetchall()
                # Two steps, so that no new position collides with an old one on the way.
                offset = self._next_position()
                self._db.execute("UPDATE chunks SET pos = pos + ?", (offset,))
                for new, (old,) in enumerate(rows):
                    self._db.execute("UPDATE chunks SET pos = ? WHERE pos = ?", (new, old + offset))
                self._db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')")
                self._set_meta("next_pos", str(len(rows)))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._index = self._new_index()
            self._load_vectors()
            self._lexical.reset()
            self._generation += 1
            self.save()

    def tombstone_share(self) -> float:
        total = len(self._position_labelset)
        return 0.0 if total == 0 else float(np.count_nonzero(self._position_labelset < 0)) / total

    # -- reading ----------------------------------------------------------------------
    def allowed_labelsets(
        self, readable: Iterable[str], require_any: Iterable[str] | None = None
    ) -> list[int]:
        """Labelsets all of whose labels are readable (the unlabelled one always is);
        with `require_any`, only those that also carry one of its labels."""
        return visible_labelsets(self._labelsets, readable, require_any)

    def labels(self) -> set[str]:
        return {label for labels in self._labelsets.values() for label in labels}

    def _allowed_positions(self, labelsets: list[int]) -> tuple[int, np.ndarray, np.ndarray]:
        """(count, bitmap for faiss, positions) of live chunks in `labelsets`; cached."""
        key = tuple(labelsets)
        cached = self._allowed_cache.get(key)
        if cached is not None and cached[0] == self._generation:
            return cached
        mask = np.isin(self._position_labelset, np.asarray(labelsets, dtype=np.int32))
        mask = mask[: self._index.ntotal]
        positions = np.flatnonzero(mask)
        bitmap = np.packbits(mask, bitorder="little")
        if len(self._allowed_cache) > 64:
            self._allowed_cache.clear()
        entry = (self._generation, bitmap, positions)
        self._allowed_cache[key] = entry
        return entry

    def dense_search(
        self,
        vector: np.ndarray,
        k: int,
        labelsets: list[int],
        *,
        ef_search: int | None = None,
        exact: bool = False,
    ) -> list[tuple[int, float]]:
        """(position, cosine similarity) of the k nearest allowed chunks, best first."""
        import faiss

        with self._lock:
            if not labelsets or self._index.ntotal == 0:
                return []
            _, bitmap, positions = self._allowed_positions(labelsets)
            if len(positions) == 0:
                return []
            query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, self.dimension)
            selector = faiss.IDSelectorBitmap(len(bitmap) * 8, faiss.swig_ptr(bitmap))
            if exact or len(positions) <= EXACT_SCAN_BELOW:
                # faiss's flat scan with the bitmap: single-threaded SIMD, no BLAS thread pool
                # (numpy's matrix-vector product was 10-50x slower on a busy 2-core machine).
                flat: Any = faiss.downcast_index(self._index.storage)
                scores, ids = flat.search(query, k, params=faiss.SearchParameters(sel=selector))  # type: ignore[call-arg]
            else:
                # The graph holds hidden chunks too: look further when more of them are hidden.
                share = len(positions) / self._index.ntotal
                ef = ef_search or int(min(1024, max(64, 2 * k) / max(share, 0.05) ** 0.5))
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=ef)  # type: ignore[attr-defined]
                scores, ids = self._index.search(query, k, params=params)
            found = zip(ids[0], scores[0], strict=True)
            return [(int(pos), float(score)) for pos, score in found if pos >= 0]

    def lexical_search(self, text: str, k: int, labelsets: list[int]) -> list[tuple[int, float]]:
        """(position, BM25) of the k best lexical matches among allowed chunks, best first."""
        return self.lexical_plan(text, k, labelsets).hits

    def lexical_plan(self, text: str, k: int, labelsets: list[int]) -> LexicalResult:
        """`lexical_search` with how it went: phrases read, postings, exactness (bm25.py)."""
        if not labelsets:
            return LexicalResult([])
        with self._lock:
            allowed = np.zeros(max(self._labelsets, default=0) + 2, dtype=bool)
            allowed[labelsets] = True  # the last entry stays False: position_labelset -1
            position_labelset = self._position_labelset

            def visible(positions: np.ndarray) -> np.ndarray:  # positions ascending
                if len(positions) == 0 or positions[-1] < len(position_labelset):
                    return allowed[position_labelset[positions]]
                seen = np.zeros(len(positions), dtype=bool)
                known = positions < len(position_labelset)
                seen[known] = allowed[position_labelset[positions[known]]]
                return seen

            return self._lexical.search(text, k, visible)

    def search(
        self,
        text: str,
        vector: np.ndarray | None,
        k: int,
        readable: Iterable[str],
        *,
        mode: str = "hybrid",
        depth: int | None = None,
        require_any: Iterable[str] | None = None,
    ) -> list[Hit]:
        """The k best chunks the caller may read, fused by reciprocal rank.

        `score` is the RRF score scaled to 0..1 (1 = first in every list searched).
        """
        labelsets = self.allowed_labelsets(readable, require_any)
        depth = depth or max(4 * k, 20)
        lists: dict[str, list[tuple[int, float]]] = {}
        if mode in ("hybrid", "dense") and vector is not None:
            lists["dense"] = self.dense_search(vector, depth, labelsets)
        if mode in ("hybrid", "lexical"):
            lists["lexical"] = self.lexical_search(text, depth, labelsets)
        fused: dict[int, float] = {}
        ranks: dict[int, dict[str, int]] = {}
        similarity: dict[int, float] = {}
        for name, results in lists.items():
            for rank, (pos, score) in enumerate(results, start=1):
                fused[pos] = fused.get(pos, 0.0) + 1.0 / (RRF_K + rank)
                ranks.setdefault(pos, {})[name] = rank
                if name == "dense":
                    similarity[pos] = score
        if not fused:
            return []
        best = max(len(lists), 1) / (RRF_K + 1)
        chosen = sorted(fused, key=lambda pos: (-fused[pos], pos))[:k]
        hits = []
        for pos, row in zip(chosen, self._rows(chosen), strict=True):
            if row is None:  # deleted between the index search and this read
                continue
            hits.append(
                Hit(
                    chunk_id=row[0],
                    document_id=row[1],
                    text=row[2],
                    source=row[3],
                    page=row[4],
                    section=row[5],
                    labels=list(self._labelsets.get(row[6], ())),
                    score=fused[pos] / best,
                    similarity=similarity.get(pos),
                    ranks=ranks[pos],
                )
            )
        return hits

    def _rows(self, positions: list[int]) -> list[tuple[Any, ...] | None]:
        if not positions:
            return []
        marks = ",".join("?" * len(positions))
        with self._lock:
            rows = self._db.execute(
                f"SELECT pos, chunk_id, document_id, text, source, page, section, labelset FROM chunks "
                f"WHERE pos IN ({marks})",
                positions,
            ).fetchall()
        by_pos = {row[0]: tuple(row[1:]) for row in rows}
        return [by_pos.get(pos) for pos in positions]

    def passage(self, chunk_id: str) -> Hit | None:
        """One stored chunk by its id (score 1.0: it was asked for by name), or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT chunk_id, document_id, text, source, page, section, labelset FROM chunks "
                "WHERE chunk_id = ?",
                (chunk_id,),
            ).fetchone()
        if row is None:
            return None
        return Hit(
            chunk_id=row[0],
            document_id=row[1],
            text=row[2],
            source=row[3],
            page=row[4],
            section=row[5],
            labels=list(self._labelsets.get(row[6], ())),
            score=1.0,
        )

    def stats(self) -> dict[str, Any]:
        with self._lock:
            chunks, documents = self._db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT document_id) FROM chunks"
            ).fetchone()
        return {
            "chunks": int(chunks),
            "documents": int(documents),
            "vectors": int(self._index.ntotal),
            "tombstones": int(np.count_nonzero(self._position_labelset < 0)),
        }

    def document_chunks(self, document_id: str) -> int:
        with self._lock:
            return int(
                self._db.execute(
                    "SELECT COUNT(*) FROM chunks WHERE document_id = ?", (document_id,)
                ).fetchone()[0]
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
