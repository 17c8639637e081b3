"""Connector nodes in flows, end to end through the API against local servers: HTTP calls
with mapping and idempotency keys, the audit line of every call, a deleted connection,
what a version uses, SQL (SQLite) read-only."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runtime.connections.service import ConnectionService
from tests.runtime.connections.conftest import SECRET, create_connection
from tests.runtime.connections.servers import HttpTarget
from tests.support.scenario import Scenario, expect

pytestmark = pytest.mark.asyncio(loop_scope="module")
_names = itertools.count(1)


def connector_flow(
    connection: str,
    config: dict[str, Any],
    *,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "schema": "dirigent.flow/v1",
        "name": "Connector",
        "inputs": inputs or {"title": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "call", "type": "connector", "config": {"connection": connection, **config}},
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "call"}, {"from": "call", "to": "end"}],
        "outputs": outputs or {"status": "{{ call.status }}", "response": "{{ call.response | json }}"},
        "card": {"purpose": "Aufgaben anlegen", "risk": "limited", "owner": "Vertrieb"},
        # Test cases never call the connection: its answer is fixed.
        "tests": [
            {
                "name": "legt eine Aufgabe an",
                "inputs": {
                    name: "Test"
                    for name, spec in (inputs or {"title": {"required": True}}).items()
                    if spec.get("required")
                },
                "fixed": {"call": {"status": 201, "response": {"task_id": 4711, "state": "open"}}},
                "expect": [{"check": "status", "value": "succeeded"}],
            }
        ],
    }


async def crm(sc: Scenario, http: HttpTarget, **settings: Any) -> str:
    name = f"crm{next(_names)}"
    await create_connection(
        sc,
        name,
        "http",
        {
            "base_url": http.url + "/api",
            "auth": {"type": "bearer"},
            "allowed_methods": ["GET", "POST"],
            "allowed_paths": ["/tasks"],
            **settings,
        },
        {"token": SECRET},
        test_target=True,  # the editor's test runs below call the same local server
    )
    return name


async def audit_calls(sc: Scenario, run_id: str) -> list[dict[str, Any]]:
    entries = expect(
        await sc.as_("board1").get("/api/audit", params={"action": "connection.called", "limit": 200}), 200
    )
    return [entry for entry in entries if entry["detail"].get("run_id") == run_id]


async def test_a_flow_posts_to_the_crm_maps_the_answer_and_the_call_is_audited(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    http.route("/api/tasks", status=201, json_body={"data": {"id": 4711, "state": "open"}, "noise": [1, 2]})
    name = await crm(sc, http)
    document = connector_flow(
        name,
        {
            "action": "create_task",
            "method": "POST",
            "path": "/tasks",
            "body": '{"title": {{ inputs.title | json }}, "source": "dirigent"}',
            "headers": {"X-Request-Source": "flow"},
            "select": {"task_id": "$.data.id", "state": "$.data.state"},
        },
        outputs={"task_id": "{{ call.response.task_id }}", "status": "{{ call.status }}"},
    )
    await sc.live(document)
    run = await sc.invoke(next(reversed(sc.flows)), {"title": 'Angebot "Müller" nachfassen'})
    assert run["status"] == "succeeded", run["error"]
    assert run["outputs"] == {"task_id": 4711, "status": 201}
    [request] = http.requests
    assert (request.method, request.path) == ("POST", "/api/tasks")
    assert request.json() == {"title": 'Angebot "Müller" nachfassen', "source": "dirigent"}
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["idempotency-key"] == f"{run['id']}:call"
    assert request.headers["x-request-source"] == "flow"
    step = next(step for step in run["steps"] if step["node_id"] == "call")
    assert step["outputs"] == {"response": {"task_id": 4711, "state": "open"}, "status": 201}

    [entry] = await audit_calls(sc, run["id"])
    detail = entry["detail"]
    assert {key: detail[key] for key in ("connection", "action", "host", "method", "status", "node")} == {
        "connection": name,
        "action": "create_task",
        "host": "127.0.0.1",
        "method": "POST",
        "status": 201,
        "node": "call",
    }
    assert detail["bytes"] > 0 and detail["duration_ms"] >= 0
    assert "Müller" not in str(entry) and SECRET not in str(entry)  # no bodies, no secrets


async def test_a_resumed_run_does_not_post_twice(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    """The journal answers a second call with the same idempotency key (run id:node id)."""
    from nodes.connector import ConnectorRequest

    http.route("/api/tasks", status=201, json_body={"id": 1})
    name = await crm(sc, http)
    flow = await sc.create(connector_flow(name, {"method": "POST", "path": "/tasks", "body": "{}"}))
    run = expect(
        await sc.as_("champion").post(
            f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {"title": "x"}}
        ),
        200,
    )
    assert run["status"] == "succeeded" and len(http.requests) == 1
    again = ConnectorRequest(
        run_id=run["id"],
        node_id="call",
        idempotency_key=f"{run['id']}:call",
        connection=name,
        action="call",
        method="POST",
        path="/tasks",
        body={},
    )
    result = sc.api.client.blocking_portal.call(allow_loopback.call, again)
    assert (result.status, result.response) == (201, {"id": 1})
    assert len(http.requests) == 1


async def test_idempotent_calls_are_retried_with_backoff_others_are_not(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    http.route("/api/tasks", status=503, times=2)
    name = await crm(sc, http, retries=2)
    flow = await sc.create(connector_flow(name, {"method": "GET", "path": "/tasks"}))
    run = expect(
        await sc.as_("champion").post(
            f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {"title": "x"}}
        ),
        200,
    )
    assert run["status"] == "succeeded" and len(http.requests) == 3, run["error"]

    http.requests.clear()
    http.route("/api/tasks", status=503, times=1)
    flow = await sc.create(connector_flow(name, {"method": "POST", "path": "/tasks", "body": "{}"}))
    run = expect(
        await sc.as_("champion").post(
            f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {"title": "x"}}
        ),
        200,
    )
    assert run["status"] == "failed" and "HTTP 503" in run["error"]["message"]
    assert len(http.requests) == 1


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"method": "DELETE", "path": "/tasks/1"}, "allows the methods GET, POST, not DELETE"),
        ({"path": "/admin/users"}, "allows paths under /tasks, not /admin/users"),
        ({"path": "/tasks-admin"}, "allows paths under /tasks"),
        ({"path": "/tasks/../admin"}, "is not allowed"),
    ],
)
async def test_calls_outside_the_connection_fail_the_step_in_words(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService, config: dict[str, Any], fragment: str
) -> None:
    name = await crm(sc, http)
    flow = await sc.create(connector_flow(name, config))
    run = expect(
        await sc.as_("champion").post(
            f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {"title": "x"}}
        ),
        200,
    )
    assert run["status"] == "failed"
    assert run["error"]["node"] == "call" and run["error"]["kind"] == "ActionNotAllowed"
    assert fragment in run["error"]["message"], run["error"]
    assert http.requests == []


async def test_responses_over_the_size_limit_fail(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    http.route("/api/tasks", size=5000)
    name = await crm(sc, http, max_response_bytes=1000)
    flow = await sc.create(connector_flow(name, {"path": "/tasks"}))
    run = expect(
        await sc.as_("champion").post(
            f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {"title": "x"}}
        ),
        200,
    )
    assert run["status"] == "failed" and "more than 1000 bytes" in run["error"]["message"]


async def test_a_published_version_whose_connection_was_deleted_fails_clearly(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    name = await crm(sc, http)
    document = connector_flow(name, {"action": "list_tasks", "path": "/tasks"})
    flow = await sc.live(document)
    uses = expect(await sc.as_("board1").get(f"/api/flows/{flow['id']}/versions/1/connections"), 200)
    assert uses["uses"][0] | {"connection_id": None} == {
        "node": "call",
        "connection": name,
        "action": "list_tasks",
        "method": "GET",
        "path": "/tasks",
        "exists": True,
        "kind": "http",
        "host": "127.0.0.1",
        "connection_id": None,
        "effect": "read",
        "has_test_target": True,
    }
    assert uses["missing"] == []

    [connection] = [
        item
        for item in expect(await sc.as_("admin").get("/api/workspaces/sales/connections"), 200)
        if item["name"] == name
    ]
    expect(await sc.as_("admin").request("DELETE", f"/api/connections/{connection['id']}"), 204)
    uses = expect(await sc.as_("board1").get(f"/api/flows/{flow['id']}/versions/1/connections"), 200)
    assert uses["missing"] == [name] and uses["uses"][0]["exists"] is False

    run = await sc.invoke(flow["slug"], {"title": "x"})
    assert run["status"] == "failed"
    assert run["error"]["kind"] == "ConnectionMissing" and run["error"]["node"] == "call"
    assert f"the connection '{name}' does not exist in this workspace" in run["error"]["message"]
    assert "deleted" in run["error"]["message"]


# -- SQL on SQLite --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def offers_db(shared_app: tuple[Scenario, Any]) -> Path:
    """In the one directory SQL connections may read SQLite files from (DIRIGENT_SQL_SQLITE_DIR)."""
    directory = shared_app[0].api.settings.resolved_sqlite_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "erp.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE offers (id INTEGER PRIMARY KEY, customer TEXT, amount REAL)")
        connection.executemany(
            "INSERT INTO offers (customer, amount) VALUES (?, ?)",
            [("Müller", 1200.0), ("Schmidt", 990.5), ("Müller", 40.0), ("Weber", 7.0)],
        )
    return path


def sql_flow(connection: str, sql: str, **config: Any) -> dict[str, Any]:
    return connector_flow(
        connection,
        {"action": "open_offers", "sql": sql, **config},
        inputs={"customer": {"type": "string", "required": True}},
        outputs={"rows": "{{ call.response.rows | json }}", "count": "{{ call.status }}"},
    )


async def sql_run(sc: Scenario, document: dict[str, Any], customer: str = "Müller") -> dict[str, Any]:
    flow = await sc.create(document)
    return expect(
        await sc.as_("champion").post(
            f"/api/flows/{flow['id']}/versions/1/runs",  # type: ignore[no-any-return]
            # The connections have no test target: reading production is this test run's choice.
            json={"inputs": {"customer": customer}, "allow_live_reads": True},
        ),
        200,
    )


async def test_sql_reads_with_bound_parameters_and_a_row_limit(sc: Scenario, offers_db: Path) -> None:
    name = f"erp{next(_names)}"
    await create_connection(sc, name, "sql", {"url": f"sqlite:///{offers_db}", "max_rows": 2})
    run = await sql_run(
        sc,
        sql_flow(
            name,
            "SELECT customer, amount FROM offers WHERE customer = :customer ORDER BY amount DESC",
            params={"customer": "{{ inputs.customer }}"},
        ),
    )
    assert run["status"] == "succeeded", run["error"]
    step = next(step for step in run["steps"] if step["node_id"] == "call")
    assert step["outputs"]["response"]["rows"] == [
        {"customer": "Müller", "amount": 1200.0},
        {"customer": "Müller", "amount": 40.0},
    ]
    run = await sql_run(
        sc,
        sql_flow(
            name,
            "SELECT id FROM offers WHERE amount > :min",
            max_rows=1,
            params={"min": "5"},
            param_types={"min": "number"},
        ),
    )
    response = next(step for step in run["steps"] if step["node_id"] == "call")["outputs"]["response"]
    assert response["row_count"] == 1 and response["truncated"] is True


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM offers",
        "UPDATE offers SET amount = 0",
        "INSERT INTO offers (customer) VALUES ('x')",
        "DROP TABLE offers",
        "CREATE TABLE x (a)",
        "ATTACH DATABASE 'other.db' AS other",
        "PRAGMA query_only = OFF",
        "WITH gone AS (DELETE FROM offers RETURNING id) SELECT * FROM gone",
        "select 1; delete from offers",
    ],
)
async def test_sql_is_read_only_by_the_database_not_by_keywords(
    sc: Scenario, offers_db: Path, sql: str
) -> None:
    name = f"erp{next(_names)}"
    await create_connection(sc, name, "sql", {"url": f"sqlite:///{offers_db}"})
    run = await sql_run(sc, sql_flow(name, sql))
    assert run["status"] == "failed" and run["error"]["kind"] == "ActionNotAllowed", run["error"]
    with sqlite3.connect(offers_db) as connection:
        assert connection.execute("SELECT count(*), sum(amount) FROM offers").fetchone() == (4, 2237.5)


async def test_sql_may_not_read_dirigents_own_database(sc: Scenario) -> None:
    own = sc.api.runtime.db.url.split("///", 1)[1] if "sqlite" in sc.api.runtime.db.url else None
    if own is None:
        pytest.skip("the runtime's database is not a SQLite file here")
    name = f"erp{next(_names)}"
    body = await create_connection(sc, name, "sql", {"url": f"sqlite:///{own}"}, status=400)
    assert body["error"] == "sqlite_outside_dir" and "Dirigent's own data" in body["message"]


# -- SQL on PostgreSQL (when the suite runs against a PostgreSQL server) ----------------------
@pytest.fixture(scope="module")
def erp_postgres() -> Any:
    """A database of its own on the test server, with an `offers` table; its URL (no password)."""
    import os
    import uuid

    from tests.support.db import ENV_VAR, _create_database, _drop_database, _postgres_url, _run_in_thread

    server = _postgres_url(os.environ.get(ENV_VAR, "") or "sqlite://")
    if server is None:
        pytest.skip(f"{ENV_VAR} is not a PostgreSQL URL")
    name = f"dirigent_erp_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _run_in_thread(lambda: _create_database(server, name))

    async def fill() -> None:
        import asyncpg

        connection = await asyncpg.connect(
            server.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
        )
        try:
            await connection.execute(
                "CREATE TABLE offers (id serial PRIMARY KEY, customer text, amount numeric)"
            )
            await connection.executemany(
                "INSERT INTO offers (customer, amount) VALUES ($1, $2)",
                [("Müller", 1200), ("Schmidt", 990.5), ("Müller", 40)],
            )
        finally:
            await connection.close()

    _run_in_thread(fill)
    yield server.set(drivername="postgresql", database=name, password=None).render_as_string(
        hide_password=False
    )
    _run_in_thread(lambda: _drop_database(server, name))


async def test_sql_on_postgresql_reads_with_parameters_and_refuses_writes(
    sc: Scenario, erp_postgres: str, allow_loopback: ConnectionService
) -> None:
    name = f"erp{next(_names)}"
    await create_connection(sc, name, "sql", {"url": erp_postgres, "timeout_s": 1})
    run = await sql_run(
        sc,
        sql_flow(
            name,
            "SELECT customer, amount FROM offers WHERE customer = :customer ORDER BY amount DESC",
            params={"customer": "{{ inputs.customer }}"},
        ),
    )
    assert run["status"] == "succeeded", run["error"]
    rows = next(step for step in run["steps"] if step["node_id"] == "call")["outputs"]["response"]["rows"]
    assert rows == [{"customer": "Müller", "amount": 1200}, {"customer": "Müller", "amount": 40}]
    for statement in (
        "DELETE FROM offers",
        "UPDATE offers SET amount = 0",
        "CREATE TABLE x (a int)",
        "INSERT INTO offers (customer) VALUES ('x')",
        "WITH gone AS (DELETE FROM offers RETURNING id) SELECT * FROM gone",
        "SET TRANSACTION READ WRITE",
        "SELECT 1; DELETE FROM offers",
    ):
        run = await sql_run(sc, sql_flow(name, statement))
        assert run["status"] == "failed" and run["error"]["kind"] == "ActionNotAllowed", (
            statement,
            run["error"],
        )
    run = await sql_run(sc, sql_flow(name, "SELECT count(*) AS n, sum(amount) AS total FROM offers"))
    rows = next(step for step in run["steps"] if step["node_id"] == "call")["outputs"]["response"]["rows"]
    assert rows == [{"n": 3, "total": 2230.5}]
    run = await sql_run(sc, sql_flow(name, "SELECT pg_sleep(5)"))
    assert run["status"] == "failed" and "longer than 1 s" in run["error"]["message"], run["error"]


async def test_sql_on_postgresql_may_not_read_dirigents_own_database(
    sc: Scenario, allow_loopback: ConnectionService
) -> None:
    from sqlalchemy.engine import make_url

    own = make_url(sc.api.runtime.db.url)
    if own.get_backend_name() != "postgresql":
        pytest.skip("the runtime's database is not PostgreSQL here")
    name = f"erp{next(_names)}"
    await create_connection(
        sc,
        name,
        "sql",
        {"url": own.set(drivername="postgresql", password=None).render_as_string(hide_password=False)},
    )
    run = await sql_run(sc, sql_flow(name, "SELECT password_hash FROM users"))
    assert run["status"] == "failed" and "Dirigent's own database" in run["error"]["message"], run["error"]


# -- webhooks out ----------------------------------------------------------------------------
async def test_a_webhook_posts_the_body_signed_to_its_one_url(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    import hmac

    from runtime.connections.http import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

    http.route("/hooks/erp", status=202, json_body={"queued": True})
    name = f"hook{next(_names)}"
    created = await create_connection(
        sc,
        name,
        "webhook",
        {"url": http.url + "/hooks/erp"},
        {"signing_key": "hook-key-" + SECRET},
        test_target=True,
    )
    flow = await sc.create(
        connector_flow(
            name,
            {
                "action": "notify_erp",
                "method": "GET",
                "path": "/elsewhere",
                "body": '{"title": {{ inputs.title | json }}}',
            },
        )
    )
    run = expect(
        await sc.as_("champion").post(
            f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {"title": "Neu"}}
        ),
        200,
    )
    assert run["status"] == "succeeded", run["error"]
    [request] = http.requests
    assert (request.method, request.path) == ("POST", "/hooks/erp")
    assert request.json() == {"title": "Neu"} and "authorization" not in request.headers
    expected = sign("hook-key-" + SECRET, request.headers[TIMESTAMP_HEADER.lower()], request.body)
    assert hmac.compare_digest(request.headers[SIGNATURE_HEADER.lower()], expected)
    assert request.headers["idempotency-key"] == f"{run['id']}:call"

    # the connection test checks the address only: a POST would fire the hook
    result = expect(await sc.as_("admin").post(f"/api/connections/{created['id']}/test"), 200)
    assert result["ok"] is True and "no request sent" in result["message"]
    assert len(http.requests) == 1


async def test_a_server_that_echoes_the_credentials_does_not_get_them_into_the_run(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    http.route("/api/tasks", json_body={"you_sent": {"Authorization": f"Bearer {SECRET}"}, "key": SECRET})
    name = await crm(sc, http)
    flow = await sc.create(connector_flow(name, {"path": "/tasks"}))
    run = expect(
        await sc.as_("champion").post(
            f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {"title": "x"}}
        ),
        200,
    )
    assert run["status"] == "succeeded", run["error"]
    step = next(step for step in run["steps"] if step["node_id"] == "call")
    assert step["outputs"]["response"] == {"you_sent": {"Authorization": "Bearer ••••"}, "key": "••••"}
    assert SECRET not in str(run)
