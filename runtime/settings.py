"""Configuration from the environment (`DIRIGENT_*`). One `Settings` object per app."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIRIGENT_", extra="ignore")

    data_dir: Path = Field(Path("./.dirigent"), description="Where files (DB, keys, indexes) live")
    database_url: str | None = Field(
        None, description="SQLAlchemy async URL; default: SQLite file in data_dir"
    )
    jwt_secret: str | None = Field(
        None, description="Signing key for tokens; default: a key file created in data_dir"
    )
    token_ttl_minutes: int = 12 * 60
    llm_url: str | None = Field(None, description="Base URL of the default LLM endpoint (TGI)")
    llm_api_key: str | None = None
    llm_model: str = "tgi"
    # Board approvals needed per card risk; "high" needs two members by default.
    quorum_minimal: int = 1
    quorum_limited: int = 1
    quorum_high: int = 2
    node_timeout_s: float = 300.0
    # How often a runtime checks for expired approval tasks and orphaned runs.
    sweep_interval_s: float = 5.0
    # A run still going after this long is written, so other processes see it (quicker
    # runs are written once, when they end: see runtime/runs/recorder.py).
    run_visible_after_s: float = 0.1
    # A running run whose worker has been silent this long is taken over by another.
    orphan_after_s: float = 60.0
    worker_id: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    # -- audit anchors (runtime/audit/anchors.py): the chain's head, signed with a key that
    # is not in the database and written outside it. Put the key and the file on another
    # disk or host than the database and its backups.
    audit_anchor_key_file: Path | None = Field(
        None, description="HMAC key anchors are signed with; default: data_dir/audit-anchor.key"
    )
    audit_anchor_file: Path | None = Field(
        None, description="JSON Lines file anchors are appended to; default: data_dir/audit-anchors.jsonl"
    )
    audit_anchor_syslog: str | None = Field(
        None, description="Also send anchors to syslog: host:port or /dev/log"
    )
    audit_anchor_url: str | None = Field(None, description="Also POST each anchor as JSON to this URL")
    audit_anchor_interval_s: float = Field(
        3600.0, description="Anchor the head this often if it moved; 0: off"
    )
    # -- notifications (runtime/notifications): links in mails point at the studio here
    # (an admin may set another address with the mail connection); the outbox is looked
    # at this often by every runtime process.
    studio_url: str = Field(
        "http://127.0.0.1:8711", description="The studio's address as people reach it, for links in mails"
    )
    notification_mail_interval_s: float = Field(
        5.0, description="How often a process sends due notification mails; 0: never"
    )

    # -- sessions, sign-in throttling, egress, data at rest (README "Security") ----------
    # Tokens name who issued them and for whom (`iss`, `aud`); both are checked.
    token_issuer: str = "dirigent"
    # Failed sign-ins per account (and, more generously, per client address) within the
    # window before further attempts are refused with 429 for the lockout time, which
    # doubles with every lockout up to the maximum.
    login_max_failures: int = Field(5, ge=1)
    login_max_failures_per_address: int = Field(30, ge=1)
    login_window_s: float = Field(15 * 60.0, gt=0)
    login_lockout_s: float = Field(60.0, gt=0)
    login_lockout_max_s: float = Field(60 * 60.0, gt=0)
    # IPs, CIDRs and host names outbound calls (connections, model endpoints) may reach
    # although they are internal; see runtime/connections/egress.py.
    egress_allow: str = ""
    # The only directory SQL connections may open SQLite files in (never the data dir);
    # default: `<data_dir>-demo`, where `dirigent up` writes the demo databases.
    sql_sqlite_dir: Path | None = None
    # Where the Fernet key for connection secrets lives; default: `secret.key` in data_dir.
    secret_key_file: Path | None = None
    # Set when clients reach Dirigent over HTTPS only (behind a TLS proxy): answers carry
    # Strict-Transport-Security with this max-age. 0: no such header.
    hsts_max_age_s: int = Field(0, ge=0)

    # Template rendering off the event loop (nodes/rendering/workers.py): worker processes
    # per runtime process, and what one render in a worker may take before it is stopped.
    template_workers: int = Field(2, ge=1, le=64)
    template_cpu_seconds: float = Field(0.5, gt=0, le=60)
    template_wall_seconds: float = Field(5.0, gt=0, le=120)
    template_memory_mb: int = Field(128, ge=32, le=16384)

    # -- metrics and traces (runtime/observability; README "Metrics and traces") ---------
    # /metrics answers requests with `Authorization: Bearer <this>`; unset: loopback clients only.
    metrics_token: str | None = Field(
        None, min_length=16, description="Bearer token Prometheus sends to /metrics"
    )
    # OTLP/HTTP base URL spans are sent to (needs `dirigent[observability]`); unset: no traces
    # (unless the standard OTEL_EXPORTER_OTLP_ENDPOINT is set).
    otlp_endpoint: str | None = Field(None, description="OTLP/HTTP collector, e.g. http://otel:4318")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'dirigent.db').resolve()}"

    def resolved_sqlite_dir(self) -> Path:
        return (self.sql_sqlite_dir or default_sqlite_dir(self.data_dir)).expanduser().resolve()

    def quorum_for(self, risk: str) -> int:
        return {"minimal": self.quorum_minimal, "limited": self.quorum_limited, "high": self.quorum_high}.get(
            risk, self.quorum_high
        )


def default_sqlite_dir(data_dir: Path) -> Path:
    """`./.dirigent` -> `./.dirigent-demo`: beside the data dir, never inside it."""
    resolved = Path(data_dir).expanduser().resolve()
    return resolved.with_name(resolved.name + "-demo")
