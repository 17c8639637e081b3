"""One embedded index, written and searched by several runtime processes.

Each process opens its own `EmbeddedStore` on the index's directory (the data directory is
shared, as on one host with `serve --workers N`): its vectors and its labelsets are in its
own memory. Two store objects on one directory stand for two processes here. What one
writes (a document, a deletion, a new labelset, a compaction), the other sees at its next
search, and the two never hand out the same position.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.knowledge.store import EmbeddedStore, StoredChunk
from tests.runtime.knowledge.test_store import MODEL, put, search


@pytest.fixture
def two(tmp_path: Path) -> tuple[EmbeddedStore, EmbeddedStore]:
    return EmbeddedStore(tmp_path / "index", MODEL.dimension), EmbeddedStore(
        tmp_path / "index", MODEL.dimension
    )


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_a_document_written_by_one_process_is_found_by_the_other(
    two: tuple[EmbeddedStore, EmbeddedStore], mode: str
) -> None:
    a, b = two
    put(a, "reise", ["Hotelkosten werden bis 120 Euro pro Nacht erstattet."])
    assert search(b, "Hotelkosten erstattet", mode=mode) == ["reise"]
    put(a, "it", ["Das VPN bricht nach zehn Minuten ab."], labels=("it-intern",))
    assert search(b, "VPN bricht ab", {"it-intern"}, mode=mode)[0] == "it"
    assert "it" not in search(b, "VPN bricht ab", set(), mode=mode)  # its label is not readable


def test_both_processes_writing_in_turn_keep_every_chunk_at_its_own_position(
    two: tuple[EmbeddedStore, EmbeddedStore],
) -> None:
    a, b = two
    texts = {f"doc{n}": [f"Dokument {n} über Thema{n} Absatz {i}." for i in range(3)] for n in range(6)}
    for n, (document_id, chunks) in enumerate(texts.items()):
        put(a if n % 2 == 0 else b, document_id, chunks)
    for store in (a, b):
        assert store.stats()["chunks"] == 18 and store.stats()["vectors"] == 18
        for n in range(6):
            hits = store.search(f"Thema{n}", MODEL.encode([texts[f"doc{n}"][0]])[0], 3, set(), mode="dense")
            assert {hit.document_id for hit in hits} == {f"doc{n}"}, (n, [hit.chunk_id for hit in hits])


def test_a_deletion_and_a_compaction_by_one_process_show_in_the_other(
    two: tuple[EmbeddedStore, EmbeddedStore],
) -> None:
    a, b = two
    put(a, "reise", ["Hotelkosten werden bis 120 Euro pro Nacht erstattet."])
    put(a, "it", ["Das VPN bricht nach zehn Minuten ab."])
    assert search(b, "VPN")[0] == "it"
    a.delete_document("it")
    assert "it" not in search(b, "VPN") and b.stats()["chunks"] == 1
    a.compact()  # renumbers every position
    assert search(b, "Hotelkosten erstattet", mode="dense") == ["reise"]
    put(b, "bahn", ["Bahnfahrten werden in der zweiten Klasse erstattet."])
    assert search(a, "Bahnfahrten zweite Klasse")[0] == "bahn"
    assert search(b, "Hotelkosten")[0] == "reise"


def test_a_file_stored_again_under_a_new_id_replaces_what_a_cut_off_attempt_stored(
    two: tuple[EmbeddedStore, EmbeddedStore],
) -> None:
    """Process a stored a file's chunks and was killed before the database recorded the
    document; process b ingests the file again, under a new document id. The file's chunks
    are in the index once, b's, not twice (found by tests/runtime/test_many_processes.py)."""
    a, b = two
    put(a, "cut-off-id", ["Vertrag 5 regelt die Lieferung.", "Klausel 5."])
    b.replace_document(
        "new-id",
        "cut-off-id.txt",
        [StoredChunk(0, "Vertrag 5 regelt die Lieferung neu.")],
        MODEL.encode(["Vertrag 5 regelt die Lieferung neu."]),
        (),
    )
    for store in (a, b):
        assert store.stats()["chunks"] == 1 and store.document_chunks("cut-off-id") == 0
        assert search(store, "Vertrag Lieferung") == ["new-id"]
