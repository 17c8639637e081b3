"""Lexical ranking: BM25 scored from FTS5's postings, rarest phrases first, within a budget.

What the fast path relies on, checked against FTS5 itself: its scores are bm25()'s, the
access filter applies before any cut, a rare exact term (an offer number) wins over many
chunks full of common words, and nothing read before a write is served after it.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from runtime.knowledge import bm25 as bm25_module
from runtime.knowledge import lexical
from runtime.knowledge.bm25 import decode_sizes, varint
from runtime.knowledge.lexical import lexical_query, query_words
from runtime.knowledge.store import EmbeddedStore, StoredChunk
from tests.runtime.knowledge.fakes import HashingModel

MODEL = HashingModel()
COMMON = ["Angebot", "Preis", "Kunde", "Lieferung", "Vertrag", "Rabatt", "Termin", "Wartung"]
RARE = ["Störung", "Hotelkosten", "Reisekostenrichtlinie", "Kündigungsfrist", "Datenschutz", "Übergabe"]


def put(store: EmbeddedStore, document_id: str, texts: list[str], labels: tuple[str, ...] = ()) -> None:
    chunks = [StoredChunk(i, text) for i, text in enumerate(texts)]
    store.replace_document(document_id, f"{document_id}.txt", chunks, MODEL.encode(texts), labels)


def fts5_ranking(store: EmbeddedStore, text: str, readable: set[str]) -> list[tuple[int, float]]:
    """FTS5's own bm25() over every match of the same query, filtered, best first."""
    words = query_words(text)
    frequency = dict(
        store._db.execute(
            f"SELECT term, doc FROM chunks_vocab WHERE term IN ({','.join('?' * len(words))})",
            [lexical.fold(word) for word in words],
        )
    )
    match = lexical_query(text, frequency, store.stats()["chunks"])
    allowed = set(store.allowed_labelsets(readable))
    rows = store._db.execute(
        "SELECT f.rowid, -bm25(chunks_fts), c.labelset FROM chunks_fts f JOIN chunks c ON c.pos = f.rowid "
        "WHERE chunks_fts MATCH ?",
        (match,),
    ).fetchall()
    return sorted(
        ((pos, score) for pos, score, labelset in rows if labelset in allowed), key=lambda r: (-r[1], r[0])
    )


def assert_same(found: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    assert [pos for pos, _ in found] == [pos for pos, _ in expected]
    assert np.allclose([score for _, score in found], [score for _, score in expected], rtol=1e-9)


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "index", MODEL.dimension)


@pytest.fixture
def mixed(store: EmbeddedStore) -> EmbeddedStore:
    """Chunks of common and rare words (some repeated, some only as part of a compound),
    written, replaced and deleted, half of the documents behind a label."""
    rng = random.Random(3)
    for number in range(40):
        texts = []
        for _ in range(5):
            words = rng.choices(COMMON, k=rng.randint(3, 12)) + rng.choices(RARE, k=rng.randint(0, 3))
            rng.shuffle(words)
            texts.append(" ".join(words) + ".")
        put(store, f"doc{number}", texts, ("hr-secret",) if number % 2 else ())
    put(store, "doc3", ["Störung Störung Hotelkosten Angebot."])  # replaced: tombstones
    store.delete_document("doc4")
    return store


@pytest.mark.parametrize("readable", [set(), {"hr-secret"}], ids=["filtered", "all"])
@pytest.mark.parametrize(
    "query",
    ["Störung beim Angebot", "Hotel Reisekosten", "Kündigung Datenschutz Übergabe Preis", "Rabatt"],
)
def test_scores_are_fts5_bm25_scores(mixed: EmbeddedStore, query: str, readable: set[str]) -> None:
    expected = fts5_ranking(mixed, query, readable)
    assert_same(mixed.lexical_search(query, 1000, mixed.allowed_labelsets(readable)), expected)


def test_scores_stay_exact_after_reopening_and_compacting(mixed: EmbeddedStore, tmp_path: Path) -> None:
    query = "Störung Hotelkosten Angebot"
    mixed.lexical_search(query, 10, mixed.allowed_labelsets(set()))  # caches lengths and postings
    mixed.compact()  # renumbers every position
    assert_same(
        mixed.lexical_search(query, 50, mixed.allowed_labelsets(set())),
        fts5_ranking(mixed, query, set())[:50],
    )
    mixed.close()
    again = EmbeddedStore(tmp_path / "index", MODEL.dimension)
    assert_same(
        again.lexical_search(query, 50, again.allowed_labelsets(set())),
        fts5_ranking(again, query, set())[:50],
    )


@pytest.fixture
def offers(store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> EmbeddedStore:
    """600 offer chunks of the same words ("Angebot", "Preis": in every chunk; "Lieferung"
    in 8 %, "Wartung" in 5 %); one public and one restricted chunk carry the offer number
    AN-2024-0815 (the restricted one even twice, in fewer words: it would rank first)."""
    monkeypatch.setattr(lexical, "PRUNE_FROM_CHUNKS", 100)  # frequency pruning as in a large index
    for number in range(30):
        texts = []
        for i in range(20):
            position = number * 20 + i
            extra = (" Wartung" if position % 20 == 0 else "") + (" Lieferung" if position % 12 == 0 else "")
            texts.append(f"Angebot Nummer AN-2024-{1000 + position} für Kunde {position}: Preis{extra}.")
        put(store, f"angebote-{number}", texts)
    put(store, "treffer", ["Angebot AN-2024-0815 für die Müller GmbH, Preis und Lieferung wie besprochen."])
    put(store, "vertraulich", ["Angebot AN-2024-0815 AN-2024-0815 intern."], ("sales-leads",))
    return store


QUERY = "Angebot AN-2024-0815 Wartung Lieferung Preis"


@pytest.mark.parametrize("budget", [30_000, 1], ids=["whole", "tight-budget"])
def test_a_rare_exact_term_ranks_its_chunk_first(
    offers: EmbeddedStore, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    monkeypatch.setattr(bm25_module, "POSTINGS_BUDGET", budget)
    vector = MODEL.encode([QUERY])[0]
    hits = offers.search(QUERY, vector, 5, set(), mode="lexical")
    assert hits[0].document_id == "treffer"
    assert all(hit.document_id != "vertraulich" for hit in hits)
    seen_by_sales = offers.search(QUERY, vector, 5, {"sales-leads"}, mode="lexical")
    assert [hit.document_id for hit in seen_by_sales[:2]] == ["vertraulich", "treffer"]
    # Fused with the (fake) dense ranking, the lexical first is still the offer, not the hidden one.
    fused = offers.search(QUERY, vector, 20, set(), mode="hybrid")
    assert next(hit for hit in fused if hit.ranks.get("lexical") == 1).document_id == "treffer"
    assert all(hit.document_id != "vertraulich" for hit in fused)


def test_rarest_phrases_are_read_first_and_the_budget_leaves_out_the_commonest(
    offers: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    labelsets = offers.allowed_labelsets(set())
    whole = offers.lexical_plan(QUERY, 20, labelsets)
    # "angebot", "2024" and "preis" are in every chunk: left out by their frequency alone.
    assert [phrase.word for phrase in whole.read] == ["0815", "wartung", "lieferung"]
    assert whole.exact and whole.postings == 2 + 30 + 51
    assert_same(whole.hits, fts5_ranking(offers, QUERY, set())[:20])
    monkeypatch.setattr(bm25_module, "POSTINGS_BUDGET", 1)
    # Read on until 20 visible chunks matched, then the most common phrase is left out.
    tight = offers.lexical_plan(QUERY, 20, labelsets)
    assert [phrase.word for phrase in tight.read] == ["0815", "wartung"]
    assert [phrase.word for phrase in tight.left_out] == ["lieferung"] and not tight.exact
    offer = offers._db.execute("SELECT pos FROM chunks WHERE document_id = 'treffer'").fetchone()[0]
    assert tight.hits[0][0] == whole.hits[0][0] == offer  # scored without "lieferung" now


def test_when_every_word_is_common_the_least_common_is_kept(offers: EmbeddedStore) -> None:
    query = "Preis Angebot Wartung"  # "wartung" (5 %) is kept, the others (100 %) are not
    plan = offers.lexical_plan(query, 20, offers.allowed_labelsets(set()))
    assert [phrase.word for phrase in plan.read] == ["wartung"]
    only_common = offers.lexical_plan("Preis Angebot", 20, offers.allowed_labelsets(set()))
    assert [phrase.word for phrase in only_common.read] == ["preis"]  # one chunk lacks it
    assert_same(only_common.hits, fts5_ranking(offers, "Preis Angebot", set())[:20])


def test_hidden_chunks_never_come_back_however_well_they_match(offers: EmbeddedStore) -> None:
    labelsets = offers.allowed_labelsets(set())
    for query in ["AN-2024-0815", "0815 intern", "Angebot intern AN-2024-0815 AN-2024-0815"]:
        found = offers.lexical_search(query, 1000, labelsets)
        hidden = offers._position_labelset[[pos for pos, _ in found]]
        assert set(hidden.tolist()) <= set(labelsets), query


def test_nothing_cached_outlives_a_write(store: EmbeddedStore) -> None:
    put(store, "a", ["Wartungsvertrag Halle 3"])
    labelsets = store.allowed_labelsets(set())
    assert len(store.lexical_search("Wartungsvertrag", 10, labelsets)) == 1
    put(store, "b", ["Wartungsvertrag Halle 4", "Wartungsvertrag Halle 5"])
    assert len(store.lexical_search("Wartungsvertrag", 10, labelsets)) == 3
    store.delete_document("a")
    assert len(store.lexical_search("Wartungsvertrag", 10, labelsets)) == 2
    assert_same(
        store.lexical_search("Wartungsvertrag", 10, labelsets), fts5_ranking(store, "Wartungsvertrag", set())
    )


def test_query_words_split_and_fold_like_the_tokenizer() -> None:
    assert query_words("Störung storung STÖRUNG") == ["störung"]  # one word once folded
    assert query_words("create_task im CRM") == ["create", "task", "crm"]  # _ separates, as in FTS5


def test_sizes_decode_like_sqlite_varints() -> None:
    blobs = [bytes([5]), bytes([0x81, 0x00]), bytes([0xFF, 0x7F]), bytes([0x81, 0x80, 0x00])]
    assert decode_sizes(blobs).tolist() == [5, 128, 16383, 16384]
    assert varint(bytes([0x81, 0x80, 0x00, 0x07]), 0) == (16384, 3)
