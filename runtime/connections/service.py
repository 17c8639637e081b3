"""ConnectionService: connections of a workspace through the policy, and calls from flows.

    admins           list / create / read / update / delete / test   (policy: Connection)
    flows            call(ConnectorRequest) from the `connector` node (service "connections")
    the board        connections_used(document): which connections and actions a version uses

A call finds the connection by name in the run's workspace (a deleted one fails the step
with `ConnectionMissing`), checks it against the connection's settings and the egress
guard, and writes one audit entry (connection, action, host, status, duration, bytes — no
secrets, no bodies). Calls with side effects (e-mail, HTTP methods that are not
idempotent) are journaled by idempotency key: claimed before, completed after; a resumed
run gets the journaled answer instead of calling again. The one window left is a crash
after the remote side accepted and before the journal says so: the next attempt calls
again, with the same `Idempotency-Key` / `Message-ID`, so the receiver can tell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from nodes.connector import ConnectorRequest, ConnectorResult
from runtime.audit.service import append as audit
from runtime.connections.egress import EgressGuard
from runtime.connections.email import EmailSender, Mail
from runtime.connections.errors import ConnectionMissing
from runtime.connections.http import HttpCall, HttpClient
from runtime.connections.kinds import (
    IDEMPOTENT_METHODS,
    KINDS,
    EmailSettings,
    HttpSettings,
    SettingsInvalid,
    SqlSettings,
    WebhookSettings,
    check_secret_names,
    parse_settings,
)
from runtime.connections.models import ConnectionCall, ConnectionRow
from runtime.connections.secrets import SecretBox, load_key, masked
from runtime.connections.sql import SqlReader
from runtime.connections.triggers import TriggerService
from runtime.db.database import Database
from runtime.db.models import Run, Workspace, utcnow
from runtime.errors import BadRequest, Conflict, NotFound
from runtime.policy import resources
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import workspace_view
from runtime.runs.manager import RunManager
from runtime.settings import Settings

log = logging.getLogger("dirigent.connections")
SCHEDULE_INTERVAL_ENV = "DIRIGENT_SCHEDULE_INTERVAL_S"
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def connection_view(row: ConnectionRow) -> resources.Connection:
    return resources.Connection(id=row.id, workspace_id=row.workspace_id)


def host_of(row: ConnectionRow) -> str:
    settings = row.settings or {}
    if row.kind in ("http", "webhook"):
        return urlsplit(str(settings.get("base_url") or settings.get("url") or "")).hostname or ""
    if row.kind == "email":
        return str(settings.get("host", ""))
    url = make_url(str(settings.get("url", "sqlite://")))
    return url.host or url.get_backend_name()


def connections_used(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The connector nodes of a flow document: node, connection, action and the call's shape."""
    used = []
    for node in document.get("nodes") or []:
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


class ConnectionService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        guard: EgressGuard | None = None,
        box: SecretBox | None = None,
        authz: Authorizer | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.box = box or SecretBox(load_key(settings.data_dir))
        self.guard = guard or EgressGuard()
        self._authz = authz

        self._schedules: asyncio.Task[None] | None = None

    @property
    def authz(self) -> Authorizer:
        if self._authz is None:
            self._authz = Authorizer()
        return self._authz

    @property
    def triggers(self) -> TriggerService:
        return TriggerService(self.db, self.box, self.authz)

    # -- lifecycle: the schedule poller runs in every runtime process -------------------
    def start_background(self, runs: RunManager) -> None:
        interval = float(os.environ.get(SCHEDULE_INTERVAL_ENV, "1.0"))
        self._schedules = asyncio.create_task(self.triggers.run_schedules(runs, interval), name="schedules")

    async def stop(self) -> None:
        if self._schedules is not None:
            self._schedules.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._schedules
            self._schedules = None

    # -- admin: CRUD ------------------------------------------------------------------
    def as_json(self, row: ConnectionRow, workspace_slug: str | None = None) -> dict[str, Any]:
        """What the API shows: settings, and of the secrets only that they are set and since when."""
        names = dict.fromkeys(row.secrets_changed or {})
        return {
            "id": row.id,
            "workspace": workspace_slug,
            "name": row.name,
            "kind": row.kind,
            "settings": row.settings,
            "secrets": masked(names, row.secrets_changed or {}),
            "created_at": row.created_at.isoformat() if row.created_at else None,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        }

    async def _workspace(self, session: AsyncSession, actor: Actor, slug: str, action: str) -> Workspace:
        workspace = (
            await session.execute(select(Workspace).where(Workspace.slug == slug))
        ).scalar_one_or_none()
        if workspace is None:
            raise NotFound("workspace not found")
        self.authz.authorize(actor, action, workspace_view(workspace))
        return workspace

    async def _get(
        self, session: AsyncSession, actor: Actor, connection_id: str, action: str
    ) -> ConnectionRow:
        row = await session.get(ConnectionRow, connection_id)
        if row is None:
            raise NotFound("connection not found")
        self.authz.authorize(actor, action, connection_view(row))
        return row

    async def _slug(self, session: AsyncSession, workspace_id: str) -> str | None:
        workspace = await session.get(Workspace, workspace_id)
        return workspace.slug if workspace else None

    async def list_connections(self, actor: Actor, workspace_slug: str) -> list[dict[str, Any]]:
        async with self.db.read() as session:
            workspace = await self._workspace(session, actor, workspace_slug, "read")
            rows = (
                (
                    await session.execute(
                        select(ConnectionRow)
                        .where(ConnectionRow.workspace_id == workspace.id)
                        .order_by(ConnectionRow.name)
                    )
                )
                .scalars()
                .all()
            )
        visible = self.authz.filter_allowed(actor, "read", [connection_view(row) for row in rows])
        allowed = {view.id for view in visible}
        return [self.as_json(row, workspace_slug) for row in rows if row.id in allowed]

    def _validated(self, kind: str, settings: dict[str, Any], secrets: Mapping[str, Any]) -> dict[str, Any]:
        try:
            parsed = parse_settings(kind, settings)
            check_secret_names(kind, list(secrets))
        except SettingsInvalid as error:
            raise BadRequest(str(error), code="invalid_connection", errors=error.problems) from None
        for name, value in secrets.items():
            if value is not None and (not isinstance(value, str) or not value or len(value) > 8192):
                raise BadRequest(
                    f"secret '{name}' must be a non-empty text (or null to remove it)",
                    code="invalid_connection",
                )
        return parsed.model_dump(mode="json")  # type: ignore[no-any-return]

    def _apply_secrets(self, row: ConnectionRow, secrets: Mapping[str, str | None]) -> list[str]:
        """Merge `secrets` into the row (None removes one); the names that changed."""
        if not secrets:
            return []
        current = self.box.open(row.sealed_secrets)
        changed_at = dict(row.secrets_changed or {})
        now = utcnow().isoformat()
        for name, value in secrets.items():
            if value is None:
                current.pop(name, None)
                changed_at.pop(name, None)
            else:
                current[name] = value
                changed_at[name] = now
        row.sealed_secrets = self.box.seal(current) if current else None
        row.secrets_changed = changed_at
        return sorted(secrets)

    async def create(
        self,
        actor: Actor,
        workspace_slug: str,
        name: str,
        kind: str,
        settings: dict[str, Any],
        secrets: Mapping[str, str | None],
    ) -> dict[str, Any]:
        if not NAME.match(name or ""):
            raise BadRequest(
                "a connection name is 1 to 64 letters, digits, '_', '.' or '-'", code="invalid_connection"
            )
        if kind not in KINDS:
            raise BadRequest(f"unknown kind '{kind}'; kinds: {', '.join(KINDS)}", code="invalid_connection")
        clean = self._validated(kind, settings, secrets)
        async with self.db.write() as session:
            workspace = await self._workspace(session, actor, workspace_slug, "manage_connections")
            taken = (
                await session.execute(
                    select(ConnectionRow.id).where(
                        ConnectionRow.workspace_id == workspace.id, ConnectionRow.name == name
                    )
                )
            ).first()
            if taken:
                raise Conflict(f"the workspace already has a connection named '{name}'", code="name_taken")
            row = ConnectionRow(
                workspace_id=workspace.id,
                name=name,
                kind=kind,
                settings=clean,
                secrets_changed={},
                created_by=actor.id,
            )
            changed = self._apply_secrets(
                row, {key: value for key, value in secrets.items() if value is not None}
            )
            session.add(row)
            await session.flush()
            await audit(
                session,
                actor=actor.username,
                action="connection.created",
                resource_type="connection",
                resource_id=row.id,
                detail={
                    "name": name,
                    "kind": kind,
                    "workspace": workspace_slug,
                    "host": host_of(row),
                    "credentials_changed": changed,
                },
            )
            return self.as_json(row, workspace_slug)

    async def get(self, actor: Actor, connection_id: str) -> dict[str, Any]:
        async with self.db.read() as session:
            row = await self._get(session, actor, connection_id, "read")
            return self.as_json(row, await self._slug(session, row.workspace_id))

    async def update(
        self,
        actor: Actor,
        connection_id: str,
        *,
        name: str | None = None,
        settings: dict[str, Any] | None = None,
        secrets: Mapping[str, str | None] | None = None,
    ) -> dict[str, Any]:
        async with self.db.write() as session:
            row = await self._get(session, actor, connection_id, "manage")
            if name is not None and name != row.name:
                if not NAME.match(name):
                    raise BadRequest("a connection name is 1 to 64 letters, digits, '_', '.' or '-'")
                taken = (
                    await session.execute(
                        select(ConnectionRow.id).where(
                            ConnectionRow.workspace_id == row.workspace_id, ConnectionRow.name == name
                        )
                    )
                ).first()
                if taken:
                    raise Conflict(
                        f"the workspace already has a connection named '{name}'", code="name_taken"
                    )
                row.name = name
            merged = {**(row.settings or {}), **settings} if settings is not None else row.settings
            row.settings = self._validated(row.kind, merged, secrets or {})
            changed = self._apply_secrets(row, secrets or {})
            row.updated_at = utcnow()
            await audit(
                session,
                actor=actor.username,
                action="connection.updated",
                resource_type="connection",
                resource_id=row.id,
                detail={
                    "name": row.name,
                    "kind": row.kind,
                    "host": host_of(row),
                    "settings_changed": sorted(settings or {}),
                    "credentials_changed": changed,
                },
            )
            return self.as_json(row, await self._slug(session, row.workspace_id))

    async def delete(self, actor: Actor, connection_id: str) -> None:
        async with self.db.write() as session:
            row = await self._get(session, actor, connection_id, "manage")
            await session.delete(row)
            await audit(
                session,
                actor=actor.username,
                action="connection.deleted",
                resource_type="connection",
                resource_id=row.id,
                detail={"name": row.name, "kind": row.kind},
            )

    async def test(self, actor: Actor, connection_id: str) -> dict[str, Any]:
        """A harmless call that checks address, reachability and credentials."""
        async with self.db.read() as session:
            row = await self._get(session, actor, connection_id, "manage")
        began = time.perf_counter()
        result: dict[str, Any]
        try:
            result = await self._probe(row)
        except Exception as error:  # every failure is an answer of the test, in words
            message = getattr(error, "message", None) or f"{type(error).__name__}"
            result = {"ok": False, "message": message}
        result["duration_ms"] = round((time.perf_counter() - began) * 1000, 1)
        async with self.db.write() as session:
            await audit(
                session,
                actor=actor.username,
                action="connection.tested",
                resource_type="connection",
                resource_id=row.id,
                detail={"name": row.name, "ok": result["ok"], "host": host_of(row)},
            )
        return result

    async def _probe(self, row: ConnectionRow) -> dict[str, Any]:
        secrets = self.box.open(row.sealed_secrets)
        if row.kind in ("http", "webhook"):
            client = self._http_client(row, secrets)
            if row.kind == "webhook":  # a POST would fire the hook: check the address only
                host = client.base.host
                await self.guard.addresses(
                    host, client.base.port or (443 if client.base.scheme == "https" else 80)
                )
                return {"ok": True, "message": f"{host} is an allowed address (no request sent)"}
            answer = await client.send(HttpCall("GET", client.settings.test_path))
            return {
                "ok": answer.status < 400,
                "status": answer.status,
                "message": f"{client.base.host} answered HTTP {answer.status}",
            }
        if row.kind == "email":
            await EmailSender(
                row.name, EmailSettings.model_validate(row.settings), secrets, self.guard
            ).probe()
            return {"ok": True, "message": "the SMTP server accepted the connection and the login"}
        reader = self._sql_reader(row, secrets)
        await reader.query("SELECT 1", {})
        return {"ok": True, "message": "the database answered a read-only SELECT 1"}

    # -- flows: calls -----------------------------------------------------------------
    def _http_client(self, row: ConnectionRow, secrets: Mapping[str, str]) -> HttpClient:
        if row.kind == "webhook":
            webhook = WebhookSettings.model_validate(row.settings)
            settings = webhook.as_http()
            if not secrets.get("token"):
                settings = settings.model_copy(
                    update={"auth": settings.auth.model_copy(update={"type": "none"})}
                )
            return HttpClient(row.name, settings, secrets, self.guard, signing_key=secrets.get("signing_key"))
        return HttpClient(row.name, HttpSettings.model_validate(row.settings), secrets, self.guard)

    def _sql_reader(self, row: ConnectionRow, secrets: Mapping[str, str]) -> SqlReader:
        own = Path(self.settings.data_dir).resolve()
        database = (
            self.db.url.split("///", 1)[1] if self.db.dialect == "sqlite" and "///" in self.db.url else None
        )
        forbidden = (own, *([Path(database).resolve()] if database else []))
        return SqlReader(
            row.name,
            SqlSettings.model_validate(row.settings),
            secrets,
            self.guard,
            forbidden=forbidden,
            own_database=make_url(self.db.url),
        )

    async def _connection_for(self, request: ConnectorRequest) -> ConnectionRow:
        async with self.db.read() as session:
            workspace_id = request.workspace_id
            if workspace_id is None:  # an engine that does not say: ask the stored run
                run = await session.get(Run, request.run_id)
                if run is None:
                    raise ConnectionMissing(f"run {request.run_id} is not known to this runtime")
                workspace_id = run.workspace_id
            row = (
                await session.execute(
                    select(ConnectionRow).where(
                        ConnectionRow.workspace_id == workspace_id, ConnectionRow.name == request.connection
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                names = (
                    (
                        await session.execute(
                            select(ConnectionRow.name)
                            .where(ConnectionRow.workspace_id == workspace_id)
                            .order_by(ConnectionRow.name)
                        )
                    )
                    .scalars()
                    .all()
                )
                raise ConnectionMissing(
                    f"the connection '{request.connection}' does not exist in this workspace (it may have "
                    "been deleted after this version was approved); "
                    f"connections: {', '.join(names) or 'none'}"
                )
        return row

    async def call(self, request: ConnectorRequest) -> ConnectorResult:
        row = await self._connection_for(request)
        secrets = self.box.open(row.sealed_secrets)
        facts: dict[str, Any] = {
            "connection": row.name,
            "kind": row.kind,
            "action": request.action,
            "run_id": request.run_id,
            "node": request.node_id,
        }
        began = time.perf_counter()
        try:
            if row.kind in ("http", "webhook"):
                client = self._http_client(row, secrets)
                method = "POST" if row.kind == "webhook" else request.method.upper()
                path = client.settings.test_path if row.kind == "webhook" else request.path
                facts.update(host=client.base.host, method=method)
                client.url_for(method, path)  # refuse before anything is journaled
                call = HttpCall(
                    method, path, request.query, request.headers, request.body, request.idempotency_key
                )

                async def send_http() -> dict[str, Any]:
                    answer = await client.send(call)
                    facts.update(bytes=answer.bytes, attempts=answer.attempts)
                    return {"status": answer.status, "response": answer.body}

                if method in IDEMPOTENT_METHODS:
                    outputs = await send_http()
                else:
                    outputs = await self._once(request, row, send_http, facts)
            elif row.kind == "email":
                sender = EmailSender(
                    row.name, EmailSettings.model_validate(row.settings), secrets, self.guard
                )
                facts.update(host=sender.settings.host)
                mail = Mail(
                    to=request.to,
                    cc=request.cc,
                    subject=request.subject,
                    text=request.text,
                    message_key=request.idempotency_key,
                )
                recipients = sender.recipients(request.to) + (
                    sender.recipients(request.cc) if request.cc else []
                )
                facts["recipients"] = len(recipients)

                async def send_mail() -> dict[str, Any]:
                    answer = await sender.send(mail)
                    facts["bytes"] = len(request.text.encode())
                    return {"status": "sent", "response": answer}

                outputs = await self._once(request, row, send_mail, facts)
            else:
                reader = self._sql_reader(row, secrets)
                facts.update(host=reader.host)
                answer = await reader.query(request.sql, request.params, request.max_rows)
                facts.update(rows=answer["row_count"])
                outputs = {"status": answer["row_count"], "response": answer}
        except Exception as error:
            facts.update(status="failed", error=type(error).__name__)
            await self._audit_call(row, facts, began)
            raise
        facts["status"] = outputs["status"]
        await self._audit_call(row, facts, began)
        return ConnectorResult(status=outputs["status"], response=outputs["response"])

    async def _once(
        self, request: ConnectorRequest, row: ConnectionRow, send: Any, facts: dict[str, Any]
    ) -> dict[str, Any]:
        """Journal a side effect by idempotency key: an earlier completed call is answered from
        the journal; an interrupted one is attempted again (same key, same Message-ID)."""
        key = request.idempotency_key
        async with self.db.write() as session:
            entry = (
                await session.execute(select(ConnectionCall).where(ConnectionCall.idempotency_key == key))
            ).scalar_one_or_none()
            if entry is not None and entry.status == "sent" and entry.outputs is not None:
                facts["replayed"] = True
                return entry.outputs
            if entry is None:
                session.add(ConnectionCall(idempotency_key=key, connection_id=row.id, run_id=request.run_id))
            else:
                entry.attempts += 1
                entry.updated_at = utcnow()
                facts["attempt"] = entry.attempts
                log.warning(
                    "call %s was interrupted before; calling again with the same idempotency key", key
                )
        outputs: dict[str, Any] = await send()
        async with self.db.write() as session:
            entry = (
                await session.execute(select(ConnectionCall).where(ConnectionCall.idempotency_key == key))
            ).scalar_one()
            entry.status, entry.outputs, entry.updated_at = "sent", outputs, utcnow()
        return outputs

    async def _audit_call(self, row: ConnectionRow, facts: dict[str, Any], began: float) -> None:
        facts["duration_ms"] = round((time.perf_counter() - began) * 1000, 1)
        try:
            async with self.db.write() as session:
                await audit(
                    session,
                    actor=None,
                    action="connection.called",
                    resource_type="connection",
                    resource_id=row.id,
                    detail=facts,
                )
        except Exception:  # the call happened; losing its audit line must not hide its result
            log.exception("could not audit a call of connection %s", row.name)

    # -- the board --------------------------------------------------------------------
    async def used_by(self, workspace_id: str, document: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`connections_used`, each with whether the connection exists now and its kind/host."""
        used = connections_used(document)
        async with self.db.read() as session:
            rows = {
                row.name: row
                for row in (
                    await session.execute(
                        select(ConnectionRow).where(ConnectionRow.workspace_id == workspace_id)
                    )
                ).scalars()
            }
        for entry in used:
            row = rows.get(entry["connection"])
            entry["exists"] = row is not None
            if row is not None:
                entry.update(connection_id=row.id, kind=row.kind, host=host_of(row))
        return used
