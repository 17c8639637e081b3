"""The audit trail: an append-only, hash-chained log of every change, decision and
invocation (`runtime.audit.service`)."""

from runtime.audit.service import (
    GENESIS_HASH,
    Event,
    VerifyResult,
    append,
    append_many,
    compute_entry_hash,
    entry_as_json,
    export_jsonl,
    list_entries,
    verify,
)

__all__ = [
    "GENESIS_HASH",
    "Event",
    "VerifyResult",
    "append",
    "append_many",
    "compute_entry_hash",
    "entry_as_json",
    "export_jsonl",
    "list_entries",
    "verify",
]
