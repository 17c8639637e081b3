"""What a flow version uses outside itself, for the board's review: connections, knowledge
indexes and model endpoints, each with the nodes that use it and whether it exists now.

    connections  from the connector nodes and the agents' connection tools
                 (`runtime.connections.usage.production_touches`):
                 kind, host, actions, side effects, whether a test target exists, and
                 `touches_production`: published runs always call production, so every
                 connection that exists is touched there once the version is live
    indexes      from the retrieval nodes and the agents' knowledge tools: backend and how
                 many documents it holds
    models       from the llm and agent nodes and the routers that classify with a model: the
                 endpoint's host and served model (never its URL: it may hold a password)

Served by `GET /api/flows/{id}/versions/{n}/uses` (`runtime.flows.uses_controller`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from runtime.connections.usage import production_touches
from runtime.db.database import Database
from runtime.db.models import ModelEndpoint
from runtime.knowledge.models import KnowledgeDocument, KnowledgeIndex
from runtime.settings import Settings

DEFAULT_MODEL = "default"


class ConnectionUse(BaseModel):
    name: str
    exists: bool
    kind: str | None = None
    host: str | None = None
    actions: list[str]
    nodes: list[str]
    side_effects: bool = Field(description="Some action changes something there (not only reads)")
    has_test_target: bool = Field(description="Test runs call a test target instead of production")
    touches_production: bool = Field(description="Published runs call it (every connection that exists)")


class IndexUse(BaseModel):
    name: str
    exists: bool
    backend: str | None = None
    documents: int | None = None
    nodes: list[str]


class ModelUse(BaseModel):
    name: str = Field(description="The model endpoint's name, as the nodes' `model` says")
    exists: bool
    host: str | None = None
    served_model: str | None = None
    nodes: list[str]


class VersionUses(BaseModel):
    connections: list[ConnectionUse]
    indexes: list[IndexUse]
    models: list[ModelUse]


def _nodes(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [node for node in document.get("nodes") or [] if isinstance(node, Mapping)]


def indexes_used(document: Mapping[str, Any]) -> dict[str, list[str]]:
    """Index name -> ids of the retrieval nodes (and agents with a knowledge tool) that search
    it (in document order)."""
    used: dict[str, list[str]] = {}
    for node in _nodes(document):
        config = node.get("config") or {}
        if node.get("type") == "retrieval" and config.get("index"):
            used.setdefault(str(config["index"]), []).append(str(node.get("id")))
        if node.get("type") == "agent":
            for tool in config.get("tools") or []:
                if isinstance(tool, Mapping) and tool.get("kind") == "knowledge" and tool.get("index"):
                    nodes = used.setdefault(str(tool["index"]), [])
                    if str(node.get("id")) not in nodes:
                        nodes.append(str(node.get("id")))
    return used


def models_used(document: Mapping[str, Any]) -> dict[str, list[str]]:
    """Model endpoint name -> ids of the nodes that call it: every llm and agent node, and
    routers that classify (`classes`; a router with a `condition` calls no model)."""
    used: dict[str, list[str]] = {}
    for node in _nodes(document):
        config = node.get("config") or {}
        if node.get("type") in ("llm", "agent") or (node.get("type") == "router" and config.get("classes")):
            used.setdefault(str(config.get("model") or DEFAULT_MODEL), []).append(str(node.get("id")))
    return used


def _host(url: str | None) -> str | None:
    return urlsplit(url).hostname if url else None


async def version_uses(
    db: Database, settings: Settings, workspace_id: str, document: Mapping[str, Any]
) -> VersionUses:
    indexes, models = indexes_used(document), models_used(document)
    async with db.read() as session:
        index_rows = {
            row.name: (row, count)
            for row, count in (
                await session.execute(
                    select(KnowledgeIndex, func.count(KnowledgeDocument.id))
                    .outerjoin(KnowledgeDocument, KnowledgeDocument.index_id == KnowledgeIndex.id)
                    .where(KnowledgeIndex.workspace_id == workspace_id)
                    .where(KnowledgeIndex.name.in_(list(indexes)))
                    .group_by(KnowledgeIndex.id)
                )
            ).tuples()
        }
        endpoints: dict[str, tuple[str, str]] = {
            row.name: (row.base_url, row.model)
            for row in (
                await session.execute(select(ModelEndpoint).where(ModelEndpoint.name.in_(list(models))))
            ).scalars()
        }
    # The environment's endpoint is "default" unless an admin registered one of that name
    # (the same order as `runtime.llm.client.ModelEndpoints.from_settings`).
    if settings.llm_url and DEFAULT_MODEL not in endpoints:
        endpoints[DEFAULT_MODEL] = (settings.llm_url, settings.llm_model)
    touches = await production_touches(db, workspace_id, document)
    return VersionUses(
        connections=[
            ConnectionUse(
                name=str(touch["connection"]),
                exists=bool(touch["exists"]),
                kind=touch.get("kind"),
                host=touch.get("host") or None,
                actions=[str(action) for action in touch["actions"]],
                nodes=[str(node) for node in touch["nodes"]],
                side_effects=bool(touch["side_effects"]),
                has_test_target=bool(touch.get("has_test_target")),
                touches_production=bool(touch["exists"]),
            )
            for touch in touches
        ],
        indexes=[
            IndexUse(
                name=name,
                exists=name in index_rows,
                backend=index_rows[name][0].backend if name in index_rows else None,
                documents=int(index_rows[name][1]) if name in index_rows else None,
                nodes=nodes,
            )
            for name, nodes in indexes.items()
        ],
        models=[
            ModelUse(
                name=name,
                exists=name in endpoints,
                host=_host(endpoints[name][0]) if name in endpoints else None,
                served_model=endpoints[name][1] if name in endpoints else None,
                nodes=nodes,
            )
            for name, nodes in models.items()
        ],
    )
