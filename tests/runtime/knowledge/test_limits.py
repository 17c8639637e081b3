"""The limits of one file's extraction (limits.py, bounds.py), in this process: every
hostile file is refused with `file_too_complex` and the limit it broke, within a bounded
CPU time, before its parser builds it in memory; and what legitimate files of the same
shapes cost grows linearly (HTML, DOCX and long paragraphs did not)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from runtime.knowledge.chunking import ChunkingSettings, chunk_sections, chunk_text
from runtime.knowledge.errors import FileTooComplex
from runtime.knowledge.extract import Section, extract
from runtime.knowledge.limits import IngestLimits
from tests.runtime.knowledge import hostile

SMALL_PASSAGES = ChunkingSettings(max_chars=100, overlap_chars=10)


@pytest.mark.parametrize(
    ("name", "build", "limit", "value"),
    [
        ("betreff.eml", hostile.long_subject_eml, "header_chars", range(5_000_000, 5_000_010)),
        ("verschachtelt.html", hostile.nested_divs_html, "nesting_depth", None),
        ("newsletter.eml", hostile.nested_divs_eml, "nesting_depth", None),
        ("leer.docx", hostile.empty_paragraphs_docx, "paragraphs", None),
        ("bombe.docx", hostile.zip_bomb_docx, "decompressed_bytes", range(320 << 20, 321 << 20)),
        ("eintraege.docx", hostile.many_entries_docx, "zip_entries", range(5_000, 5_010)),
        ("seiten.pdf", hostile.many_pages_pdf, "pages", range(3_000, 3_001)),
        ("bombe.pdf", hostile.flate_bomb_pdf, "pdf_structure", None),
    ],
)
def test_hostile_file_is_refused_with_its_limit(
    name: str, build: Callable[[], bytes], limit: str, value: range | None
) -> None:
    data = build()
    started = time.process_time()
    with pytest.raises(FileTooComplex) as refused:
        extract(name, data, limits=IngestLimits())
    assert time.process_time() - started < 10
    assert refused.value.code == "file_too_complex"
    assert refused.value.extra["limit"] == limit
    measured = refused.value.extra["value"]
    assert measured is None if value is None else measured in value
    assert "too complex to index" in refused.value.message


def test_too_many_passages_are_refused_while_chunking() -> None:
    extracted = extract("saetze.txt", hostile.many_passages_text())
    started = time.process_time()
    with pytest.raises(FileTooComplex) as refused:
        chunk_sections(extracted.sections, SMALL_PASSAGES, IngestLimits())
    assert time.process_time() - started < 10
    assert refused.value.extra == {"limit": "chunks", "maximum": 5_000, "value": None}
    assert "DIRIGENT_KNOWLEDGE_LIMIT_MAX_CHUNKS" in refused.value.message


def test_bytes_per_document_are_bounded() -> None:
    limits = IngestLimits(max_document_bytes=1024 * 1024)
    sections = [Section("Wort " * 300_000, section="Kapitel")]  # 1.5 MB: ~380 passages of 4 kB
    with pytest.raises(FileTooComplex) as refused:
        chunk_sections(sections, ChunkingSettings(max_chars=4000, overlap_chars=1000), limits)
    assert refused.value.extra["limit"] == "document_bytes"
    assert refused.value.extra["value"] > 1024 * 1024


def test_text_per_file_is_bounded() -> None:
    with pytest.raises(FileTooComplex) as refused:
        extract("lang.txt", b"Wort " * 3_000, limits=IngestLimits(max_text_chars=10_000))
    assert refused.value.extra == {"limit": "text_chars", "maximum": 10_000, "value": 15_000}


def test_a_long_label_is_cut_not_refused() -> None:
    heading = "Sehr " * 200 + "langer Titel"
    [section] = extract("lang.md", f"# {heading}\n\nInhalt.".encode()).sections
    assert section.section is not None and len(section.section) == 200
    assert section.section.endswith("…") and section.section.startswith("Sehr Sehr")


def test_elements_are_counted_as_the_parser_nests_them() -> None:
    limits = IngestLimits(max_nesting_depth=8, max_elements=200)
    # Unclosed <li> nest in BeautifulSoup's tree; </ul> closes them all.
    sloppy = "<ul>" + "<li>Punkt" * 6 + "</ul>"
    assert extract("liste.html", (sloppy * 25).encode(), limits=limits).text.count("Punkt") == 150
    with pytest.raises(FileTooComplex, match="nested more than 8 levels"):
        extract("liste.html", ("<ul>" + "<li>Punkt" * 9 + "</ul>").encode(), limits=limits)
    with pytest.raises(FileTooComplex, match="more than 200 HTML elements"):
        extract("liste.html", (sloppy * 25 + "<p>x</p>" * 30).encode(), limits=limits)
    # Markup inside scripts and comments is not counted (the parser does not build it).
    script = "<script>" + "<div>" * 50 + "</script><!--" + "<div>" * 50 + "--><p>Text</p>"
    assert extract("skript.html", script.encode(), limits=limits).text == "Text"


def test_email_header_lines_are_bounded() -> None:
    headers = b"".join(b"X-Zeile-%d: wert\r\n" % number for number in range(1_500))
    with pytest.raises(FileTooComplex) as refused:
        extract("viele.eml", headers + b"Subject: Hallo\r\n\r\nText\r\n")
    assert refused.value.extra["limit"] == "email_headers"


@pytest.mark.parametrize(
    ("name", "build", "seconds"),
    [
        # 10,000 paragraphs took 50 s (tree insertions), 20,000 would take minutes.
        ("seite.html", lambda: hostile.flat_paragraphs_html(20_000), 15),
        # 20,000 paragraphs took 58 s (a style lookup among all styles per paragraph).
        (
            "handbuch.docx",
            lambda: hostile.docx_text(
                [f"Absatz {n} mit Text." if n % 100 else f"Kapitel {n}" for n in range(20_000)],
                frozenset(range(0, 20_000, 100)),
            ),
            15,
        ),
    ],
)
def test_large_legitimate_files_cost_linear_time(
    name: str, build: Callable[[], bytes], seconds: float
) -> None:
    data = build()
    started = time.process_time()
    result = extract(name, data)
    assert time.process_time() - started < seconds
    if name.endswith(".docx"):
        assert [s.section for s in result.sections[:2]] == ["Kapitel 0", "Kapitel 100"]


def test_a_long_paragraph_is_chunked_in_linear_time() -> None:
    # One paragraph of 60,000 sentences: the word before each period was searched for
    # from the paragraph's start (quadratic: many minutes).
    text = hostile.many_passages_text().decode()
    started = time.process_time()
    chunks = chunk_text(text, SMALL_PASSAGES)
    assert time.process_time() - started < 15
    assert len(chunks) > 15_000 and chunks[0].startswith("Satz 0 über den Urlaub.")


def test_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.knowledge.service import KnowledgeSettings

    monkeypatch.setenv("DIRIGENT_KNOWLEDGE_LIMIT_MAX_CHUNKS", "777")
    monkeypatch.setenv("DIRIGENT_KNOWLEDGE_LIMIT_CPU_SECONDS", "5")
    limits = KnowledgeSettings().limits  # type: ignore[call-arg]
    assert (limits.max_chunks, limits.cpu_seconds, limits.max_pages) == (777, 5, 2_000)
    with pytest.raises(FileTooComplex, match="DIRIGENT_KNOWLEDGE_LIMIT_MAX_PAGES"):
        extract("seiten.pdf", hostile.many_pages_pdf(30), limits=IngestLimits(max_pages=20))
