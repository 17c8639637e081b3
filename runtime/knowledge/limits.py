"""Limits of ingestion: how much work one file may cause, in one place.

A file that exceeds a limit is refused on its own — the other files of its job go on —
with the error `file_too_complex` and the parameters `{"limit": <name>, "maximum": <n>,
"value": <n or null>}`; the studio words it from the name (`i18n_operate.py`).

What each group guarantees:

* Structure (`max_nesting_depth`, `max_elements`, `max_paragraphs`, `max_zip_entries`,
  `max_decompressed_bytes`, `max_pages`, `max_header_chars`, `max_email_headers`,
  `max_mime_parts`): checked by cheap scans *before* a parser builds the file in memory,
  so no parser sees a file that would make it quadratic or unpack it a thousandfold.
* Output (`max_text_chars`, `max_chunks`, `max_document_bytes`, `max_label_chars`): the
  text, the passages and the bytes one document adds to an index are bounded, so the
  embedding work of a file (chunks times the model) and what it writes (SQLite + WAL) are too.
  `max_label_chars` cuts a passage's section label (an e-mail subject, a heading) rather
  than refusing the file.
* Resources (`cpu_seconds`, `memory_mb`, `timeout_s`): extraction and chunking run in
  worker processes (`extraction_pool.py`) with `RLIMIT_CPU` and `RLIMIT_AS` set in the
  child; a worker that exceeds them is ended and only its file fails. `timeout_s` is the
  wall-clock backstop the parent enforces.

Every limit can be set with `DIRIGENT_KNOWLEDGE_LIMIT_<NAME>`, e.g.
`DIRIGENT_KNOWLEDGE_LIMIT_MAX_CHUNKS=10000`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class IngestLimits(BaseSettings):
    """`DIRIGENT_KNOWLEDGE_LIMIT_*`: the bounds of one file's ingestion."""

    model_config = SettingsConfigDict(env_prefix="DIRIGENT_KNOWLEDGE_LIMIT_", extra="ignore", frozen=True)

    # -- structure, checked before parsing ----------------------------------------------
    max_nesting_depth: int = Field(512, ge=8, description="HTML elements inside each other (files, e-mails)")
    max_elements: int = Field(
        100_000, ge=100, description="HTML elements (start tags) of a file or e-mail body"
    )
    max_paragraphs: int = Field(100_000, ge=100, description="Paragraphs of a Word file (table cells too)")
    max_zip_entries: int = Field(1_000, ge=10, description="Files packed inside a Word file (a zip archive)")
    max_decompressed_bytes: int = Field(
        256 * MIB, ge=MIB, description="Bytes a Word file unpacks to, all its packed files together"
    )
    max_pages: int = Field(2_000, ge=1, description="Pages of a PDF")
    max_header_chars: int = Field(16_384, ge=998, description="Characters of one e-mail header (unfolded)")
    max_email_headers: int = Field(1_000, ge=10, description="Header lines of an e-mail")
    max_mime_parts: int = Field(1_000, ge=2, description="MIME parts of an e-mail (attachments and bodies)")
    # -- output -------------------------------------------------------------------------
    max_text_chars: int = Field(10_000_000, ge=10_000, description="Characters of text extracted from a file")
    max_chunks: int = Field(5_000, ge=10, description="Passages per document (bounds its embedding work)")
    max_document_bytes: int = Field(
        32 * MIB, ge=MIB, description="Bytes of passage text and labels one document writes to an index"
    )
    max_label_chars: int = Field(
        200, ge=20, description="Characters of a passage's section label (longer ones are cut, not refused)"
    )
    # -- resources of the worker process --------------------------------------------------
    cpu_seconds: int = Field(60, ge=1, description="CPU seconds to extract and chunk one file (RLIMIT_CPU)")
    memory_mb: int = Field(2048, ge=128, description="Address space of an extraction worker, MiB (RLIMIT_AS)")
    timeout_s: float = Field(300.0, gt=0, description="Wall-clock seconds per file until its worker is ended")


# The English sentence per limit (the studio has German and English ones of its own,
# `file_too_complex_<limit>`). Scans stop at the first element over a limit, so where the
# full count is not known the sentence says "more than {maximum}".
LIMIT_SENTENCES: dict[str, str] = {
    "nesting_depth": "its elements are nested more than {maximum:,} levels deep",
    "elements": "it has more than {maximum:,} HTML elements",
    "paragraphs": "it has more than {maximum:,} paragraphs",
    "zip_entries": "it packs {value:,} files; at most {maximum:,} are allowed",
    "decompressed_bytes": "it unpacks to {value:,} bytes; at most {maximum:,} are allowed",
    "pages": "it has {value:,} pages; at most {maximum:,} are allowed",
    "header_chars": "an e-mail header is {value:,} characters long; at most {maximum:,} are allowed",
    "email_headers": "it has more than {maximum:,} e-mail headers",
    "mime_parts": "it has more than {maximum:,} MIME parts",
    "text_chars": "its text is {value:,} characters long; at most {maximum:,} are allowed",
    "chunks": "it makes more than {maximum:,} passages",
    "document_bytes": "its passages take {value:,} bytes; at most {maximum:,} are allowed",
    "cpu_seconds": "reading it takes more than {maximum:,} seconds of CPU time",
    "memory_mb": "reading it needs more than {maximum:,} MiB of memory",
    "timeout_s": "reading it takes longer than {maximum:,} seconds",
    "pdf_structure": "the PDF exceeds a safety limit of the PDF reader",
}


def limit_variable(limit: str) -> str | None:
    """The environment variable that sets `limit`, if it is one of ours."""
    for name in (limit, f"max_{limit}"):
        if name in IngestLimits.model_fields:
            return f"DIRIGENT_KNOWLEDGE_LIMIT_{name.upper()}"
    return None


def limit_sentence(limit: str, maximum: int | float | None, value: int | None) -> str:
    template = LIMIT_SENTENCES.get(limit, "it exceeds the limit " + limit)
    return template.format(maximum=maximum or 0, value=value or 0)
