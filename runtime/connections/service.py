"""ConnectionService: the connections of a workspace, through the policy.

    admins      list / create / read / update / delete / test      (policy: Connection),
                each connection with an optional test target (`target_store`)
    flows       call(ConnectorRequest) from the `connector` node     (calls.ConnectorCalls)
    the board   used_by / production_touches (runtime.connections.usage): which
                connections and actions a version uses, whether each still exists, and what
                it touches in production

The webhook and schedule triggers of assistants start runs, so they live a layer above,
with the runs (`runtime.runs.triggers.TriggerService`); their secrets use this `box`.

Secrets go in through `create`/`update`, are sealed at once, and come out only as
`••••` with the date of their last change.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import append as audit
from runtime.connections import usage
from runtime.connections.calls import ConnectorCalls, scrub, sensitive_values
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.connections.email import EmailSender
from runtime.connections.errors import SqliteOutsideDir
from runtime.connections.http import HttpCall
from runtime.connections.kinds import (
    KINDS,
    EmailSettings,
    SettingsInvalid,
    check_secret_names,
    parse_settings,
)
from runtime.connections.models import ConnectionRow
from runtime.connections.secrets import SecretBox, load_key, masked
from runtime.connections.sql import sqlite_file
from runtime.connections.target_store import apply_test_target, test_target_json
from runtime.connections.usage import host_of
from runtime.db.database import Database
from runtime.db.models import Workspace, utcnow
from runtime.errors import BadRequest, Conflict, NotFound
from runtime.policy import resources
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import workspace_view
from runtime.settings import Settings
from runtime.users.workspaces import workspace_by_slug

log = logging.getLogger("dirigent.connections")
SCHEDULE_INTERVAL_ENV = "DIRIGENT_SCHEDULE_INTERVAL_S"
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def connection_view(row: ConnectionRow) -> resources.Connection:
    return resources.Connection(id=row.id, workspace_id=row.workspace_id)


class ConnectionService(ConnectorCalls):
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
        self.box = box or SecretBox(load_key(settings.data_dir, key_file=settings.secret_key_file))
        self.guard = guard or EgressGuard(EgressPolicy.parse(settings.egress_allow))
        self._authz = authz

    @property
    def authz(self) -> Authorizer:
        if self._authz is None:
            self._authz = Authorizer()
        return self._authz

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
            # Test runs call this instead of production (None: they refuse side effects).
            "test_target": test_target_json(row),
            "created_at": row.created_at.isoformat() if row.created_at else None,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        }

    async def _workspace(self, session: AsyncSession, actor: Actor, slug: str, action: str) -> Workspace:
        workspace = await workspace_by_slug(session, slug)
        self.authz.authorize(actor, action, workspace_view(workspace))
        return workspace

    async def _get(
        self, session: AsyncSession, actor: Actor, connection_id: str, action: str
    ) -> ConnectionRow:
        row = await session.get(ConnectionRow, connection_id)
        if row is None:
            raise NotFound("connection not found", code="not_found", resource="connection")
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
            raise BadRequest(
                str(error), code="invalid_connection", reason="settings", errors=error.problems
            ) from None
        for name, value in secrets.items():
            if value is not None and (not isinstance(value, str) or not value or len(value) > 8192):
                raise BadRequest(
                    f"secret '{name}' must be a non-empty text (or null to remove it)",
                    code="invalid_connection",
                    reason="secret",
                    secret=name,
                )
        clean: dict[str, Any] = parsed.model_dump(mode="json")
        if kind == "sql":
            self._check_sqlite_place(clean)
        return clean

    def _check_sqlite_place(self, settings: dict[str, Any]) -> None:
        """A SQLite file outside the configured directory is refused when the connection is
        saved (and again at every call, in case a link was changed since)."""
        reader = self._sql_reader(ConnectionRow(name="", kind="sql", settings=settings), {})
        if reader.url.get_backend_name() != "sqlite":
            return
        try:
            sqlite_file(reader.url.database or "", reader.sqlite_dir, reader.forbidden)
        except SqliteOutsideDir as refused:
            raise BadRequest(
                refused.message, code="sqlite_outside_dir", directory=str(reader.sqlite_dir)
            ) from None

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
        test_target: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        if not NAME.fullmatch(name or ""):
            raise BadRequest(
                "a connection name is 1 to 64 letters, digits, '_', '.' or '-'",
                code="invalid_connection",
                reason="name",
            )
        if kind not in KINDS:
            raise BadRequest(
                f"unknown kind '{kind}'; kinds: {', '.join(KINDS)}",
                code="invalid_connection",
                reason="kind",
                kind=kind,
                kinds=", ".join(KINDS),
            )
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
                raise Conflict(
                    f"the workspace already has a connection named '{name}'",
                    code="name_taken",
                    what="connection",
                    name=name,
                )
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
            target = apply_test_target(row, self.box, test_target)
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
                    "test_target": target,
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
        test_target: Mapping[str, Any] | object | None = ...,
    ) -> dict[str, Any]:
        """`test_target`: leave it out to keep the stored one, None removes it."""
        async with self.db.write() as session:
            row = await self._get(session, actor, connection_id, "manage")
            if name is not None and name != row.name:
                if not NAME.fullmatch(name):
                    raise BadRequest(
                        "a connection name is 1 to 64 letters, digits, '_', '.' or '-'",
                        code="invalid_connection",
                        reason="name",
                    )
                taken = (
                    await session.execute(
                        select(ConnectionRow.id).where(
                            ConnectionRow.workspace_id == row.workspace_id, ConnectionRow.name == name
                        )
                    )
                ).first()
                if taken:
                    raise Conflict(
                        f"the workspace already has a connection named '{name}'",
                        code="name_taken",
                        what="connection",
                        name=name,
                    )
                row.name = name
            merged = {**(row.settings or {}), **settings} if settings is not None else row.settings
            row.settings = self._validated(row.kind, merged, secrets or {})
            changed = self._apply_secrets(row, secrets or {})
            target = "kept"
            if test_target is not ...:
                target = apply_test_target(row, self.box, test_target)  # type: ignore[arg-type]
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
                    "test_target": target,
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

    async def test(self, actor: Actor, connection_id: str, target: str = "production") -> dict[str, Any]:
        """A harmless call that checks address, reachability and credentials (of the test
        target with `target="test"`)."""
        async with self.db.read() as session:
            row = await self._get(session, actor, connection_id, "manage")
        if target == "test":
            if row.test_settings is None:
                raise BadRequest(
                    f"connection '{row.name}' has no test target", code="no_test_target", connection=row.name
                )
            row = ConnectionRow(
                id=row.id,
                workspace_id=row.workspace_id,
                name=row.name,
                kind=row.kind,
                settings=row.test_settings,
                sealed_secrets=row.sealed_test_secrets,
            )
        began = time.perf_counter()
        result: dict[str, Any]
        try:
            result = await self._probe(row)
        except Exception as error:  # every failure is an answer of the test, in words
            message = getattr(error, "message", None) or f"{type(error).__name__}"
            sensitive = sensitive_values(row, self.box.open(row.sealed_secrets))
            result = {"ok": False, "message": scrub(message, sensitive)}
        result["duration_ms"] = round((time.perf_counter() - began) * 1000, 1)
        async with self.db.write() as session:
            await audit(
                session,
                actor=actor.username,
                action="connection.tested",
                resource_type="connection",
                resource_id=row.id,
                detail={"name": row.name, "ok": result["ok"], "host": host_of(row), "target": target},
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
            # The test GETs its own path, whatever the connection allows flows to call.
            client.settings = client.settings.model_copy(
                update={
                    "allowed_methods": ["GET"],
                    "allowed_paths": [client.settings.test_path],
                    "retries": 0,
                }
            )
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

    # -- the board --------------------------------------------------------------------
    async def used_by(self, workspace_id: str, document: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`connections_used`, each with whether the connection exists now, its kind and host."""
        return await usage.used_by(self.db, workspace_id, document)

    async def production_touches(
        self, workspace_id: str, document: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Per connection a version uses: what it does in production once published."""
        return await usage.production_touches(self.db, workspace_id, document)
