"""ORM models (SQLAlchemy 2, `Mapped[...]`). Schemas of the API never expose these.

Every table change is an Alembic migration in `runtime/migrations/versions/`.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class _RandomIds:
    """Random 128-bit ids as 32 hex digits, like `uuid.uuid4().hex` (the same source,
    `os.urandom`), drawn 256 at a time: a quick run takes five or more ids, and on a busy
    virtual machine each `getrandom` system call can cost tens of microseconds."""

    BATCH = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: list[str] = []
        os.register_at_fork(after_in_child=self._forget)  # a child must not reuse ours

    def _forget(self) -> None:
        self._ids = []

    def next(self) -> str:
        with self._lock:
            if not self._ids:
                pool = os.urandom(16 * self.BATCH).hex()
                self._ids = [pool[start : start + 32] for start in range(0, len(pool), 32)]
            return self._ids.pop()


_RANDOM_IDS = _RandomIds()


def new_id() -> str:
    return _RANDOM_IDS.next()


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """A stored timestamp as ISO-8601 for JSON answers."""
    return value.isoformat() if value is not None else None


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python, on every backend (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def _id() -> Mapped[str]:
    return mapped_column(String(32), primary_key=True, default=new_id)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, default=utcnow, nullable=False)


# -- people and places ------------------------------------------------------------------
class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[str] = _id()
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = _id()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    # Roles that hold everywhere: "board", "admin".
    global_roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()
    # Where notifications are mailed (migration 0014_notifications); None: inbox only.
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)


class Membership(Base):
    """A user's role in one workspace: `admin`, `champion` or `user`."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "workspace_id", "role"),)
    id: Mapped[str] = _id()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = _created()


# -- flows and their versions -----------------------------------------------------------
class Flow(Base):
    """A flow and, once published, the assistant `slug` users invoke."""

    __tablename__ = "flows"
    id: Mapped[str] = _id()
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _created()
    live_version_id: Mapped[str | None] = mapped_column(
        ForeignKey("flow_versions.id", use_alter=True, name="fk_flows_live_version"),
        nullable=True,
    )


class FlowVersion(Base):
    """An immutable, content-hashed version. Only `state` and review fields change."""

    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "number"),)
    id: Mapped[str] = _id()
    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    submitted_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Bumped on every state change, so two racing transitions cannot both win.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()


class VersionReview(Base):
    """One board member's decision on a submitted version (quorum counts these)."""

    __tablename__ = "version_reviews"
    __table_args__ = (UniqueConstraint("version_id", "reviewer_id", "round"),)
    id: Mapped[str] = _id()
    version_id: Mapped[str] = mapped_column(ForeignKey("flow_versions.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    # A rejected version that is submitted again starts a new round of reviews.
    round: Mapped[int] = mapped_column(Integer, default=1)
    decision: Mapped[str] = mapped_column(String(16))  # approve | reject
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = _created()


class ModelEndpoint(Base):
    """An LLM server registered by an admin (TGI or another Messages-API server)."""

    __tablename__ = "model_endpoints"
    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(64), unique=True)
    base_url: Mapped[str] = mapped_column(String(500))
    model: Mapped[str] = mapped_column(String(200), default="tgi")
    # The API key, sealed with the connections' `SecretBox` (runtime/connections/secrets.py).
    api_key_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = _created()
    # runtime/llm/endpoints.py: who registered it, the last change, the last test button.
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_test_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_test_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    last_test_error: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_test_latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


# -- runs -------------------------------------------------------------------------------
class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_status_heartbeat", "status", "heartbeat_at"),
        # Monitoring (runtime/monitoring): a workspace's runs by time, and what it counts of them.
        Index(
            "ix_runs_monitoring",
            *("workspace_id", "created_at", "flow_id", "started_by", "status", "is_test"),
            *("total_tokens", "finished_at", "id"),
        ),
        # The runs viewer: one flow's runs, newest first, page by page (migration 0017).
        Index("ix_runs_flow_created", "flow_id", "created_at", "id"),
    )
    id: Mapped[str] = _id()
    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.id"), index=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("flow_versions.id"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    started_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    # queued | running | waiting | succeeded | failed | cancelled | expired
    status: Mapped[str] = mapped_column(String(16), default="queued")
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # A test run that may make read-only calls (SQL, HTTP GET) to connections without a
    # test target, i.e. read production data (migration 0007; see runtime.connections.targets).
    allow_live_reads: Mapped[bool] = mapped_column(Boolean, default=False)
    # Which process executes the run, and when it last said so (crash recovery).
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A sub-run (an `assistant` or `map` node's, migration 0019): the run that started it,
    # and how deeply assistants call assistants here (0: started by a person or a trigger).
    parent_run_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    call_depth: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RunStep(Base):
    """One node's execution in a run."""

    __tablename__ = "run_steps"
    __table_args__ = (
        UniqueConstraint("run_id", "node_id"),
        # Monitoring's automated actions: connector steps only (a partial index).
        Index(
            "ix_run_steps_connector",
            *("run_id", "node_type", "status"),
            sqlite_where=text("node_type = 'connector'"),
            postgresql_where=text("node_type = 'connector'"),
        ),
    )
    id: Mapped[str] = _id()
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[str] = mapped_column(String(64))
    node_type: Mapped[str] = mapped_column(String(32))
    # running | succeeded | failed | skipped | waiting | cancelled
    status: Mapped[str] = mapped_column(String(16))
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(nullable=True)


class ApprovalTask(Base):
    """A decision a running flow waits for (raised by an `approval` node)."""

    __tablename__ = "approval_tasks"
    __table_args__ = (
        UniqueConstraint("run_id", "node_id"),
        Index("ix_approval_tasks_status_due", "status", "due_at"),
    )
    id: Mapped[str] = _id()
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    assignees: Mapped[list[Any]] = mapped_column(JSON)
    quorum: Mapped[int] = mapped_column(Integer, default=1)
    # open | approved | rejected | expired | cancelled
    status: Mapped[str] = mapped_column(String(16), default="open")
    approvals: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = _created()
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Four eyes on tasks (migration 0007): who started the run that raised the task, and
    # the risk of the flow's card, as they were when the task was raised (the policy reads them).
    requested_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    risk: Mapped[str | None] = mapped_column(String(16), nullable=True)


class TaskDecision(Base):
    __tablename__ = "task_decisions"
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)
    id: Mapped[str] = _id()
    task_id: Mapped[str] = mapped_column(ForeignKey("approval_tasks.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16))  # approve | reject
    comment: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = _created()


class IdempotencyKey(Base):
    """A caller's `Idempotency-Key` and the run its first request started (migration 0006).

    Written in the transaction that stores the run, before the run starts; the unique
    constraint makes two requests with the same key — concurrent, or on two processes —
    start one run. Kept for 24 h (`expires_at`); the background sweep deletes expired keys.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller_id", "key", name="uq_idempotency_keys_caller_key"),)
    id: Mapped[str] = _id()
    caller_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the route and the parsed body: the same key for another request is refused.
    request_digest: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# -- audit ------------------------------------------------------------------------------
class AuditEntry(Base):
    """Append-only; `entry_hash` = SHA-256 over the entry and `prev_hash`."""

    __tablename__ = "audit_entries"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = _created()
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    resource_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    resource_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    version_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """One row: the chain's last sequence number and hash. Updating it first serialises
    appenders on every backend (row lock on PostgreSQL, write lock on SQLite)."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


# -- sessions and sign-in throttling (runtime/users/sessions.py, throttle.py) -----------
class AuthSession(Base):
    """One sign-in: a token's `jti` names it. Every request reads it with the caller, so a
    sign-out, a password change or a role taken away ends tokens in every process at once."""

    __tablename__ = "auth_sessions"
    id: Mapped[str] = _id()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # logout | password_changed | password_reset | role_removed | user_removed
    revoked_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)


class LoginThrottle(Base):
    """Failed sign-ins of one account (`account:<name>`) or client address (`address:<ip>`)
    in the current window, and its lockout. Shared by every process through the database."""

    __tablename__ = "login_throttles"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Attempts refused while locked, not yet written to the audit trail.
    refused: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# -- change counters (runtime/db/change_counters.py) -------------------------------------
class ChangeCounter(Base):
    """A number bumped with every change of something each process keeps in memory (e.g.
    `model_endpoints`); every process's sweep compares it with the one it loaded."""

    __tablename__ = "change_counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


# -- MCP servers (runtime/mcp/) ----------------------------------------------------------
class McpServer(Base):
    """A streamable-HTTP MCP server registered by an admin; agents call its tools. Every
    call reads its row, so no process keeps it in memory (no change counter needed)."""

    __tablename__ = "mcp_servers"
    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    # Headers sent with every request (a bearer token becomes `Authorization`), sealed with
    # the connections' `SecretBox`; never answered.
    headers_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Tools the admin marks read-only: an agent calls them without asking a person.
    read_only_tools: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
