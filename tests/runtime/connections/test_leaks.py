"""Secrets never leak: after a flow that calls an HTTP connection (bearer token), sends an
approved e-mail (SMTP password) and fails against a refused address, no API response, log
line, run record, run step, audit entry — nor the SQLite file itself — contains a secret."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.connections.models import ConnectionRow
from runtime.connections.service import ConnectionService
from runtime.db.models import AuditEntry, Run, RunStep
from tests.runtime.connections.servers import QUIET_AUTH_WARNING, HttpTarget, SmtpTarget
from tests.support.scenario import Scenario

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.filterwarnings(QUIET_AUTH_WARNING)]

TOKEN = "leak-token-9b1f4e0c77"
BASIC = "leak-basic-31aa58e2c9"
API_KEY = "leak-apikey-c6d2f0a914"
SMTP = "leak-smtp-5e8e21bd03"
SECRETS = (TOKEN, BASIC, API_KEY, SMTP)


class Recorder:
    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        self.bodies: list[str] = []

    async def __call__(
        self, who: str | None, method: str, path: str, status: int | None = None, **kwargs: Any
    ) -> Any:
        response: httpx.Response = await self.sc.as_(who).request(method, path, **kwargs)
        self.bodies.append(f"{method} {path} {response.status_code} {dict(response.headers)} {response.text}")
        if status is not None:
            assert response.status_code == status, response.text
        return (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else None
        )


def flow(crm: str, mailer: str) -> dict[str, Any]:
    return {
        "schema": "dirigent.flow/v1",
        "name": "Alles",
        "inputs": {"title": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {
                "id": "task",
                "type": "connector",
                "config": {
                    "connection": crm,
                    "action": "create_task",
                    "method": "POST",
                    "path": "/tasks",
                    "body": '{"title": {{ inputs.title | json }}}',
                },
            },
            {
                "id": "check",
                "type": "approval",
                "config": {"assignees": ["user:champion2"], "payload": '{"to": "a@kunde.de"}'},
            },
            {
                "id": "mail",
                "type": "connector",
                "config": {
                    "connection": mailer,
                    "action": "notify",
                    "to": "{{ check.payload.to }}",
                    "subject": "Aufgabe {{ task.status }}",
                    "text": "angelegt",
                },
            },
            {"id": "end", "type": "output"},
        ],
        "edges": [
            {"from": "start", "to": "task"},
            {"from": "task", "to": "check"},
            {"from": "check", "to": "mail", "when": "approved"},
            {"from": "mail", "to": "end"},
        ],
        "outputs": {"task": "{{ task.response | json }}", "mail": "{{ mail.response | json }}"},
        "card": {"purpose": "Leck-Test", "risk": "limited", "owner": "Test"},
        "tests": [
            {
                "name": "legt an und meldet",
                "inputs": {"title": "T"},
                "fixed": {"task": {"status": 201, "response": {"id": 1}}, "mail": {"status": "sent"}},
                "decisions": {"check": {"decision": "approve"}},
                "expect": [
                    {"check": "approval_raised", "node": "check"},
                    {"check": "status", "value": "succeeded"},
                ],
            }
        ],
    }


async def test_no_secret_appears_anywhere(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    call = Recorder(sc)
    http.route("/api/tasks", status=201, json_body={"id": 99})
    with SmtpTarget(username="mailer", password=SMTP) as smtp:
        crm = await call(
            "admin",
            "POST",
            "/api/workspaces/sales/connections",
            201,
            json={
                "name": "leak-crm",
                "kind": "http",
                "secrets": {"token": TOKEN},
                "settings": {
                    "base_url": http.url + "/api",
                    "auth": {"type": "bearer"},
                    "allowed_methods": ["POST", "GET"],
                    "allowed_paths": ["/tasks"],
                    "test_path": "/tasks",
                },
            },
        )
        mailer = await call(
            "admin",
            "POST",
            "/api/workspaces/sales/connections",
            201,
            json={
                "name": "leak-mail",
                "kind": "email",
                "secrets": {"password": SMTP},
                "settings": {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "security": "none",
                    "username": "mailer",
                    "sender": "bot@firma.de",
                    "allowed_domains": ["kunde.de"],
                },
            },
        )
        # secrets change, are tested, fail: every path that touches them
        await call(
            "admin",
            "PATCH",
            f"/api/connections/{crm['id']}",
            200,
            json={"secrets": {"password": BASIC, "api_key": API_KEY}},
        )
        await call("admin", "POST", f"/api/connections/{crm['id']}/test", 200)
        await call("admin", "POST", f"/api/connections/{mailer['id']}/test", 200)
        refused = await call(
            "admin",
            "POST",
            "/api/workspaces/sales/connections",
            201,
            json={
                "name": "leak-refused",
                "kind": "http",
                "secrets": {"token": TOKEN},
                "settings": {"base_url": "http://169.254.169.254/latest"},
            },
        )
        await call("admin", "POST", f"/api/connections/{refused['id']}/test", 200)
        for who in ("admin", "champion", "salesadmin"):
            await call(who, "GET", "/api/workspaces/sales/connections", 200)
            await call(who, "GET", f"/api/connections/{crm['id']}", 200)

        flow_body = await call(
            "champion",
            "POST",
            "/api/workspaces/sales/flows",
            201,
            json={"name": "Alles", "slug": "leak-all", "document": flow("leak-crm", "leak-mail")},
        )
        for action, who in (
            ("test", "champion"),
            ("submit", "champion"),
            ("approve", "board1"),
            ("publish", "champion"),
        ):
            await call(
                who,
                "POST",
                f"/api/flows/{flow_body['id']}/versions/1/{action}",
                201 if action == "test" else 200,
                json={"comment": "ok"} if action == "approve" else None,
            )
        await call("board1", "GET", f"/api/flows/{flow_body['id']}/versions/1/connections", 200)
        run = await call(
            "user", "POST", "/api/assistants/leak-all/runs", 200, json={"inputs": {"title": "T"}}
        )
        assert run["status"] == "waiting", run
        await call(
            "champion2",
            "POST",
            f"/api/tasks/{run['tasks'][0]['id']}/decision",
            200,
            json={"decision": "approve"},
        )
        for _ in range(100):
            done = await call("user", "GET", f"/api/runs/{run['id']}", 200)
            if done["status"] != "running":
                break
        assert done["status"] == "succeeded", done
        assert len(smtp.messages) == 1 and http.requests[-1].headers["authorization"] == f"Bearer {TOKEN}"
        await call("board1", "GET", "/api/audit", 200, params={"limit": 1000})
        await call("board1", "GET", "/api/audit/export", 200)

    async def rows(session: AsyncSession) -> str:
        found = []
        for model in (Run, RunStep, AuditEntry, ConnectionRow):
            for row in (await session.execute(select(model))).scalars():
                found.append(
                    str({column.name: getattr(row, column.key, None) for column in model.__table__.columns})
                )
        return "\n".join(found)

    stored = sc.in_app(rows)
    logs = "\n".join(f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records)
    assert "create_task" in stored and "connection.called" in stored  # the records are there
    for secret in SECRETS:
        for where, text in (
            ("API responses", "\n".join(call.bodies)),
            ("log lines", logs),
            ("runs, steps, audit entries, connection rows", stored),
        ):
            assert secret not in text, f"{secret} leaked into {where}"

    url = sc.api.runtime.db.url
    if url.startswith("sqlite"):  # the database file, byte by byte (WAL included)
        path = Path(url.split("///", 1)[1])
        content = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for secret in SECRETS:
            assert secret.encode() not in content, f"{secret} is in the database file"
