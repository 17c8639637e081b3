"""BM25 over the FTS5 index's postings: the lexical ranking, rarest phrases first.

FTS5's own `bm25()` is exact but costly: before any LIMIT it counts the rows of every
phrase, then scores every matching row (a lookup of the row's length each), and each
row crosses into Python. An OR-query of a few words matches 10-50k of 100k chunks; that
took ~20 ms. Here the same scores come from cheaper steps:

1. Plan. The query words' document frequencies (counted once, cached) leave out the
   words in most chunks and decide which are prefixes (`lexical.lexical_phrases`); the
   phrases are then read rarest first: the highest IDF, the largest part of a score.
   Counting stops at the share that makes a word common, so a word in most chunks costs
   no more to rule out than one that just qualifies.
2. Postings. A phrase's postings come from fts5vocab 'instance' as one string (no Python
   object per row) and are scored in numpy with `bm25()`'s own formula and statistics
   (k1 1.2, b 0.75, its IDF, row count and average length, each row's length from the
   docsize table): the very numbers `bm25()` returns (the tests compare them).
3. Budget. Once POSTINGS_BUDGET postings are read *and* at least `depth` chunks the
   caller may see have matched, the remaining (most common) phrases are left out, as
   the commonest words already are; `LexicalResult.exact` says whether any was.
4. Memory. A phrase's scored postings stay in an LRU (SCORED_CACHE_BYTES) until the
   next write, so a repeated word costs no read (a phrase heavier than the whole LRU,
   over a million chunks, is scored every time).

Access filtering applies to the postings themselves, before any cut.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from cachetools import LRUCache

from runtime.knowledge import lexical
from runtime.knowledge.lexical import Phrase, fold, lexical_phrases, query_words

# FTS5's bm25() (fts5_aux.c): term saturation, length normalisation, the smallest IDF.
K1 = 1.2
B = 0.75
MIN_IDF = 1e-6
# Postings (chunks) read per query, rarest phrase first, before the remaining phrases
# are left out: a bound of a few milliseconds for long queries. Five words over the
# benchmark's 100,000 chunks read 8k (median) to 27k (p99), so short questions are read whole.
POSTINGS_BUDGET = 30_000
# Scored postings of recent phrases kept in memory (LRU, 16 bytes a chunk), dropped
# whenever the index changes: query words repeat, and FTS5 yields ~0.2-0.3 µs a chunk.
SCORED_CACHE_BYTES = 16 * 1024 * 1024
# Document frequencies only plan a query (which words to leave out, which to read
# first), so a counted one is used until this share of the chunks has changed.
FREQUENCY_STALENESS = 0.01

Visible = Callable[[np.ndarray], np.ndarray]


def _scored_bytes(scored: tuple[np.ndarray, np.ndarray]) -> int:
    """What a phrase's scored postings weigh in the LRU (SCORED_CACHE_BYTES)."""
    positions, scores = scored
    return int(positions.nbytes + scores.nbytes)


@dataclass
class LexicalResult:
    """The best chunks by BM25 (position, score; best first) and how they were found."""

    hits: list[tuple[int, float]]
    read: list[Phrase] = field(default_factory=list)  # phrases whose postings were read
    left_out: list[Phrase] = field(default_factory=list)  # phrases the budget left out
    postings: int = 0  # chunks read, over all phrases

    @property
    def exact(self) -> bool:
        """True when every phrase of the query was read: the BM25 ranking of the query."""
        return not self.left_out


def varint(blob: bytes, offset: int = 0) -> tuple[int, int]:
    """SQLite's variable-length integer at `offset` (FTS5 writes its sizes so): the value
    and the offset after it."""
    value = 0
    for index in range(offset, min(offset + 8, len(blob))):
        value = (value << 7) | (blob[index] & 0x7F)
        if blob[index] < 0x80:
            return value, index + 1
    if offset + 8 < len(blob):  # the ninth byte carries 8 bits
        return (value << 8) | blob[offset + 8], offset + 9
    return value, len(blob)


def decode_sizes(blobs: list[bytes]) -> np.ndarray:
    """Token counts from FTS5 docsize blobs of a one-column table (one varint each)."""
    count = len(blobs)
    widths = np.fromiter(map(len, blobs), dtype=np.int64, count=count)
    flat = np.frombuffer(b"".join(blobs), dtype=np.uint8).astype(np.int64)
    starts = np.cumsum(widths) - widths
    values = np.zeros(count, dtype=np.int64)
    one = widths == 1
    values[one] = flat[starts[one]]
    two = widths == 2
    values[two] = ((flat[starts[two]] & 0x7F) << 7) | flat[starts[two] + 1]
    for row in np.flatnonzero(widths > 2):  # 16,384 tokens or more: rare enough for a loop
        values[row] = varint(blobs[row])[0]
    return values


def run_starts(values: np.ndarray) -> np.ndarray:
    """Where each run of equal values begins, in a sorted, non-empty array."""
    first = np.empty(len(values), dtype=bool)
    first[0] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return np.flatnonzero(first)


class Bm25:
    """BM25 search over the FTS5 table `chunks_fts` of an `EmbeddedStore`.

    Called under the store's lock, on its connection. The store reports its writes
    (`changed`) and renumbering (`reset`); row lengths are read as positions appear.
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._lengths = np.zeros(0, dtype=np.float64)  # tokens per position
        # term -> (chunks holding it, whether that is the whole count or a lower bound)
        self._frequency: dict[str, tuple[int, bool]] = {}
        self._changes = 0  # rows written or deleted so far
        self._frequency_since = 0  # … when the cached frequencies were first counted
        self._statistics: tuple[int, int, float] | None = None  # (changes, rows, average)
        # (term, prefix) -> (positions, BM25 part): see SCORED_CACHE_BYTES
        self._scored: LRUCache[tuple[str, bool], tuple[np.ndarray, np.ndarray]] = LRUCache(
            maxsize=SCORED_CACHE_BYTES, getsizeof=_scored_bytes
        )

    def changed(self, rows: int) -> None:
        self._changes += rows
        self._scored.clear()

    def reset(self) -> None:
        """Positions were renumbered: forget what was read by position."""
        self._lengths = np.zeros(0, dtype=np.float64)
        self._frequency.clear()
        self._statistics = None
        self._scored.clear()

    # -- statistics ---------------------------------------------------------------------
    def statistics(self) -> tuple[int, float]:
        """(rows, average tokens per row), as FTS5 keeps them for bm25()."""
        if self._statistics is None or self._statistics[0] != self._changes:
            found = self._db.execute("SELECT block FROM chunks_fts_data WHERE id = 1").fetchone()
            rows, tokens = 0, 0
            if found is not None and found[0]:
                rows, offset = varint(found[0])
                tokens, _ = varint(found[0], offset)
            self._statistics = (self._changes, rows, tokens / rows if rows else 0.0)
        return self._statistics[1], self._statistics[2]

    def lengths(self, end: int) -> np.ndarray:
        """Tokens per position, for positions [0, end)."""
        start = len(self._lengths)
        if end > start:
            grown = np.zeros(end, dtype=np.float64)
            grown[:start] = self._lengths
            rows = self._db.execute(
                "SELECT id, sz FROM chunks_fts_docsize WHERE id >= ? AND id < ?", (start, end)
            ).fetchall()
            if rows:
                ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
                grown[ids] = decode_sizes([row[1] for row in rows])
            self._lengths = grown
        return self._lengths

    def document_frequencies(self, words: list[str], rows: int, *, whole: bool = False) -> dict[str, int]:
        """Chunks holding each word (exactly, not as a prefix), by folded word; cached
        (see FREQUENCY_STALENESS). A count stops just above lexical.COMMON_WORD_SHARE of `rows`
        (enough to leave the word out) unless `whole`."""
        stale = self._changes - self._frequency_since > FREQUENCY_STALENESS * rows
        if stale or len(self._frequency) > 100_000:
            self._frequency.clear()
        if not self._frequency:
            self._frequency_since = self._changes
        limit = int(lexical.COMMON_WORD_SHARE * rows) + 1
        for word in words:
            term = fold(word)
            cached = self._frequency.get(term)
            if cached is not None and (cached[1] or not whole):
                continue
            if whole:
                found = self._db.execute("SELECT doc FROM chunks_vocab WHERE term = ?", (term,)).fetchone()
                self._frequency[term] = (int(found[0]) if found else 0, True)
            else:  # FTS5 counts matches without reading positions, and stops at the limit
                count = self._db.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)",
                    ('"' + word.replace('"', '""') + '"', limit),
                ).fetchone()[0]
                self._frequency[term] = (int(count), count < limit)
        return {fold(word): self._frequency[fold(word)][0] for word in words}

    def postings(self, phrase: Phrase) -> tuple[np.ndarray, np.ndarray]:
        """(positions, occurrences) of a phrase: ascending positions that hold it, and
        how often each does (every word it begins, for a prefix)."""
        if phrase.prefix:
            last = ord(phrase.term[-1])
            upper = phrase.term[:-1] + chr(0xE000 if last == 0xD7FF else min(last + 1, 0x10FFFF))
            found = self._db.execute(
                "SELECT group_concat(doc) FROM chunks_vocab_instance WHERE term >= ? AND term < ?",
                (phrase.term, upper),
            ).fetchone()
        else:
            found = self._db.execute(
                "SELECT group_concat(doc) FROM chunks_vocab_instance WHERE term = ?", (phrase.term,)
            ).fetchone()
        if not found or not found[0]:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        positions = np.fromstring(found[0], dtype=np.int64, sep=",")
        if phrase.prefix:
            positions.sort()  # a prefix's words come one after the other
        starts = run_starts(positions)
        occurrences = np.empty(len(starts), dtype=np.float64)
        occurrences[:-1] = starts[1:] - starts[:-1]
        occurrences[-1] = len(positions) - starts[-1]
        return positions[starts], occurrences

    def scored(self, phrase: Phrase, rows: int, average: float) -> tuple[np.ndarray, np.ndarray]:
        """(positions, BM25 part) of every chunk holding `phrase`; cached until a write."""
        key = (phrase.term, phrase.prefix)
        cached = self._scored.get(key)
        if cached is not None:
            return cached
        positions, occurrences = self.postings(phrase)
        scores = occurrences
        if len(positions):
            idf = max(math.log((rows - len(positions) + 0.5) / (len(positions) + 0.5)), MIN_IDF)
            lengths = self.lengths(int(positions[-1]) + 1)[positions]
            # bm25(): idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average length))
            scores = lengths * (K1 * B / average)
            scores += occurrences + K1 * (1 - B)
            np.divide(occurrences * (idf * (K1 + 1)), scores, out=scores)
        if _scored_bytes((positions, scores)) <= SCORED_CACHE_BYTES:  # else too big to keep
            self._scored[key] = (positions, scores)  # least recently used phrases make room
        return positions, scores

    # -- search -------------------------------------------------------------------------
    def search(self, text: str, depth: int, visible: Visible) -> LexicalResult:
        """The `depth` best chunks for `text` among those `visible` says the caller may see."""
        words = query_words(text)
        rows, average = self.statistics()
        if not words or rows == 0:
            return LexicalResult([])
        frequency = self.document_frequencies(words, rows)
        pruning = rows >= lexical.PRUNE_FROM_CHUNKS
        if pruning and min(frequency.values()) > lexical.COMMON_WORD_SHARE * rows:
            frequency = self.document_frequencies(words, rows, whole=True)  # keep the least common
        phrases = sorted(lexical_phrases(text, frequency, rows), key=lambda p: (p.frequency, p.term))
        result = LexicalResult([])
        found_positions: list[np.ndarray] = []
        found_scores: list[np.ndarray] = []
        matched = 0  # visible chunks matched by one phrase (at most as many as by all)
        for number, phrase in enumerate(phrases):
            if result.postings + phrase.frequency > POSTINGS_BUDGET and matched >= depth:
                result.left_out = phrases[number:]
                break
            positions, scores = self.scored(phrase, rows, average)
            result.read.append(phrase)
            result.postings += len(positions)
            seen = visible(positions)
            if not seen.any():
                continue
            found_positions.append(positions[seen])
            found_scores.append(scores[seen])
            matched = max(matched, int(np.count_nonzero(seen)))
        if not found_positions:
            return result
        if len(found_positions) == 1:
            positions, scores = found_positions[0], found_scores[0]
        else:  # add up the phrases' parts per position
            positions = np.concatenate(found_positions)
            order = np.argsort(positions, kind="stable")
            positions, scores = positions[order], np.concatenate(found_scores)[order]
            starts = run_starts(positions)
            positions, scores = positions[starts], np.add.reduceat(scores, starts)
        if len(positions) > depth:  # the depth best, and of equal scores the first positions
            cut = -np.partition(-scores, depth - 1)[depth - 1]
            best = np.flatnonzero(scores >= cut)
            positions, scores = positions[best], scores[best]
        order = np.lexsort((positions, -scores))[:depth]
        result.hits = [(int(positions[i]), float(scores[i])) for i in order]
        return result
