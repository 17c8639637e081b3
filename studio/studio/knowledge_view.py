"""The knowledge page's data as people read it: indexes, documents, an upload's progress
and search hits as display rows, file errors in words (pure functions, no Reflex)."""

from __future__ import annotations

from typing import Any

from studio.api_types import HitOut, IndexOut
from studio.i18n import describe, has_text, translate

JOB_ACTIVE = ("queued", "running")
FILE_ACTIVE = ("queued", "running")
# The runtime's codes of a file it could not index; anything else shows its own message.
FILE_ERROR_CODES = (
    "unsupported_file_type",
    "empty_file",
    "file_too_large",
    "corrupt_file",
    "protected_file",
    "duplicate_name",
    "extraction_failed",
)
# Limits whose numbers are bytes (shown in MB); the others are counts or seconds.
BYTE_LIMITS = ("decompressed_bytes", "document_bytes")


def size_text(size: Any) -> str:
    try:
        value = float(size or 0)
    except (TypeError, ValueError):
        return ""
    for unit in ("B", "KB", "MB"):
        if value < 1024 or unit == "MB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def moment(value: Any) -> str:
    """`2026-11-03T08:15:02Z` as `2026-11-03 08:15` (UTC)."""
    return str(value or "")[:16].replace("T", " ")


def index_row(index: IndexOut) -> dict[str, str]:
    return {
        "id": str(index["id"]),
        "name": str(index.get("name") or ""),
        "description": str(index.get("description") or ""),
        "labels": ", ".join(index.get("labels") or []),
        "backend": str(index.get("backend") or ""),
    }


def document_row(document: dict[str, Any], lang: str) -> dict[str, str]:
    return {
        "id": str(document["id"]),
        "filename": str(document.get("filename") or ""),
        "labels": ", ".join(document.get("labels") or []),
        "chunks": str(document.get("chunks") or 0),
        "size": size_text(document.get("size_bytes")),
        "updated": moment(document.get("updated_at") or document.get("created_at")),
        "status": "indexed",
        "status_text": translate("file_status_indexed", lang),
    }


def number_text(value: Any, lang: str, *, as_bytes: bool = False) -> str:
    """`100000` as "100.000" (German) or "100,000"; bytes as whole megabytes."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "?"
    if as_bytes:
        return f"{number_text(round(number / (1024 * 1024)), lang)} MB"
    text = f"{round(number):,}"
    return text.replace(",", ".") if lang == "de" else text


def too_complex(params: dict[str, Any], lang: str) -> str:
    """A refusal by one of ingestion's limits (`file_too_complex`), with its numbers."""
    limit = str(params.get("limit") or "")
    key = f"file_too_complex_{limit}"
    as_bytes = limit in BYTE_LIMITS
    text = (
        translate(
            key,
            lang,
            value=number_text(params.get("value"), lang, as_bytes=as_bytes),
            maximum=number_text(params.get("maximum"), lang, as_bytes=as_bytes),
        )
        if has_text(key)
        else translate("file_error_file_too_complex", lang)
    )
    return f"{text} {translate('file_too_complex_advice', lang)}"


def file_error(entry: dict[str, Any], lang: str) -> str:
    """Why a file of an upload was not indexed, in words."""
    code = str(entry.get("code") or "")
    if code == "file_too_complex":
        return too_complex(dict(entry.get("params") or {}), lang)
    if code == "extra_missing":  # a PDF, DOCX or HTML file where the 'knowledge' extra is absent
        return describe("extra_missing", dict(entry.get("params") or {}), lang) or code
    if code in FILE_ERROR_CODES:
        return translate(f"file_error_{code}", lang)
    message = str(entry.get("error") or code or "")
    return translate("file_error_other", lang, message=message)


def file_rows(job: dict[str, Any], lang: str) -> list[dict[str, str]]:
    rows = []
    for entry in job.get("files") or []:
        status = str(entry.get("status") or "queued")
        rows.append(
            {
                "name": str(entry.get("name") or ""),
                "status": status,
                "status_text": translate(f"file_status_{status}", lang),
                "chunks": str(entry.get("chunks") or 0),
                "error": file_error(entry, lang) if status == "failed" else "",
            }
        )
    return rows


def job_progress(job: dict[str, Any]) -> int:
    """Percent of the upload's files that are done (indexed, unchanged or failed)."""
    total = int(job.get("files_total") or 0)
    if total <= 0:
        return 0 if job.get("status") in JOB_ACTIVE else 100
    return round(100 * int(job.get("files_done") or 0) / total)


def job_summary(job: dict[str, Any], lang: str) -> str:
    values = {
        "done": int(job.get("files_done") or 0),
        "total": int(job.get("files_total") or 0),
        "chunks": int(job.get("chunks_done") or 0),
        "failed": int(job.get("files_failed") or 0),
    }
    key = "job_running" if job.get("status") in JOB_ACTIVE else f"job_{job.get('status') or 'failed'}"
    return translate(key, lang, **values)


def documents_with_uploads(
    documents: list[dict[str, str]], files: list[dict[str, str]], lang: str
) -> list[dict[str, str]]:
    """The index's documents, and the files of the running upload that are not indexed yet."""
    known = {row["filename"] for row in documents}
    pending = [
        {
            "id": "",
            "filename": entry["name"],
            "labels": "",
            "chunks": "",
            "size": "",
            "updated": "",
            "status": entry["status"],
            "status_text": translate(f"file_status_{entry['status']}", lang),
        }
        for entry in files
        if entry["status"] in FILE_ACTIVE and entry["name"] not in known
    ]
    return pending + documents


def hit_row(hit: HitOut) -> dict[str, str]:
    return {
        "id": str(hit.get("chunk_id") or ""),
        "text": str(hit.get("text") or ""),
        "source": str(hit.get("source") or ""),
        "page": "" if hit.get("page") in (None, "") else str(hit.get("page")),
        "section": str(hit.get("section") or ""),
        "score": f"{float(hit.get('score') or 0):.2f}",
        "labels": ", ".join(hit.get("labels") or []),
    }


def parse_labels(text: str) -> list[str]:
    """`vertrieb, Intern` -> ["intern", "vertrieb"] (the runtime checks each one)."""
    return sorted({part.strip().lower() for part in text.replace(";", ",").split(",") if part.strip()})
