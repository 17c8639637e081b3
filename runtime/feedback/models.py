"""The `run_feedback` table (migration 0005_feedback_monitoring)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db.models import Base, UTCDateTime, new_id, utcnow


class RunFeedback(Base):
    """One person's rating of one run; posting again replaces it (`updated_at` moves)."""

    __tablename__ = "run_feedback"
    # The unique key also serves monitoring's join from runs (run_id first).
    __table_args__ = (UniqueConstraint("run_id", "user_id", name="uq_run_feedback_run_user"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[str] = mapped_column(String(8))  # up | down
    correction: Mapped[str | None] = mapped_column(Text, nullable=True)  # only with "down"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
