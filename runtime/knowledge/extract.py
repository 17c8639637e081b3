"""Text out of uploaded files, with where each part came from (page or section).

One function per format, each built on a maintained parser — pypdf, python-docx,
BeautifulSoup (the stdlib `html.parser` backend) and the stdlib `email` package; none is
hand-written. `extract(filename, data)` picks the function by the file's extension and
raises a `FileRejected` subclass with a message for people when the file cannot be used.
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

from runtime.knowledge.errors import (
    CorruptFile,
    EmptyFile,
    FileRejected,
    FileTooLarge,
    ProtectedFile,
    UnsupportedFileType,
)


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
def extract_pdf(data: bytes) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError, PdfStreamError

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
        pages = [page.extract_text() or "" for page in reader.pages]
    except FileRejected:
        raise
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


def extract_docx(data: bytes) -> list[Section]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise CorruptFile(f"the Word file could not be read, it seems damaged ({_short(error)})") from None
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
        style = (block.style.name if block.style is not None else "") or ""
        if style.startswith(("Heading", "Überschrift", "Title", "Titel")) and text:
            flush()
            heading = text
            lines.append(text)
        elif text:
            lines.append(text)
    flush()
    return sections


def extract_text(data: bytes) -> list[Section]:
    return [Section(text=decode_text(data))]


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def extract_markdown(data: bytes) -> list[Section]:
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


def extract_html(data: bytes | str) -> list[Section]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe"]):
        tag.decompose()
    # Mark headings as Markdown headings and blocks as paragraphs, then reuse that split.
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            title = " ".join(tag.get_text(" ").split())
            tag.replace_with(f"\n\n{'#' * level} {title}\n\n" if title else "")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = soup.get_text()
    paragraphs = [
        " ".join(part.split()) if not part.lstrip().startswith("#") else part.strip()
        for part in re.split(r"\n\s*\n", text)
    ]
    return split_at_headings("\n\n".join(part for part in paragraphs if part))


def extract_email(data: bytes) -> list[Section]:
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
    except Exception as error:  # the stdlib parser is lenient; this is a real failure
        raise CorruptFile(f"the e-mail could not be read ({_short(error)})") from None
    if not isinstance(message, EmailMessage):
        raise CorruptFile("the e-mail could not be read")
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
            sections = [Section(s.text, section=s.section or subject or None) for s in extract_html(content)]
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
Extractor = Callable[[bytes], list[Section]]

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


def extract(filename: str, data: bytes, *, max_bytes: int | None = None) -> ExtractedText:
    """The text of `data`, read as the type its `filename` names.

    Raises:
        FileRejected: unsupported type, 0 bytes, over `max_bytes`, damaged, password
            protected, or no text in it; the message says which and what to do.
    """
    extension = check_supported(filename)
    if not data:
        raise EmptyFile("the file is empty (0 bytes)")
    if max_bytes is not None and len(data) > max_bytes:
        raise FileTooLarge(too_large_message(len(data), max_bytes))
    media_type, extractor = SUPPORTED_TYPES[extension]
    sections = [Section(clean(s.text), s.page, s.section) for s in extractor(data)]
    sections = [s for s in sections if s.text]
    if not sections:
        hint = " (a scanned PDF needs text recognition (OCR) first)" if extension == ".pdf" else ""
        raise EmptyFile(f"the file contains no text{hint}")
    return ExtractedText(media_type, sections)


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
