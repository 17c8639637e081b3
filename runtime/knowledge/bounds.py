"""Cheap scans that a file stays within the structural limits, run before its parser.

A parser that builds a file in memory (BeautifulSoup, python-docx, the `email` package)
costs far more per element than counting the elements does, and some of their work grows
faster than the file (BeautifulSoup's tree operations with depth, for one). So each
format is counted first, in one linear pass that never holds more than the raw bytes,
and refused with `FileTooComplex` at the first element over a limit
(`runtime/knowledge/limits.py`).
"""

from __future__ import annotations

import re
import zipfile

from runtime.knowledge.errors import FileTooComplex
from runtime.knowledge.limits import IngestLimits

# -- HTML -----------------------------------------------------------------------------------
# Elements that never have content (BeautifulSoup's html.parser builder closes them at once).
_VOID = frozenset(
    {
        *("area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "menuitem"),
        *("meta", "param", "source", "track", "wbr", "basefont", "bgsound", "command", "frame"),
        *("image", "isindex", "nextid", "spacer"),
    }
)
# Their content is text, not markup (as for the stdlib HTMLParser).
_RAW_TEXT = ("script", "style")
_TAG = re.compile(r"<!--.*?(?:-->|\Z)|<(/?)([A-Za-z][^\s/>]*)[^>]*?(/?)>", re.DOTALL)


def check_html(text: str, limits: IngestLimits) -> None:
    """Elements and nesting as BeautifulSoup (html.parser) builds them: an unclosed tag
    stays open (`<li>a<li>b` nests), an end tag closes up to the latest open element of
    its name and is ignored if none is open."""
    max_depth, max_elements = limits.max_nesting_depth, limits.max_elements
    stack: list[str] = []
    open_count: dict[str, int] = {}
    elements = 0
    position = 0
    lowered: str | None = None  # the text in lower case, made once if a raw-text element occurs
    while (match := _TAG.search(text, position)) is not None:
        position = match.end()
        name = match.group(2)
        if name is None:  # a comment
            continue
        name = name.lower()
        if match.group(1):  # an end tag
            if open_count.get(name):
                while stack:
                    closed = stack.pop()
                    open_count[closed] -= 1
                    if closed == name:
                        break
            continue
        elements += 1
        if elements > max_elements:
            raise FileTooComplex("elements", max_elements)
        if name in _RAW_TEXT:
            lowered = lowered if lowered is not None else text.lower()
            end = lowered.find(f"</{name}", position)
            position = len(text) if end < 0 else end
        if name in _VOID or match.group(3):
            continue
        stack.append(name)
        open_count[name] = open_count.get(name, 0) + 1
        if len(stack) > max_depth:
            raise FileTooComplex("nesting_depth", max_depth)


# -- zip formats (DOCX) ---------------------------------------------------------------------
# A paragraph element in any namespace prefix (`<w:p>`, `<w:p w:rsidR=…>`, `<ns0:p/>`).
_PARAGRAPH = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,31}:)?p[\s/>]")
_LONGEST_PARAGRAPH_TAG = 36
_READ = 1024 * 1024


def check_zip(archive: zipfile.ZipFile, limits: IngestLimits) -> None:
    """Entries and unpacked size from the archive's directory. The declared sizes bound
    the real ones: `zipfile` never inflates an entry past its declared size (and fails
    its CRC check if the data differ)."""
    entries = archive.infolist()
    if len(entries) > limits.max_zip_entries:
        raise FileTooComplex("zip_entries", limits.max_zip_entries, len(entries))
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > limits.max_decompressed_bytes:
        raise FileTooComplex("decompressed_bytes", limits.max_decompressed_bytes, unpacked)


def check_docx_paragraphs(archive: zipfile.ZipFile, limits: IngestLimits) -> None:
    """Paragraphs in the XML parts, counted while they are inflated piece by piece."""
    maximum = limits.max_paragraphs
    count = 0
    overlap = _LONGEST_PARAGRAPH_TAG - 1
    for entry in archive.infolist():
        if not entry.filename.endswith(".xml"):
            continue
        with archive.open(entry) as stream:
            carry = b""
            while True:
                piece = stream.read(_READ)
                buffer = carry + piece
                # A tag that starts in the last `overlap` bytes may go on in the next piece:
                # it is counted there, where it is whole.
                counted_below = len(buffer) if not piece else max(len(buffer) - overlap, 0)
                for match in _PARAGRAPH.finditer(buffer):
                    if match.start() >= counted_below:
                        break
                    count += 1
                if count > maximum:
                    raise FileTooComplex("paragraphs", maximum)
                if not piece:
                    break
                carry = buffer[counted_below:]


# -- e-mail ---------------------------------------------------------------------------------
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def check_email_headers(data: bytes, limits: IngestLimits) -> None:
    """Header lines and the longest header (folded lines joined), from the raw header
    block: the `email` package's header parser is far slower per character than this."""
    end = _HEADER_END.search(data)
    block = data[: end.start() if end else len(data)]
    headers = longest = current = 0
    for line in block.split(b"\n"):
        if line[:1] in (b" ", b"\t") and headers:  # a folded continuation of the last header
            current += len(line)
        else:
            headers += 1
            if headers > limits.max_email_headers:
                raise FileTooComplex("email_headers", limits.max_email_headers)
            current = len(line)
        longest = max(longest, current)
    if longest > limits.max_header_chars:
        raise FileTooComplex("header_chars", limits.max_header_chars, longest)
