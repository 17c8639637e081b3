"""The embedded store: replace, delete, reopen, compact — and filtering inside the search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runtime.knowledge import store as store_module
from runtime.knowledge.lexical import lexical_query
from runtime.knowledge.store import EmbeddedStore, StoredChunk
from tests.runtime.knowledge.fakes import HashingModel

MODEL = HashingModel()


def put(store: EmbeddedStore, document_id: str, texts: list[str], labels: tuple[str, ...] = ()) -> None:
    chunks = [StoredChunk(i, text, page=i + 1) for i, text in enumerate(texts)]
    store.replace_document(document_id, f"{document_id}.txt", chunks, MODEL.encode(texts), labels)


def search(
    store: EmbeddedStore, query: str, readable: set[str] | None = None, k: int = 5, mode: str = "hybrid"
) -> list[str]:
    hits = store.search(query, MODEL.encode([query])[0], k, readable or set(), mode=mode)
    return [hit.document_id for hit in hits]


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "index", MODEL.dimension)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_finds_the_matching_document(store: EmbeddedStore, mode: str) -> None:
    put(store, "reise", ["Hotelkosten werden bis 120 Euro pro Nacht erstattet."])
    put(store, "it", ["Das VPN bricht nach zehn Minuten ab."])
    assert search(store, "Wie viel Hotelkosten werden erstattet?", mode=mode)[0] == "reise"


def test_hit_carries_source_page_score_and_chunk_id(store: EmbeddedStore) -> None:
    put(store, "reise", ["Erste Seite über Hotels.", "Zweite Seite über Bahnfahrten."])
    [hit, *_] = store.search("Bahnfahrten", MODEL.encode(["Bahnfahrten"])[0], 2, set())
    assert (hit.source, hit.page, hit.chunk_id) == ("reise.txt", 2, "reise:1")
    assert 0 < hit.score <= 1 and hit.ranks["lexical"] == 1


def test_lexical_query_prefixes_and_drops_stopwords() -> None:
    expected = '"hoch"* OR "reisekosten"* OR "2" OR "nächte"*'
    assert lexical_query("Wie hoch sind die Reisekosten für 2 Nächte?") == expected
    assert lexical_query("und oder") is None
    # In a large index, common words are left out and only rare ones are prefixes.
    frequency = {"hoch": 3000, "reisekosten": 20, "2": 900, "nachte": 400}
    assert lexical_query("Wie hoch sind die Reisekosten für 2 Nächte?", frequency, 10_000) == (
        '"reisekosten"* OR "2" OR "nächte"'
    )
    assert lexical_query("Wie hoch sind die Reisekosten für 2 Nächte?", frequency, 100) == expected
    assert lexical_query('Preis "Angebot"') == '"preis"* OR "angebot"*'


@pytest.mark.parametrize("exact_below", [10**9, 0], ids=["exact-scan", "hnsw-graph"])
def test_filter_is_applied_inside_the_search_not_after_top_k(
    store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch, exact_below: int
) -> None:
    monkeypatch.setattr(store_module, "EXACT_SCAN_BELOW", exact_below)
    # 60 restricted passages that match the query perfectly, one public passage that matches less.
    for i in range(60):
        put(store, f"gehalt-{i}", [f"Gehaltsband Vertrieb Stufe {i} Gehalt Bonus"], ("hr-salaries",))
    put(store, "public", ["Vertrieb Bonus Regeln allgemein"])
    hidden_for_user = search(store, "Gehalt Bonus Vertrieb", readable=set(), k=3)
    assert hidden_for_user == ["public"]
    seen_by_hr = search(store, "Gehalt Bonus Vertrieb", readable={"hr-salaries"}, k=3)
    assert len(seen_by_hr) == 3 and all(doc.startswith("gehalt-") for doc in seen_by_hr[:2])


def test_a_passage_needs_all_of_its_labels(store: EmbeddedStore) -> None:
    put(store, "both", ["Vertrag Müller GmbH"], ("legal", "hr-confidential"))
    assert search(store, "Vertrag Müller", readable={"legal"}) == []
    assert search(store, "Vertrag Müller", readable={"hr-confidential"}) == []
    assert search(store, "Vertrag Müller", readable={"legal", "hr-confidential"}) == ["both"]


def test_replacing_a_document_replaces_all_its_chunks(store: EmbeddedStore) -> None:
    put(store, "angebot", ["Angebot alt Preis 100 Euro", "Zweiter alter Teil"])
    put(store, "angebot", ["Angebot neu Preis 90 Euro"])
    assert store.stats()["chunks"] == 1 and store.stats()["tombstones"] == 2
    hits = store.search("Angebot Preis", MODEL.encode(["Angebot Preis"])[0], 5, set())
    assert [hit.text for hit in hits] == ["Angebot neu Preis 90 Euro"]


def test_deleting_a_document_removes_its_chunks_from_both_indexes(store: EmbeddedStore) -> None:
    put(store, "ticket", ["Drucker im 2. OG defekt", "Toner leer"])
    assert store.delete_document("ticket") == 2
    assert search(store, "Drucker Toner", mode="lexical") == []
    assert search(store, "Drucker Toner", mode="dense") == []
    assert store.stats()["chunks"] == 0


def test_failed_write_changes_nothing(store: EmbeddedStore) -> None:
    put(store, "a", ["Erster Text"])
    with pytest.raises(ValueError, match="2 chunks but 1 vectors"):
        store.replace_document(
            "a", "a.txt", [StoredChunk(0, "x"), StoredChunk(1, "y")], MODEL.encode(["x"]), ()
        )
    assert search(store, "Erster Text") == ["a"]


def test_reopen_catches_the_graph_up_from_sqlite(tmp_path: Path) -> None:
    first = EmbeddedStore(tmp_path / "ix", MODEL.dimension)
    put(first, "a", ["Urlaubsantrag im Portal stellen"])
    first.save()
    put(first, "b", ["Reisekosten abrechnen bis zum 5. des Folgemonats"])
    put(first, "a", ["Urlaubsantrag beim Vorgesetzten stellen"])  # the graph file is now behind
    first.close()
    again = EmbeddedStore(tmp_path / "ix", MODEL.dimension)
    assert again.stats()["vectors"] == 3
    assert search(again, "Reisekosten abrechnen", mode="dense")[0] == "b"
    assert search(again, "Urlaubsantrag Vorgesetzten", mode="dense")[0] == "a"
    (tmp_path / "ix" / "vectors.faiss").write_bytes(b"garbage")
    again.close()
    rebuilt = EmbeddedStore(tmp_path / "ix", MODEL.dimension)
    assert search(rebuilt, "Reisekosten abrechnen", mode="dense")[0] == "b"


def test_compact_drops_tombstones_and_keeps_results(store: EmbeddedStore) -> None:
    for round_ in range(3):
        put(store, "a", [f"Version {round_} der Richtlinie", "Anhang"])
    put(store, "b", ["Onboarding Checkliste Laptop"], ("internal",))
    store.compact()
    assert store.stats() == {"chunks": 3, "documents": 2, "vectors": 3, "tombstones": 0}
    assert search(store, "Richtlinie Version", mode="dense")[0] == "a"
    assert search(store, "Onboarding Laptop", readable={"internal"}, mode="dense")[0] == "b"
    assert "b" not in search(store, "Onboarding Laptop", mode="dense")


def test_dimension_mismatch_is_refused(tmp_path: Path) -> None:
    EmbeddedStore(tmp_path / "ix", 64).close()
    with pytest.raises(ValueError, match="64-dimensional"):
        EmbeddedStore(tmp_path / "ix", 384)


def test_vectors_view_matches_what_was_stored(store: EmbeddedStore) -> None:
    vectors = MODEL.encode(["eins zwei", "drei"])
    store.replace_document("d", "d.txt", [StoredChunk(0, "eins zwei"), StoredChunk(1, "drei")], vectors, ())
    assert np.allclose(store._stored_vectors(), vectors)
