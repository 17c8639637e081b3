"""ORM row of the testing domain (table created by migration 0004_test_reports).

test_reports   one run of a version's test cases: mode (fixed or live), the result of
               every case, who ran it and when. Only `fixed` reports gate submission;
               the latest one of a version decides.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db.models import Base, UTCDateTime, new_id, utcnow


class TestReport(Base):
    __test__ = False  # not a pytest class, although its name starts with "Test"
    __tablename__ = "test_reports"
    __table_args__ = (Index("ix_test_reports_version_mode_created", "version_id", "mode", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("flow_versions.id", ondelete="CASCADE"))
    version_number: Mapped[int] = mapped_column(Integer)
    # The hash the cases ran against (a version's never changes; kept so a report stands alone).
    content_hash: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(8))  # fixed | live
    passed: Mapped[bool] = mapped_column(Boolean)
    total: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    cases: Mapped[list[Any]] = mapped_column(JSON, default=list)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
