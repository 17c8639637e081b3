"""Errors of the knowledge layer.

    DirigentError (runtime.errors)
    ├── BadRequest
    │   └── FileRejected          one uploaded file cannot be indexed; the batch goes on
    │       ├── UnsupportedFileType   extension not among SUPPORTED_TYPES
    │       ├── EmptyFile             0 bytes, or no text in it (e.g. a scanned PDF)
    │       ├── FileTooLarge          over the per-file limit
    │       ├── CorruptFile           the parser could not read it
    │       ├── ProtectedFile         password-protected (encrypted) PDF
    │       ├── FileTooComplex        over a limit of runtime/knowledge/limits.py
    │       │                         (parameters: limit, maximum, value)
    │       └── ExtractionFailed      the extraction worker ended without an answer
    │   └── UnknownEmbeddingModel     an index names a model that is neither shipped nor a
    │                                 local model directory
    └── Unavailable
        └── BackendUnavailable    the index backend (Marqo, the embedded store, the
                                  embedding model) is down or misconfigured

A `FileRejected` is recorded on its file in the ingestion job (`error` = its message,
`code` = its code, `params` = its parameters) and never fails the job as a whole.
"""

from __future__ import annotations

from runtime.errors import BadRequest, Unavailable


class FileRejected(BadRequest):
    code = "file_rejected"


class UnsupportedFileType(FileRejected):
    code = "unsupported_file_type"


class EmptyFile(FileRejected):
    code = "empty_file"


class FileTooLarge(FileRejected):
    code = "file_too_large"


class CorruptFile(FileRejected):
    code = "corrupt_file"


class ProtectedFile(FileRejected):
    code = "protected_file"


class FileTooComplex(FileRejected):
    """One of the limits of `runtime/knowledge/limits.py`; `limit` names it."""

    code = "file_too_complex"

    def __init__(self, limit: str, maximum: int | None, value: int | None = None) -> None:
        from runtime.knowledge.limits import limit_sentence, limit_variable

        variable = limit_variable(limit)
        hint = f", or ask your administrators about {variable}" if variable else ""
        super().__init__(
            f"the file is too complex to index: {limit_sentence(limit, maximum, value)} "
            f"(split it into smaller files{hint})",
            limit=limit,
            maximum=maximum,
            value=value,
        )
        self.limit = limit


class ExtractionFailed(FileRejected):
    code = "extraction_failed"


class UnknownEmbeddingModel(BadRequest):
    code = "unknown_embedding_model"


class BackendUnavailable(Unavailable):
    code = "knowledge_backend_unavailable"
