"""What flows do with connections: `ConnectorCalls.call(ConnectorRequest)` for the
`connector` node (the runtime registers the `ConnectionService`, which is one, as the
service "connections").

A call finds the connection by name in the run's workspace (a deleted one fails the step
with `ConnectionMissing`), picks production or, for a test run, the connection's test
target (`runtime.connections.targets`: without one a test run causes no side effects and
reads production only when allowed), checks the call against the connection's settings
and the egress guard, and writes one audit entry (connection, action, target, host,
status, duration, bytes — no secrets, no bodies).

Calls with side effects (e-mail, webhooks, HTTP methods other than GET/HEAD/OPTIONS) go
through the call journal (`runtime.connections.journal`): written down as `in_flight`
before the call, `done` or `failed` after. A resumed run gets the journaled answer
instead of calling again; a call interrupted mid-flight is repeated only when that is
safe (PUT/DELETE, or the connection says `on_uncertain: retry`), otherwise it fails the
step or a person is asked whether it arrived (`UncertainCall`).
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from nodes.connector import ConnectorRequest, ConnectorResult, UncertainCall
from nodes.errors import NodeError
from runtime.audit.service import append as audit
from runtime.connections.egress import EgressGuard
from runtime.connections.email import EmailSender, Mail
from runtime.connections.errors import ConnectionMissing
from runtime.connections.http import HttpCall, HttpClient
from runtime.connections.journal import AskPerson, CallJournal, JournaledCall
from runtime.connections.kinds import EmailSettings, HttpSettings, SqlSettings, WebhookSettings
from runtime.connections.models import ConnectionRow
from runtime.connections.secrets import MASK, SecretBox
from runtime.connections.sql import SqlReader
from runtime.connections.targets import effect_of, target_of
from runtime.connections.uncertain import http_summary, mail_summary, request_digest, uncertainty_question
from runtime.db.database import Database
from runtime.db.models import Run, User
from runtime.observability import metrics, tracing
from runtime.settings import Settings

log = logging.getLogger("dirigent.connections")


def sensitive_values(row: ConnectionRow, secrets: Mapping[str, str]) -> list[str]:
    """The secrets of a connection in every form they take on the wire (basic auth: base64)."""
    values = [value for value in secrets.values() if value and len(value) >= 4]
    auth = (row.settings or {}).get("auth") or {}
    if row.kind == "http" and auth.get("type") == "basic" and secrets.get("password"):
        pair = f"{auth.get('username') or ''}:{secrets['password']}".encode()
        values.append(base64.b64encode(pair).decode())
    return sorted(values, key=len, reverse=True)


def scrub(value: Any, sensitive: list[str]) -> Any:
    """`value` with every secret replaced by `••••`: a server that echoes the request (its
    headers, its login) must not make Dirigent store a secret in a run."""
    if not sensitive:
        return value
    if isinstance(value, str):
        for secret in sensitive:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {scrub(key, sensitive): scrub(item, sensitive) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, sensitive) for item in value]
    return value


class ConnectorCalls:
    """Calls from flows; needs `settings`, `db`, `box` (secrets) and `guard` (egress)."""

    settings: Settings
    db: Database
    box: SecretBox
    guard: EgressGuard

    @property
    def journal(self) -> CallJournal:
        return CallJournal(self.db)

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
            sqlite_dir=self.settings.resolved_sqlite_dir(),
        )

    async def _connection_for(self, request: ConnectorRequest) -> ConnectionRow:
        async with self.db.read() as session:
            workspace_id = request.workspace_id
            if workspace_id is None:  # an engine that does not say: ask the stored run
                run = await session.get(Run, request.run_id)
                if run is None:
                    raise ConnectionMissing(
                        f"run {request.run_id} is not known to this runtime",
                        code="run_unknown",
                        run=request.run_id,
                    )
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
                    f"connections: {', '.join(names) or 'none'}",
                    code="connection_missing",
                    connection=request.connection,
                    connections=", ".join(names) or "none",
                )
        return row

    async def call(self, request: ConnectorRequest) -> ConnectorResult | UncertainCall:
        if tracing.active() is None:
            return await self._call(request)
        attributes = {tracing.RUN_ID: request.run_id, "dirigent.connector.action": request.action}
        with tracing.span("dirigent.connector.call", attributes, kind="CLIENT"):
            return await self._call(request)

    async def _call(self, request: ConnectorRequest) -> ConnectorResult | UncertainCall:
        production = await self._connection_for(request)
        method = "POST" if production.kind == "webhook" else request.method.upper()
        effect = effect_of(production.kind, method)
        facts: dict[str, Any] = {
            "connection": production.name,
            "kind": production.kind,
            "action": request.action,
            "run_id": request.run_id,
            "node": request.node_id,
        }
        if request.is_test:
            facts["test_run"] = True
        began = time.perf_counter()
        row = production
        sensitive: list[str] = []
        try:
            row, facts["target"] = target_of(production, request, effect)
            secrets = self.box.open(row.sealed_secrets)
            sensitive = sensitive_values(row, secrets)
            send, summary, confirmed_status = self._prepare(row, secrets, request, method, sensitive, facts)
            if effect == "read":
                outputs: dict[str, Any] | AskPerson = await send()
            else:
                journaled = JournaledCall(
                    key=request.idempotency_key,
                    connection_id=row.id,
                    connection=row.name,
                    run_id=request.run_id,
                    effect=effect,
                    on_uncertain=(row.settings or {}).get("on_uncertain", "ask"),
                    digest=request_digest(request, method),
                    summary=scrub(summary, sensitive),
                    answer=request.uncertain_answer,
                    confirmed_status=confirmed_status,
                )
                outputs = await self.journal.once(
                    journaled,
                    send,
                    facts,
                    lambda text: scrub(text, sensitive),  # type: ignore[no-any-return]
                )
        except Exception as error:
            facts.update(status="failed", error=type(error).__name__)
            await self._audit_call(production, facts, began)
            if isinstance(error, NodeError):  # remote replies end up in messages; secrets must not
                error.message = scrub(error.message, sensitive)
                error.args = (error.message,)
            raise
        if isinstance(outputs, AskPerson):
            facts["status"] = "asked"
            await self._audit_call(production, facts, began)
            return UncertainCall(await self._question(row, request, outputs, facts["target"], sensitive))
        facts["status"] = outputs["status"]
        await self._audit_call(production, facts, began)
        return ConnectorResult(status=outputs["status"], response=outputs["response"])

    def _prepare(
        self,
        row: ConnectionRow,
        secrets: Mapping[str, str],
        request: ConnectorRequest,
        method: str,
        sensitive: list[str],
        facts: dict[str, Any],
    ) -> tuple[Callable[[], Awaitable[dict[str, Any]]], str, str]:
        """Check the call against the connection (refused before anything is journaled) and
        return: how to make it, a summary a person can read, and its status when a person
        confirms it arrived."""
        if row.kind in ("http", "webhook"):
            client = self._http_client(row, secrets)
            path = client.settings.test_path if row.kind == "webhook" else request.path
            facts.update(host=client.base.host, method=method)
            url = client.url_for(method, path)
            call = HttpCall(
                method, path, request.query, request.headers, request.body, request.idempotency_key
            )

            async def send_http() -> dict[str, Any]:
                answer = await client.send(call)
                facts.update(bytes=answer.bytes, attempts=answer.attempts)
                return {"status": answer.status, "response": scrub(answer.body, sensitive)}

            return send_http, http_summary(url.host, method, url.path, request.body), "confirmed"
        if row.kind == "email":
            sender = EmailSender(row.name, EmailSettings.model_validate(row.settings), secrets, self.guard)
            facts.update(host=sender.settings.host)
            mail = Mail(
                to=request.to,
                cc=request.cc,
                subject=request.subject,
                text=request.text,
                message_key=request.idempotency_key,
            )
            recipients = sender.recipients(request.to) + (sender.recipients(request.cc) if request.cc else [])
            facts["recipients"] = len(recipients)

            async def send_mail() -> dict[str, Any]:
                answer = await sender.send(mail)
                facts["bytes"] = len(request.text.encode())
                return {"status": "sent", "response": scrub(answer, sensitive)}

            return send_mail, mail_summary(sender.settings.host, request), "sent"
        reader = self._sql_reader(row, secrets)
        facts.update(host=reader.host)

        async def read_sql() -> dict[str, Any]:
            answer = await reader.query(request.sql, request.params, request.max_rows)
            facts.update(rows=answer["row_count"])
            return {"status": answer["row_count"], "response": scrub(answer, sensitive)}

        return read_sql, f"SQL query on {reader.host}", "confirmed"

    async def _question(
        self, row: ConnectionRow, request: ConnectorRequest, ask: AskPerson, target: str, sensitive: list[str]
    ) -> dict[str, Any]:
        """The approval request "Was this already sent?" (see `runtime.connections.journal`)."""
        async with self.db.read() as session:
            owner = await session.get(User, row.created_by) if row.created_by else None
        return uncertainty_question(
            row.name,
            request,
            ask,
            target,
            owner.username if owner else None,
            lambda value: scrub(value, sensitive),
        )

    async def _audit_call(self, row: ConnectionRow, facts: dict[str, Any], began: float) -> None:
        seconds = time.perf_counter() - began
        facts["duration_ms"] = round(seconds * 1000, 1)
        status = facts.get("status")
        outcome = status if status in ("failed", "asked") else "ok"
        metrics.connector_called(row.kind, outcome, seconds, facts.get("error"))
        tracing.annotate({"dirigent.connection.kind": row.kind, "dirigent.connector.outcome": outcome})
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
