"""Text out of uploaded files, with where each part came from (page or section).

One function per format, each built on a maintained parser — pypdf, python-docx,
BeautifulSoup (the stdlib `html.parser` backend) and the stdlib `email` package; none is
hand-written. `extract(filename, data)` picks the function by the file's extension and
raises a `FileRejected` subclass with a message for people when the file cannot be used.

Every format is bounded by `IngestLimits` (`limits.py`): structure is counted before the
parser runs (`bounds.py`), the text and section labels after it. The ingestion job runs
this module in a worker process with CPU and memory limits (`extraction_pool.py`).
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import PurePath

from runtime.knowledge import bounds
from runtime.knowledge.errors import (
    CorruptFile,
    EmptyFile,
    FileRejected,
    FileTooComplex,
    FileTooLarge,
    ProtectedFile,
    UnsupportedFileType,
)
from runtime.knowledge.limits import IngestLimits


@dataclass(frozen=True)
class Section:
    """A stretch of text from one place of a file: a PDF page, a heading's section."""

    text: str
    page: int | None = None
    section: str | None = None


@dataclass(frozen=True)
class ExtractedText:
    media_type: str
    sections: list[Section]

    @property
    def text(self) -> str:
        return "\n\n".join(section.text for section in self.sections)


# -- formats ------------------------------------------------------------------------------
def extract_pdf(data: bytes, limits: IngestLimits) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError, PdfStreamError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Some PDFs are "encrypted" with an empty user password (printing rights only).
            try:
                opened = bool(reader.decrypt(""))
            except Exception:
                opened = False
            if not opened:
                raise ProtectedFile("the PDF is password-protected; upload a copy without a password")
        count = len(reader.pages)
        if count > limits.max_pages:
            raise FileTooComplex("pages", limits.max_pages, count)
        pages = []
        characters = 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            characters += len(pages[-1])
            if characters > limits.max_text_chars:
                raise FileTooComplex("text_chars", limits.max_text_chars, characters)
    except FileRejected:
        raise
    except LimitReachedError as error:  # pypdf's own bounds (stream sizes, array lengths, ...)
        raise FileTooComplex("pdf_structure", None) from error
    except FileNotDecryptedError:
        raise ProtectedFile("the PDF is password-protected; upload a copy without a password") from None
    except (
        PdfReadError,
        PdfStreamError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        AssertionError,
        RecursionError,
        ZeroDivisionError,
    ) as error:
        raise CorruptFile(f"the PDF could not be read, it seems damaged ({_short(error)})") from None
    return [Section(text=text, page=number) for number, text in enumerate(pages, start=1)]


def extract_docx(data: bytes, limits: IngestLimits) -> list[Section]:
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bounds.check_zip(archive, limits)
            bounds.check_docx_paragraphs(archive, limits)
        document = docx.Document(io.BytesIO(data))
    except FileRejected:
        raise
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as error:
        raise CorruptFile(f"the Word file could not be read, it seems damaged ({_short(error)})") from None
    # A paragraph's `style` looks its style up among all styles each time (a thousand
    # paragraphs took seconds); the names are looked up once here instead.
    paragraph_type = WD_STYLE_TYPE.PARAGRAPH
    is_heading_style = {
        style.style_id: (style.name or "").startswith(("Heading", "Überschrift", "Title", "Titel"))
        for style in document.styles
        if style.type == paragraph_type
    }
    default = document.styles.default(paragraph_type)
    # Like `Paragraph.style`: no style, or one that is not a paragraph style, means the default.
    default_is_heading = default is not None and is_heading_style.get(default.style_id, False)
    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if any(line.strip() for line in lines):
            sections.append(Section(text="\n\n".join(lines), section=heading))
        lines.clear()

    for block in document.iter_inner_content():
        if isinstance(block, docx.table.Table):
            for row in block.rows:
                cells = [cell.text.strip() for cell in row.cells]
                # Merged cells repeat their text in every grid cell they span.
                unique = [text for index, text in enumerate(cells) if text and text not in cells[:index]]
                if unique:
                    lines.append(" | ".join(unique))
            continue
        text = block.text.strip()
        style_id = block._p.style  # the paragraph's own style id, or None
        is_heading = is_heading_style.get(style_id, default_is_heading) if style_id else default_is_heading
        if is_heading and text:
            flush()
            heading = text
            lines.append(text)
        elif text:
            lines.append(text)
    flush()
    return sections


def extract_text(data: bytes, limits: IngestLimits) -> list[Section]:
    return [Section(text=decode_text(data))]


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def extract_markdown(data: bytes, limits: IngestLimits) -> list[Section]:
    """Split at headings, so a passage names the section it comes from."""
    return split_at_headings(decode_text(data))


def split_at_headings(text: str) -> list[Section]:
    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = None if fenced else _MD_HEADING.match(line)
        if match:
            if "".join(lines).strip():
                sections.append(Section(text="\n".join(lines).strip(), section=heading))
            heading, lines = match.group(2), [match.group(2)]
        else:
            lines.append(line)
    if "".join(lines).strip():
        sections.append(Section(text="\n".join(lines).strip(), section=heading))
    return sections


_BLOCK_TAGS = (
    "p",
    "div",
    "li",
    "tr",
    "br",
    "table",
    "ul",
    "ol",
    "section",
    "article",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
)


_SKIPPED_TAGS = ("script", "style", "noscript", "template", "head", "svg", "iframe")
_HEADING_LEVELS = {f"h{level}": level for level in range(1, 7)}


def extract_html(data: bytes | str, limits: IngestLimits) -> list[Section]:
    from bs4 import BeautifulSoup, CData, NavigableString, UnicodeDammit

    if isinstance(data, bytes):  # decoded as BeautifulSoup would, so the scan sees its text
        data = UnicodeDammit(data, is_html=True).unicode_markup or decode_text(data)
    bounds.check_html(data, limits)
    soup = BeautifulSoup(data, "html.parser")
    # Headings become Markdown headings and blocks paragraphs, then that split is reused.
    # One walk over the tree with a stack of its own: inserting the separators into the
    # tree instead grew with the square of the elements (a 10,000-paragraph page: 50 s).
    parts: list[str] = []
    pending: list[tuple[object, bool]] = [(soup, False)]
    while pending:
        node, leaving = pending.pop()
        if leaving:
            parts.append("\n\n")
            continue
        if isinstance(node, NavigableString):
            if type(node) in (NavigableString, CData):  # what get_text() takes: no comments
                parts.append(str(node))
            continue
        name = getattr(node, "name", None)
        if name in _SKIPPED_TAGS:
            continue
        if name in _HEADING_LEVELS:
            title = " ".join(node.get_text(" ").split())  # type: ignore[attr-defined]
            parts.append(f"\n\n{'#' * _HEADING_LEVELS[name]} {title}\n\n" if title else "")
            continue
        if name in _BLOCK_TAGS:
            parts.append("\n\n")
            pending.append((node, True))
        pending.extend((child, False) for child in reversed(node.contents))  # type: ignore[attr-defined]
    text = "".join(parts)
    paragraphs = [
        " ".join(part.split()) if not part.lstrip().startswith("#") else part.strip()
        for part in re.split(r"\n\s*\n", text)
    ]
    return split_at_headings("\n\n".join(part for part in paragraphs if part))


def extract_email(data: bytes, limits: IngestLimits) -> list[Section]:
    bounds.check_email_headers(data, limits)
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
    except Exception as error:  # the stdlib parser is lenient; this is a real failure
        raise CorruptFile(f"the e-mail could not be read ({_short(error)})") from None
    if not isinstance(message, EmailMessage):
        raise CorruptFile("the e-mail could not be read")
    parts = sum(1 for _ in message.walk())
    if parts > limits.max_mime_parts:
        raise FileTooComplex("mime_parts", limits.max_mime_parts, parts)
    subject = str(message.get("subject", "") or "").strip()
    header = [
        f"{name}: {value}"
        for name in ("From", "To", "Date", "Subject")
        if (value := str(message.get(name, "") or "").strip())
    ]
    sections: list[Section] = []
    # Plain text first; an empty plain part next to an HTML one is common (HTML mailers).
    for preference in ("plain", "html"):
        part = message.get_body(preferencelist=(preference,))
        if part is None:
            continue
        try:
            content = str(part.get_content())
        except (LookupError, ValueError):  # unknown charset: decode the raw bytes leniently
            raw = part.get_payload(decode=True)
            content = decode_text(raw if isinstance(raw, bytes) else b"")
        if not content.strip():
            continue
        if part.get_content_type() == "text/html":
            sections = [
                Section(s.text, section=s.section or subject or None) for s in extract_html(content, limits)
            ]
        else:
            sections = [Section(content.strip(), section=subject or None)]
        break
    header_text = "\n".join(header)
    if sections:
        sections[0] = Section(f"{header_text}\n\n{sections[0].text}", section=sections[0].section)
    elif header_text:
        sections = [Section(header_text, section=subject or None)]
    return sections


# -- choosing -----------------------------------------------------------------------------
Extractor = Callable[[bytes, IngestLimits], list[Section]]

SUPPORTED_TYPES: dict[str, tuple[str, Extractor]] = {
    ".pdf": ("application/pdf", extract_pdf),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", extract_docx),
    ".txt": ("text/plain", extract_text),
    ".text": ("text/plain", extract_text),
    ".md": ("text/markdown", extract_markdown),
    ".markdown": ("text/markdown", extract_markdown),
    ".html": ("text/html", extract_html),
    ".htm": ("text/html", extract_html),
    ".eml": ("message/rfc822", extract_email),
}

_HINTS = {
    ".doc": " (save it as .docx in Word first)",
    ".rtf": " (save it as .docx first)",
    ".msg": " (save the Outlook message as .eml first)",
    ".odt": " (save it as .docx first)",
}


def supported_extensions() -> list[str]:
    return sorted(SUPPORTED_TYPES)


def check_supported(filename: str) -> str:
    """The file's extension (lower case) if supported, else `UnsupportedFileType`."""
    extension = PurePath(filename).suffix.lower()
    if extension not in SUPPORTED_TYPES:
        shown = f"'{extension}'" if extension else "without an extension"
        raise UnsupportedFileType(
            f"files of type {shown} are not supported{_HINTS.get(extension, '')}; "
            f"supported: {', '.join(supported_extensions())}"
        )
    return extension


def extract(
    filename: str, data: bytes, *, max_bytes: int | None = None, limits: IngestLimits | None = None
) -> ExtractedText:
    """The text of `data`, read as the type its `filename` names, within `limits`.

    Raises:
        FileRejected: unsupported type, 0 bytes, over `max_bytes`, damaged, password
            protected, over a limit (`FileTooComplex`), or no text in it; the message
            says which and what to do.
    """
    limits = limits or IngestLimits()
    extension = check_supported(filename)
    if not data:
        raise EmptyFile("the file is empty (0 bytes)")
    if max_bytes is not None and len(data) > max_bytes:
        raise FileTooLarge(too_large_message(len(data), max_bytes))
    media_type, extractor = SUPPORTED_TYPES[extension]
    raw = extractor(data, limits)
    characters = sum(len(section.text) for section in raw)
    if characters > limits.max_text_chars:
        raise FileTooComplex("text_chars", limits.max_text_chars, characters)
    sections = [Section(clean(s.text), s.page, label(s.section, limits)) for s in raw]
    sections = [s for s in sections if s.text]
    if not sections:
        hint = " (a scanned PDF needs text recognition (OCR) first)" if extension == ".pdf" else ""
        raise EmptyFile(f"the file contains no text{hint}")
    return ExtractedText(media_type, sections)


def label(section: str | None, limits: IngestLimits) -> str | None:
    """A section label as passages carry it: one line, cut at `max_label_chars`. Every
    passage of the section repeats it, so its length counts once per passage."""
    if section is None:
        return None
    text = " ".join(section[: limits.max_label_chars * 2].split())
    if len(text) > limits.max_label_chars:
        text = text[: limits.max_label_chars - 1].rstrip() + "…"
    return text or None


def too_large_message(size: int, max_bytes: int) -> str:
    return f"the file is {_mib(size)}; files may be at most {_mib(max_bytes)}"


# -- helpers ------------------------------------------------------------------------------
def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 — what German
    office PCs write — and Latin-1 as the last resort (it decodes every byte)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


_SOFT_HYPHEN = "\u00ad"


def clean(text: str) -> str:
    """Normalise whitespace and join words a PDF hyphenated at a line end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace(_SOFT_HYPHEN, "").replace("\x00", "")
    text = re.sub(r"([a-zäöüß])-\n([a-zäöüß])", r"\1\2", text)
    text = re.sub(r"[ \t\f\v\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def _short(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text[:160]
