"""What `/api/audit` answers with (`runtime/audit/controller.py`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class AuditEntryOut(BaseModel):
    """One entry: exactly the hashed fields plus `entry_hash` (verifiable offline)."""

    seq: int
    at: str
    actor: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    version_hash: str | None
    detail: dict[str, Any]
    prev_hash: str
    entry_hash: str


class AnchorsOut(BaseModel):
    """The chain compared with the anchors in the anchor file (see runtime/audit/anchors.py)."""

    ok: bool
    anchors: int
    last_anchored_seq: int
    last_anchored_at: str | None
    unanchored_entries: int
    problems: list[str]


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None
    problem: str | None
    last_hash: str | None
    warnings: list[str]
    anchors: AnchorsOut


class AnchorOut(BaseModel):
    seq: int
    entry_hash: str
    anchored_at: str
    key_id: str
    signature: str
    written_to: list[str]
    failed: dict[str, str]
