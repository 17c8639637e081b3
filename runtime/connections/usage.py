"""What a flow version does with connections, for the board's review: which connections
and actions its connector nodes use (`connections_used`), whether each still exists and
has a test target (`used_by`), and per connection what it touches in production once the
version is published (`production_touches`: published runs always call production).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.engine import make_url

from runtime.connections.models import ConnectionRow
from runtime.connections.targets import effect_of
from runtime.db.database import Database


def host_of(row: ConnectionRow) -> str:
    settings = row.settings or {}
    if row.kind in ("http", "webhook"):
        return urlsplit(str(settings.get("base_url") or settings.get("url") or "")).hostname or ""
    if row.kind == "email":
        return str(settings.get("host", ""))
    url = make_url(str(settings.get("url", "sqlite://")))
    return url.host or url.get_backend_name()


def connections_used(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The connector nodes of a flow document, and the connection tools of its agents: node,
    connection, action (an agent's tool: its name) and the call's shape."""
    used = []
    for node in document.get("nodes") or []:
        if isinstance(node, Mapping) and node.get("type") == "agent":
            for tool in (node.get("config") or {}).get("tools") or []:
                if isinstance(tool, Mapping) and tool.get("kind") == "connection":
                    used.append(
                        {
                            "node": node.get("id"),
                            "connection": tool.get("connection"),
                            "action": tool.get("name"),
                            "method": tool.get("method", "GET"),
                            "path": tool.get("path", "/"),
                        }
                    )
            continue
        if not isinstance(node, Mapping) or node.get("type") != "connector":
            continue
        config = node.get("config") or {}
        entry = {
            "node": node.get("id"),
            "connection": config.get("connection"),
            "action": config.get("action", "call"),
        }
        if config.get("sql"):
            entry["sql"] = config["sql"]
        elif config.get("to"):
            entry["to"] = config["to"]
        else:
            entry["method"], entry["path"] = config.get("method", "GET"), config.get("path", "/")
        used.append(entry)
    return used


async def used_by(db: Database, workspace_id: str, document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`connections_used`, each with whether the connection exists now and its kind/host."""
    used = connections_used(document)
    async with db.read() as session:
        rows = {
            row.name: row
            for row in (
                await session.execute(select(ConnectionRow).where(ConnectionRow.workspace_id == workspace_id))
            ).scalars()
        }
    for entry in used:
        row = rows.get(entry["connection"])
        entry["exists"] = row is not None
        kind = (
            row.kind if row is not None else "sql" if "sql" in entry else "email" if "to" in entry else "http"
        )
        # read: SQL, HTTP GET/HEAD/OPTIONS; idempotent: PUT/DELETE; unsafe: POST, PATCH, e-mail, webhook
        entry["effect"] = effect_of(kind, str(entry.get("method") or "POST"))
        if row is not None:
            entry.update(
                connection_id=row.id,
                kind=row.kind,
                host=host_of(row),
                has_test_target=row.test_settings is not None,
            )
    return used


async def production_touches(
    db: Database, workspace_id: str, document: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Per connection a version uses: what it does there once published (published runs
    always call production), for the board's review."""
    touches: dict[str, dict[str, Any]] = {}
    for entry in await used_by(db, workspace_id, document):
        name = str(entry["connection"])
        touch = touches.setdefault(
            name,
            {
                "connection": name,
                "exists": entry["exists"],
                "kind": entry.get("kind"),
                "host": entry.get("host"),
                "has_test_target": entry.get("has_test_target", False),
                "side_effects": False,
                "nodes": [],
                "actions": [],
            },
        )
        touch["nodes"].append(entry["node"])
        if entry["action"] not in touch["actions"]:
            touch["actions"].append(entry["action"])
        touch["side_effects"] = touch["side_effects"] or entry["effect"] != "read"
    return list(touches.values())
