"""`Runtime`: everything a request handler needs, built once per process.

Controllers receive it as the `rt` dependency; tests build one with their own database
and services (e.g. an LLM test double) through `create_app(settings, services=...)`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from nodes.registry import DEFAULT_REGISTRY, NodeRegistry
from runtime.connections.service import ConnectionService
from runtime.db.database import Database
from runtime.db.migrate import upgrade
from runtime.db.models import ModelEndpoint
from runtime.engine.compiled import FlowCache
from runtime.engine.executor import Engine
from runtime.knowledge.service import KnowledgeService
from runtime.llm.client import HFChatModel, ModelEndpoints
from runtime.policy.authorizer import Authorizer
from runtime.runs.live import LiveAssistants
from runtime.runs.manager import RunManager
from runtime.settings import Settings

log = logging.getLogger("dirigent")


def jwt_secret(settings: Settings) -> str:
    """`DIRIGENT_JWT_SECRET`, or a random key kept in the data dir (0600) across restarts."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = Path(settings.data_dir) / "jwt.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


@dataclass
class Runtime:
    settings: Settings
    db: Database
    authz: Authorizer
    runs: RunManager
    assistants: LiveAssistants
    registry: NodeRegistry = field(default_factory=lambda: DEFAULT_REGISTRY)
    services: dict[str, Any] = field(default_factory=dict)
    jwt_secret: str = ""

    @classmethod
    def build(
        cls,
        settings: Settings,
        services: Mapping[str, Any] | None = None,
        registry: NodeRegistry = DEFAULT_REGISTRY,
    ) -> Runtime:
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url())
        node_services: dict[str, Any] = dict(services or {})
        if "llm" not in node_services:
            node_services["llm"] = HFChatModel(ModelEndpoints.from_settings(settings))
        node_services.setdefault("knowledge", KnowledgeService(settings, db))
        node_services.setdefault("connections", ConnectionService(settings, db))
        engine = Engine(node_services, max_node_timeout_s=settings.node_timeout_s)
        runs = RunManager(db, settings, engine, FlowCache(registry))
        return cls(
            settings=settings,
            db=db,
            authz=Authorizer(),
            runs=runs,
            assistants=LiveAssistants(db),
            registry=registry,
            services=node_services,
            jwt_secret=jwt_secret(settings),
        )

    async def startup(self, *, migrate: bool = True, background: bool = True) -> None:
        if migrate:
            await upgrade(self.db.write_engine)
        await self.reload_model_endpoints()
        if background:
            self.runs.start_background()
            if isinstance(connections := self.services.get("connections"), ConnectionService):
                connections.start_background(self.runs)  # schedule triggers
            if isinstance(knowledge := self.services.get("knowledge"), KnowledgeService):
                await knowledge.ensure_started()  # claim ingestion jobs, resume left-behind ones

    async def reload_model_endpoints(self) -> None:
        """Apply admin-registered endpoints (on start and after an admin changes them)."""
        llm = self.services.get("llm")
        if not isinstance(llm, HFChatModel):
            return
        async with self.db.read() as session:
            rows = (await session.execute(select(ModelEndpoint))).scalars().all()
        llm.endpoints = ModelEndpoints.from_settings(
            self.settings, [(row.name, row.base_url, row.model, None) for row in rows]
        )

    async def shutdown(self) -> None:
        if isinstance(connections := self.services.get("connections"), ConnectionService):
            await connections.stop()
        await self.runs.stop()
        if isinstance(knowledge := self.services.get("knowledge"), KnowledgeService):
            await knowledge.close()  # release the ingestion jobs running here to other processes
        close_llm = getattr(self.services.get("llm"), "aclose", None)
        if close_llm is not None:
            await close_llm()
        await self.db.dispose()
