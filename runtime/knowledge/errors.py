"""Errors of the knowledge layer.

    DirigentError (runtime.errors)
    ├── BadRequest
    │   └── FileRejected          one uploaded file cannot be indexed; the batch goes on
    │       ├── UnsupportedFileType   extension not among SUPPORTED_TYPES
    │       ├── EmptyFile             0 bytes, or no text in it (e.g. a scanned PDF)
    │       ├── FileTooLarge          over the per-file limit
    │       ├── CorruptFile           the parser could not read it
    │       └── ProtectedFile         password-protected (encrypted) PDF
    │   └── UnknownEmbeddingModel     an index names a model that is neither shipped nor a
    │                                 local model directory
    └── Unavailable
        └── BackendUnavailable    the index backend (Marqo, the embedded store, the
                                  embedding model) is down or misconfigured

A `FileRejected` is recorded on its file in the ingestion job (`error` = its message,
`code` = its code) and never fails the job as a whole.
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


class UnknownEmbeddingModel(BadRequest):
    code = "unknown_embedding_model"


class BackendUnavailable(Unavailable):
    code = "knowledge_backend_unavailable"
