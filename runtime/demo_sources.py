"""The systems and documents the starter flows use, for the demo workspace of `dirigent up`.

    databases    `crm.db` and `erp.db` in the directory SQL connections may read SQLite files
                 from (`DIRIGENT_SQL_SQLITE_DIR`, by default `<data_dir>-demo`): small SQLite
                 files with German sample rows (`runtime/demo_data/*.sql`). They live beside
                 the data dir, not in it: a SQL connection may never read Dirigent's own files.
    connections  crm, erp (sql, read-only, on those files); crm-api, erp-api, itsm (http,
                 placeholders on 127.0.0.1 that an admin repoints); mail (SMTP on
                 127.0.0.1:1025). Loopback is refused by the egress guard until an admin
                 allows it (DIRIGENT_EGRESS_ALLOW=127.0.0.1), as for any internal address.
    indexes      angebote, hr-richtlinien, vertraege, tickets, projektberichte, each with a few
                 short sample documents (`runtime/demo_data/knowledge/<index>/`)

Everything goes through the services, as the admin (connections) and the champion
(knowledge) would do it, so the policy decides and the audit trail records it. Only what
is missing is added: an existing connection is never changed (an admin may have
repointed it), an index that holds documents is left alone, an existing database file is
kept.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.connections.service import ConnectionService
from runtime.db.database import Database
from runtime.errors import DirigentError
from runtime.knowledge.service import KnowledgeService
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.settings import Settings, default_sqlite_dir

DATA = Path(__file__).resolve().parent / "demo_data"
DATABASES = ("crm", "erp")
SMTP_PORT = 1025
# Where each placeholder system is expected; an admin repoints the base URL.
HTTP_PLACEHOLDERS: dict[str, tuple[int, list[str], list[str]]] = {
    "crm-api": (8791, ["GET", "POST"], ["/tasks"]),
    "erp-api": (8792, ["GET", "POST"], ["/invoices"]),
    "itsm": (8793, ["GET", "POST", "PATCH"], ["/tickets"]),
}
MAIL_DOMAINS = [
    "dirigent-demo.example",
    "hansen-logistik.example",
    "brauerei-maierhofer.example",
    "stadtwerke-neustadt.example",
    "krueger-verpackung.example",
    "baeckerei-schneider.example",
    "demo.local",  # the demo users' own addresses (notification mails)
]
INDEXES = {
    "angebote": "Angebote und Gesprächsnotizen des Vertriebs (SalesGPT)",
    "hr-richtlinien": "Onboarding-Richtlinie, Betriebsvereinbarungen, IT-Nutzung (HRGPT)",
    "vertraege": "Verträge mit Dienstleistern und Lieferanten (LegalGPT)",
    "tickets": "Gelöste Tickets des IT-Service-Desks (Ticket-Triage)",
    "projektberichte": "Statusberichte der Projektleitungen (ExecutiveGPT)",
}


@dataclass
class SourcesSetup:
    databases: list[str] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def sources_dir(data_dir: Path) -> Path:
    """`./.dirigent` -> `./.dirigent-demo`: beside the data dir, never inside it."""
    return default_sqlite_dir(data_dir)


def write_databases(directory: Path) -> list[str]:
    """The demo databases that were missing, written atomically; returns their names."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DATABASES:
        path = directory / f"{name}.db"
        if path.exists():
            continue
        temporary = path.with_name(path.name + ".tmp")
        temporary.unlink(missing_ok=True)
        connection = sqlite3.connect(temporary)
        try:
            connection.executescript((DATA / f"{name}.sql").read_text(encoding="utf-8"))
            connection.commit()
        finally:
            connection.close()
        os.replace(temporary, path)
        written.append(name)
    return written


def connection_specs(directory: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """name -> (kind, settings) of every demo connection."""
    specs: dict[str, tuple[str, dict[str, Any]]] = {
        name: ("sql", {"url": f"sqlite:///{directory / f'{name}.db'}", "max_rows": 100, "timeout_s": 5})
        for name in DATABASES
    }
    for name, (port, methods, paths) in HTTP_PLACEHOLDERS.items():
        specs[name] = (
            "http",
            {
                "base_url": f"http://127.0.0.1:{port}",
                "allowed_methods": methods,
                "allowed_paths": paths,
                "test_path": paths[0],
            },
        )
    specs["mail"] = (
        "email",
        {
            "host": "127.0.0.1",
            "port": SMTP_PORT,
            "security": "none",
            "sender": "assistent@dirigent-demo.example",
            "allowed_domains": MAIL_DOMAINS,
        },
    )
    return specs


async def add_connections(
    service: ConnectionService, admin: Actor, workspace: str, directory: Path
) -> list[str]:
    existing = {item["name"] for item in await service.list_connections(admin, workspace)}
    created = []
    for name, (kind, settings) in connection_specs(directory).items():
        if name not in existing:
            await service.create(admin, workspace, name, kind, settings, {})
            created.append(name)
    return created


async def add_indexes(
    service: KnowledgeService, champion: Actor, workspace: str, result: SourcesSetup, *, fill: bool = True
) -> None:
    """Create the missing indexes and (with `fill`) fill the empty ones with their sample documents."""
    indexes = {item["name"]: item for item in await service.list_indexes(champion, workspace)}
    for name, description in INDEXES.items():
        index = indexes.get(name)
        if index is None:
            index = await service.create_index(champion, workspace, name, description=description)
            result.indexes.append(name)
        if not fill or await service.list_documents(champion, index["id"]):
            continue
        files = sorted((DATA / "knowledge" / name).glob("*.md"))
        job = await service.jobs.ingest_paths(champion, index["id"], files)
        await service.jobs.wait(job["id"])
        finished = await service.jobs.get(champion, job["id"])
        if finished["status"] != "succeeded" or finished["files_failed"]:
            result.notes.append(
                f"the sample documents of index '{name}' were not all indexed: "
                f"{finished.get('error') or finished['status']}"
            )


async def setup_sources(
    db: Database,
    settings: Settings,
    workspace: str,
    admin: Actor | None,
    champion: Actor | None,
    *,
    sample_documents: bool = True,
) -> SourcesSetup:
    """See the module docstring. A part that cannot be set up is a note, not a failure of `up`."""
    result = SourcesSetup()
    directory = settings.resolved_sqlite_dir()
    result.databases = write_databases(directory)
    authz = Authorizer()
    if admin is None:
        result.notes.append("demo connections not created: the user 'admin' is missing or removed")
    else:
        result.connections = await add_connections(
            ConnectionService(settings, db, authz=authz), admin, workspace, directory
        )
    if champion is None:
        result.notes.append("demo knowledge indexes not created: the user 'champion' is missing or removed")
        return result
    knowledge = KnowledgeService(settings, db, authz)
    try:
        await add_indexes(knowledge, champion, workspace, result, fill=sample_documents)
    except DirigentError as error:  # e.g. the embedding model is not installed
        result.notes.append(f"demo knowledge indexes not set up: {error.message}")
    finally:
        await knowledge.close()
    return result
