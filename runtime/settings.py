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
    # Template rendering off the event loop (nodes/template_workers.py): worker processes
    # per runtime process, and what one render in a worker may take before it is stopped.
    template_workers: int = Field(2, ge=1, le=64)
    template_cpu_seconds: float = Field(0.5, gt=0, le=60)
    template_wall_seconds: float = Field(1.0, gt=0, le=120)
    template_memory_mb: int = Field(128, ge=32, le=16384)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'dirigent.db').resolve()}"

    def quorum_for(self, risk: str) -> int:
        return {"minimal": self.quorum_minimal, "limited": self.quorum_limited, "high": self.quorum_high}.get(
            risk, self.quorum_high
        )
