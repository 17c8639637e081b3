"""Hostile files, built by code (none is committed): each one made an ingestion job run
for minutes, fill the disk or exhaust memory before the limits of `limits.py`.

Zip formats are written entry by entry through `zipfile` with deflate, so a file that
unpacks to a gigabyte is a megabyte here and built in a second or two.
"""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage

_W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    b'<Override PartName="/word/styles.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
    b"</Types>"
)
_DOCUMENT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    b'Target="styles.xml"/></Relationships>'
)
_STYLES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles ' + _W + b">"
    b'<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>'
    b'<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style>'
    b"</w:styles>"
)
_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    b'Target="word/document.xml"/></Relationships>'
)


def _docx(write_body: object, extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal DOCX package whose document.xml body `write_body(stream)` writes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/_rels/document.xml.rels", _DOCUMENT_RELS)
        archive.writestr("word/styles.xml", _STYLES)
        with archive.open("word/document.xml", "w", force_zip64=True) as stream:
            stream.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document ' + _W + b"><w:body>"
            )
            write_body(stream)  # type: ignore[operator]
            stream.write(b"</w:body></w:document>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def docx_text(paragraphs: list[str], headings: frozenset[int] = frozenset()) -> bytes:
    """A valid DOCX with these paragraphs; those at `headings` in the style Heading 1."""
    heading = b'<w:pPr><w:pStyle w:val="Heading1"/></w:pPr>'
    body = b"".join(
        b"<w:p>"
        + (heading if number in headings else b"")
        + b"<w:r><w:t>"
        + text.encode()
        + b"</w:t></w:r></w:p>"
        for number, text in enumerate(paragraphs)
    )
    return _docx(lambda stream: stream.write(body))


def empty_paragraphs_docx(count: int = 10_000_000) -> bytes:
    """`count` empty paragraphs: 60 MB of XML in ~124 KB (python-docx ran > 150 s on it)."""
    block = b"<w:p/>" * 100_000

    def body(stream: io.BufferedIOBase) -> None:
        for _ in range(count // 100_000):
            stream.write(block)

    return _docx(body)


def zip_bomb_docx(unpacked: int = 320 * 1024 * 1024) -> bytes:
    """A DOCX whose document.xml is one paragraph of `unpacked` bytes of spaces (~0.3 MB packed)."""
    chunk = b" " * (1024 * 1024)

    def body(stream: io.BufferedIOBase) -> None:
        stream.write(b"<w:p><w:r><w:t>")
        for _ in range(unpacked // len(chunk)):
            stream.write(chunk)
        stream.write(b"</w:t></w:r></w:p>")

    return _docx(body)


def many_entries_docx(entries: int = 5_000) -> bytes:
    """A valid DOCX that also packs `entries` empty files."""
    return _docx(
        lambda stream: stream.write(b"<w:p><w:r><w:t>Hallo</w:t></w:r></w:p>"),
        {f"customXml/item{number}.bin": b"" for number in range(entries)},
    )


def nested_divs_html(depth: int = 100_000) -> bytes:
    """1.1 MB of <div> inside <div> (8 min 52 s before the limits)."""
    return b"<html><body>" + b"<div>" * depth + b"Hallo Welt" + b"</div>" * depth + b"</body></html>"


def flat_paragraphs_html(count: int) -> bytes:
    return b"<html><body>" + b"<p>Wort und Satz</p>" * count + b"</body></html>"


def _eml(subject: str, body: str, html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "angreifer@example.com"
    message["To"] = "wissen@example.de"
    message["Subject"] = subject
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def long_subject_eml(length: int = 5_000_000) -> bytes:
    """A 5 MB Subject: repeated as the label of every passage, it grew the WAL to 15.7 GB."""
    # Written raw: the email package would fold (and take minutes over) such a header.
    return (
        b"From: angreifer@example.com\r\nTo: wissen@example.de\r\nSubject: "
        + b"Betreff" * (length // 7)
        + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo.\r\n"
    )


def nested_divs_eml(depth: int = 100_000) -> bytes:
    """An HTML e-mail with `depth` nested <div>."""
    html = "<html><body>" + "<div>" * depth + "Hallo" + "</div>" * depth + "</body></html>"
    return bytes(_eml("Newsletter", "", html=html))


_TEXT = b"BT /F1 11 Tf 50 750 Td (Seite) Tj ET"


def many_pages_pdf(pages: int = 3_000) -> bytes:
    """A valid PDF with `pages` pages that share one content stream."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % (5 + page) for page in range(pages))
        + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(_TEXT), _TEXT),
    ]
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
        b"/Contents 4 0 R >>"
    )
    objects += [page] * pages
    return _pdf(objects)


def flate_bomb_pdf(unpacked: int = 128 * 1024 * 1024) -> bytes:
    """A one-page PDF whose text content stream inflates to `unpacked` bytes (~0.1 MB packed)."""
    import zlib

    packer = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    packed = packer.compress(_TEXT)
    packed += b"".join(packer.compress(chunk) for _ in range(unpacked // len(chunk))) + packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return _pdf(objects)


def _pdf(objects: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def many_passages_text(sentences: int = 60_000) -> bytes:
    """Plain prose that cuts into more passages than a document may have (with
    `max_chars` 100, about one passage per two sentences)."""
    return " ".join(f"Satz {number} über den Urlaub." for number in range(sentences)).encode()
