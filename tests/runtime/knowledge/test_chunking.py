"""Sentence splitting and chunking of German text."""

from __future__ import annotations

from itertools import pairwise

import pytest

from runtime.knowledge.chunking import ChunkingSettings, chunk_sections, chunk_text, split_sentences
from runtime.knowledge.extract import Section


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Das gilt z. B. für Reisen. Danach nicht.", ["Das gilt z. B. für Reisen.", "Danach nicht."]),
        ("Siehe Nr. 5 der Liste. Gut.", ["Siehe Nr. 5 der Liste.", "Gut."]),
        (
            "Wir zahlen bzw. erstatten ca. 300 Euro. Fertig.",
            ["Wir zahlen bzw. erstatten ca. 300 Euro.", "Fertig."],
        ),
        (
            "Start am 1. März 2025 in München. Ende im 2. Quartal.",
            ["Start am 1. März 2025 in München.", "Ende im 2. Quartal."],
        ),
        (
            "Herr Dr. Weiß kommt, d. h. wir sind u.a. zu zweit. Übergabe folgt.",
            ["Herr Dr. Weiß kommt, d. h. wir sind u.a. zu zweit.", "Übergabe folgt."],
        ),
        (
            "Laut Abs. 3 gilt das. Ist das klar? Ja! Schön.",
            ["Laut Abs. 3 gilt das.", "Ist das klar?", "Ja!", "Schön."],
        ),
        (
            "Das Ticket hat die Nummer 4711. Bitte prüfen.",
            ["Das Ticket hat die Nummer 4711.", "Bitte prüfen."],
        ),
        ("Es gilt Nr. 5. Danach folgt § 3. Ende.", ["Es gilt Nr. 5.", "Danach folgt § 3.", "Ende."]),
        ("Am 01.03.2025 um 9.30 Uhr. Straße gesperrt.", ["Am 01.03.2025 um 9.30 Uhr.", "Straße gesperrt."]),
        ("Er sagte: „Gut.“ Dann ging er.", ["Er sagte: „Gut.“", "Dann ging er."]),
        (
            "Die Kosten (inkl. MwSt.) trägt die Firma. Ende.",
            ["Die Kosten (inkl. MwSt.) trägt die Firma.", "Ende."],
        ),
    ],
)
def test_german_sentence_ends(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_chunks_respect_size_and_overlap_whole_sentences() -> None:
    sentence = "Die Reisekostenrichtlinie gilt für alle Mitarbeitenden der Müller GmbH."
    text = " ".join(f"{sentence[:-1]} Nr. {i}." for i in range(40))
    settings = ChunkingSettings(max_chars=300, overlap_chars=100)
    chunks = chunk_text(text, settings)
    assert len(chunks) > 5
    assert all(len(chunk) <= 300 for chunk in chunks)
    for previous, following in pairwise(chunks):
        last_sentence = split_sentences(previous)[-1]
        assert following.startswith(last_sentence)  # overlap is whole sentences
    # every sentence survives
    for i in range(40):
        assert any(f"Nr. {i}." in chunk for chunk in chunks)


def test_short_paragraphs_are_packed_and_separated() -> None:
    chunks = chunk_text("Erster Absatz.\n\nZweiter Absatz.\nMit Zeilenumbruch.", ChunkingSettings())
    assert chunks == ["Erster Absatz.\n\nZweiter Absatz. Mit Zeilenumbruch."]


def test_list_items_stay_on_their_own_lines() -> None:
    [chunk] = chunk_text("Checkliste:\n- Laptop\n- Ausweis\n1. Schritt\n2. Schritt", ChunkingSettings())
    assert chunk == "Checkliste:\n- Laptop\n- Ausweis\n1. Schritt\n2. Schritt"


def test_overlong_sentence_is_cut_at_words() -> None:
    long_sentence = " ".join(["Datenschutzgrundverordnungskonformität"] * 40) + "."
    chunks = chunk_text(long_sentence, ChunkingSettings(max_chars=200, overlap_chars=0))
    assert all(len(chunk) <= 200 for chunk in chunks)
    assert " ".join(chunks).split() == long_sentence.split()


def test_sections_keep_page_and_number_through_document() -> None:
    sections = [Section("Seite eins.", page=1), Section("Seite zwei.", page=2, section="Anhang")]
    chunks = chunk_sections(sections)
    assert [(c.ordinal, c.text, c.page, c.section) for c in chunks] == [
        (0, "Seite eins.", 1, None),
        (1, "Seite zwei.", 2, "Anhang"),
    ]


def test_overlap_must_be_smaller_than_half_a_chunk() -> None:
    with pytest.raises(ValueError, match="less than half"):
        ChunkingSettings(max_chars=200, overlap_chars=150)
