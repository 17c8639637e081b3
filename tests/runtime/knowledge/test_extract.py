"""Text extraction: every supported type, and a clear error for every unusable file."""

from __future__ import annotations

import pytest

from runtime.knowledge.errors import CorruptFile, EmptyFile, FileTooLarge, ProtectedFile, UnsupportedFileType
from runtime.knowledge.extract import decode_text, extract
from tests.runtime.knowledge.files import docx_bytes, eml_bytes, encrypted_pdf_bytes, pdf_bytes


def test_pdf_pages_keep_umlauts_and_page_numbers() -> None:
    result = extract("Reiserichtlinie.PDF", pdf_bytes(["Größe und Maße der Übergabe", "Seite zwei"]))
    assert result.media_type == "application/pdf"
    pages = [(s.text, s.page) for s in result.sections]
    assert pages == [("Größe und Maße der Übergabe", 1), ("Seite zwei", 2)]


def test_password_protected_pdf_is_rejected_with_advice() -> None:
    with pytest.raises(ProtectedFile, match="password-protected"):
        extract("vertrag.pdf", encrypted_pdf_bytes("Vertraulich"))


@pytest.mark.parametrize("data", [b"%PDF-1.4\n1 0 obj <<", b"not a pdf at all", pdf_bytes(["ok"])[:120]])
def test_corrupt_pdf_is_rejected(data: bytes) -> None:
    with pytest.raises((CorruptFile, EmptyFile)):
        extract("kaputt.pdf", data)


def test_docx_paragraphs_headings_and_tables() -> None:
    data = docx_bytes(
        "Reisekosten",
        ["Hotel bis 120 € pro Nacht.", "Bahn: 2. Klasse."],
        table=[["Stadt", "Satz"], ["München", "150 €"]],
    )
    [section] = extract("richtlinie.docx", data).sections
    assert section.section == "Reisekosten"
    assert "Hotel bis 120 € pro Nacht." in section.text
    assert "München | 150 €" in section.text


def test_corrupt_docx_is_rejected() -> None:
    with pytest.raises(CorruptFile, match="Word file"):
        extract("kaputt.docx", b"PK\x03\x04 this is no zip")


def test_text_in_utf8_and_windows_1252() -> None:
    assert extract("a.txt", "Straße für Jörg".encode()).text == "Straße für Jörg"
    assert extract("b.txt", "Straße für Jörg".encode("cp1252")).text == "Straße für Jörg"
    assert decode_text("\ufeffÄrger".encode()) == "Ärger"
    assert decode_text("Öl".encode("utf-16")) == "Öl"


def test_markdown_sections_follow_headings() -> None:
    text = "# Onboarding\n\nWillkommen!\n\n## Erster Tag\n\nLaptop abholen.\n\n```\n# kein Titel\n```\n"
    sections = extract("onboarding.md", text.encode()).sections
    assert [s.section for s in sections] == ["Onboarding", "Erster Tag"]
    assert "# kein Titel" in sections[1].text


def test_html_drops_scripts_and_keeps_structure() -> None:
    html = (
        "<html><head><style>p{}</style><script>alert(1)</script></head><body>"
        "<h1>Urlaub</h1><p>30 Tage pro Jahr.</p>"
        "<h2>Antrag</h2><ul><li>im Portal</li><li>beim Chef</li></ul>"
        "</body></html>"
    )
    sections = extract("urlaub.html", html.encode()).sections
    assert [s.section for s in sections] == ["Urlaub", "Antrag"]
    assert "alert" not in " ".join(s.text for s in sections)
    assert "30 Tage pro Jahr." in sections[0].text
    assert "im Portal" in sections[1].text and "beim Chef" in sections[1].text


def test_email_plain_and_html_body() -> None:
    result = extract("ticket.eml", eml_bytes("Drucker im 2. OG", "Der Drucker druckt nicht."))
    [section] = result.sections
    assert section.section == "Drucker im 2. OG"
    assert "From: Jörg Weiß" in section.text and "Der Drucker druckt nicht." in section.text

    html_only = eml_bytes("VPN", "", html="<p>VPN <b>bricht ab</b></p>")
    assert extract("vpn.eml", html_only).text.endswith("Subject: VPN\n\nVPN bricht ab")


@pytest.mark.parametrize(
    ("name", "data", "error", "words"),
    [
        ("leer.txt", b"", EmptyFile, "0 bytes"),
        ("leer.md", b"  \n\n \t ", EmptyFile, "no text"),
        ("scan.pdf", pdf_bytes([""]), EmptyFile, "OCR"),
        ("tabelle.xlsx", b"PK...", UnsupportedFileType, "supported: .docx"),
        ("alt.doc", b"\xd0\xcf\x11\xe0", UnsupportedFileType, "save it as .docx"),
        ("README", b"text", UnsupportedFileType, "without an extension"),
    ],
)
def test_unusable_files_get_a_clear_error(name: str, data: bytes, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        extract(name, data)


def test_too_large_file_names_both_sizes() -> None:
    with pytest.raises(FileTooLarge, match=r"3\.0 MiB; files may be at most 2\.0 MiB"):
        extract("gross.txt", b"x" * (3 * 1024 * 1024), max_bytes=2 * 1024 * 1024)
