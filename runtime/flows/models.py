"""The `flow_drafts` table (migration 0009_working_copies): each flow's working copy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db.models import Base, UTCDateTime, utcnow


class FlowDraft(Base):
    """The document a champion is working on: autosaved, kept even when it is invalid.

    Versions are cut from it (`runtime.flows.drafts.cut_version`); it is never run and
    never approved. `revision` goes up by one with every write of the document, and is
    the ETag writers must send back (`If-Match`), so two tabs cannot overwrite each other
    unnoticed. `base_version` is the number of the version it was last cut as or started
    from; cutting does not change `revision` (the document stays what it was).
    """

    __tablename__ = "flow_drafts"
    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"), primary_key=True)
    # Any JSON at all (an unfinished document need not even be an object); at most 1 MiB.
    document: Mapped[Any] = mapped_column(JSON)
    base_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
