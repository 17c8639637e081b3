"""ORM rows of the connections domain (tables created by migration 0003_connections).

connections          a workspace's connection: kind, settings, sealed secrets
connection_calls     journal of side-effecting calls by idempotency key (run id:node id),
                     written before the call (in_flight) and completed after (done |
                     failed), so a resumed run does not send the same e-mail or POST twice
                     (see runtime.connections.journal)
triggers             webhook and schedule triggers of an assistant (a flow)
trigger_deliveries   signatures of accepted webhook deliveries and the run each started
                     (a redelivery answers with that run; written with the run, 0006)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db.models import Base, UTCDateTime, new_id, utcnow


class ConnectionRow(Base):
    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Fernet token of a JSON object {secret name: value}; see runtime.connections.secrets.
    sealed_secrets: Mapped[str | None] = mapped_column(Text, nullable=True)
    # {secret name: ISO time of its last change}: what the API shows instead of the value.
    secrets_changed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The test target (migration 0007): settings of the same kind and their own sealed
    # secrets, used by test runs instead of the above. None: the connection has none.
    test_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    sealed_test_secrets: Mapped[str | None] = mapped_column(Text, nullable=True)
    test_secrets_changed: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConnectionCall(Base):
    """One side-effecting call, written down before it is made and completed after.

    status  in_flight   the call is (or was, when its process died) on its way
            uncertain   an interrupted call nobody knows the fate of; a person is asked
                        (on_uncertain: ask) or the step failed (on_uncertain: fail)
            done        the receiver answered (`outputs`), or a person said it got it
            failed      the call failed (`outputs` holds the error)
    """

    __tablename__ = "connection_calls"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    connection_id: Mapped[str] = mapped_column(String(32), index=True)  # kept after a delete
    run_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="in_flight")
    attempts: Mapped[int] = mapped_column(default=1)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # What was called: SHA-256 of the rendered request, and a summary a person can read
    # (method, path, recipients, subject, sizes; never a secret, never a whole body).
    request_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Trigger(Base):
    """Starts runs of an assistant's live version: a signed webhook, or a cron schedule."""

    __tablename__ = "triggers"
    __table_args__ = (Index("ix_triggers_kind_due", "kind", "enabled", "next_fire_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # webhook | schedule
    name: Mapped[str] = mapped_column(String(200), default="")
    sealed_secret: Mapped[str | None] = mapped_column(Text, nullable=True)  # webhook signing key
    cron: Mapped[str | None] = mapped_column(String(120), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # a schedule's run inputs
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # A schedule fires when this is due; processes claim a fire by moving it (compare-and-set).
    next_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Runs start on behalf of this user (who must still be allowed to invoke the assistant).
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TriggerDelivery(Base):
    __tablename__ = "trigger_deliveries"
    __table_args__ = (UniqueConstraint("trigger_id", "signature_digest"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    trigger_id: Mapped[str] = mapped_column(ForeignKey("triggers.id", ondelete="CASCADE"), index=True)
    signature_digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The run the delivery started, stored in the same transaction (None: before 0006).
    run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
