"""`Composition`: the composition root — every part of a runtime process (database,
policy, run manager, node services, background loops), built once per process.

Handlers do not take it: each slice's dependency provider (`provide_<slice>(root, ...)` in
its controller or `deps.py`) takes it as the `root` dependency and hands its handlers the
service they use. Tests build one with their own database and services (e.g. an LLM test
double) through `create_app(settings, services=...)`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodes.registry import DEFAULT_REGISTRY, NodeRegistry
from nodes.rendering.workers import ProcessLimits, Templates
from runtime.audit.anchors import Anchorer
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.connections.secrets import SecretBox, load_key
from runtime.connections.service import ConnectionService
from runtime.db.database import Database
from runtime.db.migrate import upgrade
from runtime.engine.compiled import FlowCache
from runtime.engine.executor import Engine
from runtime.knowledge.service import KnowledgeService
from runtime.llm.client import HFChatModel, ModelEndpoints
from runtime.llm.endpoints import ModelEndpointRegistry
from runtime.mcp.registry import McpServerRegistry
from runtime.mcp.service import McpService
from runtime.notifications.outbox import MailOutbox
from runtime.policy.authorizer import Authorizer
from runtime.private_files import create_once, private_directory, private_file
from runtime.runs.live import LiveAssistants
from runtime.runs.manager import RunManager
from runtime.runs.sub_runs import SubRuns
from runtime.runs.triggers import TriggerService
from runtime.settings import Settings
from runtime.users.passwords import dummy_password_hash

log = logging.getLogger("dirigent")


def templates_for(settings: Settings) -> Templates:
    """The template renderer of this process, with the settings' hard limits."""
    return Templates(
        process=ProcessLimits(
            workers=settings.template_workers,
            cpu_seconds=settings.template_cpu_seconds,
            wall_seconds=settings.template_wall_seconds,
            memory_mb=settings.template_memory_mb,
        )
    )


def jwt_secret(settings: Settings) -> str:
    """`DIRIGENT_JWT_SECRET`, or a random key kept in the data dir (0600) across restarts."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = Path(settings.data_dir) / "jwt.key"
    if path.exists():
        private_file(path)  # narrowed, if an older version left it wider
        return path.read_text().strip()
    return create_once(path, secrets.token_urlsafe(48).encode()).decode().strip()


def warm_up() -> None:
    """What start-up leaves out, made beside serving (in a thread) rather than by the
    first request that needs it: the timing-equalising password hash (so that the first
    login for an unknown user takes as long as any other) and the graph library that
    checks a flow when it is first run."""
    dummy_password_hash()
    importlib.import_module("networkx")


@dataclass
class Composition:
    settings: Settings
    db: Database
    authz: Authorizer
    runs: RunManager
    assistants: LiveAssistants
    registry: NodeRegistry = field(default_factory=lambda: DEFAULT_REGISTRY)
    services: dict[str, Any] = field(default_factory=dict)
    jwt_secret: str = ""
    anchorer: Anchorer | None = None
    # Sends notification mails in the background (None: no e-mail connections here).
    outbox: MailOutbox | None = None
    model_endpoints: ModelEndpointRegistry | None = None
    # Webhook and schedule triggers (None: no connections here, whose secret box they use).
    triggers: TriggerService | None = None
    # MCP servers admins register (their tools: the `mcp` node service).
    mcp_servers: McpServerRegistry | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        services: Mapping[str, Any] | None = None,
        registry: NodeRegistry = DEFAULT_REGISTRY,
    ) -> Composition:
        private_directory(settings.data_dir)
        db = Database(settings.resolved_database_url())
        node_services: dict[str, Any] = dict(services or {})
        # One allow list for every outbound call: connections and model endpoints.
        guard = EgressGuard(EgressPolicy.parse(settings.egress_allow))
        if "llm" not in node_services:
            node_services["llm"] = HFChatModel(ModelEndpoints.from_settings(settings), guard=guard)
        node_services.setdefault("knowledge", KnowledgeService(settings, db))
        node_services.setdefault("connections", ConnectionService(settings, db, guard=guard))
        # One key for every secret at rest: connections' and model endpoints'.
        connections = node_services["connections"]
        box = (
            connections.box
            if isinstance(connections, ConnectionService)
            else SecretBox(load_key(settings.data_dir, key_file=settings.secret_key_file))
        )
        node_services.setdefault("templates", templates_for(settings))
        node_services.setdefault("mcp", McpService(db, box, guard))
        engine = Engine(node_services, max_node_timeout_s=settings.node_timeout_s)
        runs = RunManager(db, settings, engine, FlowCache(registry))
        connections = node_services["connections"]
        outbox = (
            MailOutbox(db, settings, connections, runs.worker_id)
            if isinstance(connections, ConnectionService)
            else None
        )
        llm = node_services["llm"]
        model_endpoints = ModelEndpointRegistry(
            settings, db, box, llm if isinstance(llm, HFChatModel) else None, guard, registry
        )
        # Every process (replica, worker) follows the admins' changes within one sweep.
        runs.sweep_hooks.append(model_endpoints.refresh)
        authz, assistants = Authorizer(), LiveAssistants(db)
        # Published assistants as sub-runs (`assistant` and `map` nodes): they need the
        # run manager, which needs the engine, so they join its services last.
        if "assistants" not in node_services:
            node_services["assistants"] = SubRuns(db, authz, runs, assistants)
            engine.services["assistants"] = node_services["assistants"]
        return cls(
            settings=settings,
            db=db,
            authz=authz,
            runs=runs,
            assistants=assistants,
            registry=registry,
            services=node_services,
            jwt_secret=jwt_secret(settings),
            anchorer=Anchorer(settings, db),
            outbox=outbox,
            model_endpoints=model_endpoints,
            triggers=TriggerService(db, connections.box, connections.authz)
            if isinstance(connections, ConnectionService)
            else None,
            mcp_servers=McpServerRegistry(mcp)
            if isinstance(mcp := node_services["mcp"], McpService)
            else None,
        )

    async def startup(self, *, migrate: bool = True, background: bool = True) -> None:
        if migrate:
            await upgrade(self.db.write_engine)
        await self.reload_model_endpoints()
        asyncio.get_running_loop().run_in_executor(None, warm_up)
        if background:
            self.runs.start_background()
            if self.triggers is not None:
                self.triggers.start_background(self.runs)  # schedule triggers
            if self.anchorer is not None:
                self.anchorer.start()
            if self.outbox is not None:
                self.outbox.start()
            if isinstance(knowledge := self.services.get("knowledge"), KnowledgeService):
                await knowledge.ensure_started()  # claim ingestion jobs, resume left-behind ones

    async def reload_model_endpoints(self) -> None:
        """Serve the admin-registered endpoints (on start; changes: `ModelEndpointRegistry`)."""
        if self.model_endpoints is not None:
            await self.model_endpoints.reload()

    async def shutdown(self) -> None:
        if self.outbox is not None:
            await self.outbox.stop()
        if self.anchorer is not None:
            await self.anchorer.stop()
        if self.triggers is not None:
            await self.triggers.stop()
        await self.runs.stop()
        if isinstance(knowledge := self.services.get("knowledge"), KnowledgeService):
            await knowledge.close()  # release the ingestion jobs running here to other processes
        close_llm = getattr(self.services.get("llm"), "aclose", None)
        if close_llm is not None:
            await close_llm()
        if isinstance(templates := self.services.get("templates"), Templates):
            await templates.close()
        await self.db.dispose()
