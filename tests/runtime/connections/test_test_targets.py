"""Test runs never touch production: a connection's optional test target (its own address
and secrets) is what the editor's test runs call; without one a test run refuses side
effects (`no_test_target`) and reads production only when it says `allow_live_reads`
(else `live_read_not_allowed`, naming the connection). Published runs always call
production. The API shows whether a test target exists, never its secrets; a version's
review data says which connections it touches in production."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from runtime.connections.secrets import MASK
from runtime.connections.service import ConnectionService
from tests.runtime.connections.conftest import SECRET, create_connection
from tests.runtime.connections.servers import QUIET_AUTH_WARNING, HttpTarget, SmtpTarget
from tests.runtime.connections.test_flows import connector_flow
from tests.support.scenario import Scenario, expect

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.filterwarnings(QUIET_AUTH_WARNING)]
_names = itertools.count(1)
TEST_SECRET = "test-tok-only-for-the-sandbox-77"
SMTP_PASSWORD = "smtp-pw-" + SECRET  # the module's SMTP server (conftest)


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[HttpTarget]:
    with HttpTarget() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: HttpTarget) -> HttpTarget:
    sandbox_server.requests.clear()
    sandbox_server.routes.clear()
    return sandbox_server


def http_settings(server: HttpTarget) -> dict[str, Any]:
    return {
        "base_url": server.url + "/api",
        "auth": {"type": "bearer"},
        "allowed_methods": ["GET", "POST"],
        "allowed_paths": ["/tasks"],
    }


async def crm(sc: Scenario, production: HttpTarget, sandbox: HttpTarget | None = None) -> dict[str, Any]:
    target = {"settings": http_settings(sandbox), "secrets": {"token": TEST_SECRET}} if sandbox else False
    return await create_connection(  # type: ignore[no-any-return]
        sc, f"crm{next(_names)}", "http", http_settings(production), {"token": SECRET}, test_target=target
    )


async def editor_run(sc: Scenario, document: dict[str, Any], **options: Any) -> dict[str, Any]:
    flow = await sc.create(document)
    return expect(  # type: ignore[no-any-return]
        await sc.as_("champion").post(
            f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {"title": "x"}, **options}
        ),
        200,
    )


post = {
    "action": "create_task",
    "method": "POST",
    "path": "/tasks",
    "body": '{"title": {{ inputs.title | json }}}',
}


# -- the API --------------------------------------------------------------------------------
async def test_the_api_shows_a_test_target_but_never_its_secrets(
    sc: Scenario, http: HttpTarget, sandbox: HttpTarget
) -> None:
    created = await crm(sc, http, sandbox)
    target = created["test_target"]
    assert target["settings"]["base_url"] == sandbox.url + "/api"
    assert target["secrets"]["token"]["display"] == MASK and target["secrets"]["token"]["set"] is True
    shown = expect(await sc.as_("champion").get(f"/api/connections/{created['id']}"), 200)
    assert shown["test_target"] == target
    listed = expect(await sc.as_("admin").get("/api/workspaces/sales/connections"), 200)
    assert TEST_SECRET not in str(shown) + str(listed) + str(created)

    # without one: null
    plain = await crm(sc, http)
    assert plain["test_target"] is None


async def test_an_admin_sets_changes_and_removes_a_test_target(
    sc: Scenario, http: HttpTarget, sandbox: HttpTarget
) -> None:
    created = await crm(sc, http)
    path = f"/api/connections/{created['id']}"
    changed = expect(
        await sc.as_("admin").request(
            "PATCH",
            path,
            json={"test_target": {"settings": http_settings(sandbox), "secrets": {"token": TEST_SECRET}}},
        ),
        200,
    )
    assert changed["test_target"]["settings"]["base_url"] == sandbox.url + "/api"
    # a change of one field keeps the others; other changes keep the test target
    changed = expect(
        await sc.as_("admin").request("PATCH", path, json={"test_target": {"settings": {"timeout_s": 3}}}),
        200,
    )
    assert changed["test_target"]["settings"]["timeout_s"] == 3
    assert changed["test_target"]["settings"]["base_url"] == sandbox.url + "/api"
    assert changed["test_target"]["secrets"]["token"]["set"] is True
    kept = expect(await sc.as_("admin").request("PATCH", path, json={"settings": {"timeout_s": 4}}), 200)
    assert kept["test_target"] == changed["test_target"]
    removed = expect(await sc.as_("admin").request("PATCH", path, json={"test_target": None}), 200)
    assert removed["test_target"] is None

    entries = expect(await sc.as_("board1").get("/api/audit", params={"action": "connection.updated"}), 200)
    mine = [entry["detail"]["test_target"] for entry in entries if entry["resource_id"] == created["id"]]
    assert sorted(mine) == ["changed", "kept", "removed", "set"]
    assert TEST_SECRET not in str(entries)


async def test_a_test_target_of_the_wrong_shape_is_refused_by_field(sc: Scenario, http: HttpTarget) -> None:
    body = await create_connection(
        sc,
        f"crm{next(_names)}",
        "http",
        http_settings(http),
        {"token": SECRET},
        test_target={"settings": {"base_url": "ftp://sandbox"}, "secrets": {"password_x": "y"}},
        status=400,
    )
    assert body["error"] == "invalid_connection"
    assert [problem["field"] for problem in body["errors"]] == ["test_target.settings.base_url"]
    created = await crm(sc, http)
    body = expect(
        await sc.as_("admin").request(
            "PATCH", f"/api/connections/{created['id']}", json={"test_target": {"secrets": {"nope": "x"}}}
        ),
        400,
    )
    assert body["error"] == "invalid_connection" and "test target" in body["message"]
    refused = await sc.as_("champion").request(
        "PATCH", f"/api/connections/{created['id']}", json={"test_target": None}
    )
    assert refused.status_code == 403  # champions see connections; admins manage them


async def test_the_connection_test_probes_the_test_target_on_request(
    sc: Scenario, http: HttpTarget, sandbox: HttpTarget, allow_loopback: ConnectionService
) -> None:
    created = await crm(sc, http, sandbox)
    result = expect(await sc.as_("admin").post(f"/api/connections/{created['id']}/test?target=test"), 200)
    assert result["ok"] is True
    assert len(sandbox.requests) == 1 and http.requests == []
    assert sandbox.requests[0].headers["authorization"] == f"Bearer {TEST_SECRET}"
    plain = await crm(sc, http)
    body = expect(await sc.as_("admin").post(f"/api/connections/{plain['id']}/test?target=test"), 400)
    assert body["error"] == "no_test_target"


# -- test runs --------------------------------------------------------------------------------
async def test_a_test_run_posts_to_the_test_target_with_its_own_credentials(
    sc: Scenario, http: HttpTarget, sandbox: HttpTarget, allow_loopback: ConnectionService
) -> None:
    sandbox.route("/api/tasks", status=201, json_body={"id": "sandbox-1"})
    connection = await crm(sc, http, sandbox)
    run = await editor_run(sc, connector_flow(connection["name"], post))
    assert run["status"] == "succeeded", run["error"]
    assert http.requests == []  # production untouched
    [request] = sandbox.requests
    assert request.headers["authorization"] == f"Bearer {TEST_SECRET}"
    assert SECRET not in str(request.headers)


async def test_without_a_test_target_a_test_run_refuses_side_effects(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    connection = await crm(sc, http)
    run = await editor_run(sc, connector_flow(connection["name"], post), allow_live_reads=True)
    assert run["status"] == "failed"
    assert run["error"]["code"] == "no_test_target" and run["error"]["node"] == "call"
    assert connection["name"] in run["error"]["message"]
    assert http.requests == []


async def test_without_a_test_target_a_test_run_reads_production_only_when_allowed(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    http.route("/api/tasks", json_body={"tasks": []})
    connection = await crm(sc, http)
    document = connector_flow(connection["name"], {"action": "list_tasks", "path": "/tasks"})
    run = await editor_run(sc, document)
    assert run["status"] == "failed" and run["error"]["code"] == "live_read_not_allowed"
    assert f"connection '{connection['name']}'" in run["error"]["message"]
    assert http.requests == []

    run = await editor_run(sc, document, allow_live_reads=True)
    assert run["status"] == "succeeded", run["error"]
    assert len(http.requests) == 1
    stored = expect(await sc.as_("champion").get(f"/api/runs/{run['id']}"), 200)
    assert stored["is_test"] is True


async def test_a_draft_test_run_does_not_query_the_live_database(sc: Scenario) -> None:
    """The report: a draft's test run executed SQL on the live `crm` connection."""
    # SQL connections open SQLite files only in the configured directory.
    directory = sc.api.settings.resolved_sqlite_dir()
    directory.mkdir(parents=True, exist_ok=True)
    live = directory / f"crm-{next(_names)}.db"
    with sqlite3.connect(live) as connection:
        connection.execute("CREATE TABLE offers (customer TEXT)")
        connection.execute("INSERT INTO offers VALUES ('Müller')")
    name = f"crm{next(_names)}"
    await create_connection(sc, name, "sql", {"url": f"sqlite:///{live}"})
    document = connector_flow(name, {"action": "offers", "sql": "SELECT customer FROM offers"})
    run = await editor_run(sc, document)
    assert run["status"] == "failed" and run["error"]["code"] == "live_read_not_allowed"
    step = next(step for step in run["steps"] if step["node_id"] == "call")
    assert step["outputs"] is None

    sandbox_db = directory / f"crm-test-{next(_names)}.db"
    with sqlite3.connect(sandbox_db) as connection:
        connection.execute("CREATE TABLE offers (customer TEXT)")
        connection.execute("INSERT INTO offers VALUES ('Testkunde')")
    [row] = [item for item in expect(await sc.as_("admin").get("/api/workspaces/sales/connections"), 200)
             if item["name"] == name]  # fmt: skip
    expect(
        await sc.as_("admin").request(
            "PATCH",
            f"/api/connections/{row['id']}",
            json={"test_target": {"settings": {"url": f"sqlite:///{sandbox_db}"}}},
        ),
        200,
    )
    run = await editor_run(sc, document)
    assert run["status"] == "succeeded", run["error"]
    step = next(step for step in run["steps"] if step["node_id"] == "call")
    assert step["outputs"]["response"]["rows"] == [{"customer": "Testkunde"}]


async def test_a_test_run_mails_only_through_the_test_target(
    sc: Scenario, smtp: SmtpTarget, allow_loopback: ConnectionService
) -> None:
    settings = {
        "host": "127.0.0.1",
        "port": smtp.port,
        "security": "none",
        "username": "mailer",
        "sender": "vertrieb@firma.de",
        "allowed_domains": ["kunde.de"],
    }
    mail = {"action": "send", "to": "einkauf@kunde.de", "subject": "Test", "text": "Hallo {{ inputs.title }}"}
    name = f"mail{next(_names)}"
    await create_connection(sc, name, "email", settings, {"password": SMTP_PASSWORD})
    run = await editor_run(sc, connector_flow(name, mail))
    assert run["status"] == "failed" and run["error"]["code"] == "no_test_target"
    assert smtp.messages == []

    with SmtpTarget(username="sandbox", password="sandbox-pw-123") as sandbox_smtp:
        test_settings = {**settings, "port": sandbox_smtp.port, "username": "sandbox"}
        name = f"mail{next(_names)}"
        await create_connection(
            sc,
            name,
            "email",
            settings,
            {"password": SMTP_PASSWORD},
            test_target={"settings": test_settings, "secrets": {"password": "sandbox-pw-123"}},
        )
        run = await editor_run(sc, connector_flow(name, mail))
        assert run["status"] == "succeeded", run["error"]
        assert smtp.messages == [] and len(sandbox_smtp.messages) == 1
        assert sandbox_smtp.logins == ["sandbox"]


async def test_published_runs_always_call_production(
    sc: Scenario, http: HttpTarget, sandbox: HttpTarget, allow_loopback: ConnectionService
) -> None:
    http.route("/api/tasks", status=201, json_body={"id": 1})
    connection = await crm(sc, http, sandbox)
    flow = await sc.live(connector_flow(connection["name"], post))
    run = await sc.invoke(flow["slug"], {"title": "echt"})
    assert run["status"] == "succeeded", run["error"]
    assert len(http.requests) == 1 and sandbox.requests == []
    assert http.requests[0].headers["authorization"] == f"Bearer {SECRET}"


# -- the review ---------------------------------------------------------------------------------
async def test_the_version_says_which_connections_it_touches_in_production(
    sc: Scenario, http: HttpTarget, sandbox: HttpTarget
) -> None:
    writes = await crm(sc, http, sandbox)
    reads = await crm(sc, http)
    document = connector_flow(writes["name"], post)
    document["nodes"].insert(
        2,
        {
            "id": "look",
            "type": "connector",
            "config": {"connection": reads["name"], "action": "list", "path": "/tasks"},
        },
    )
    document["edges"] = [
        {"from": "start", "to": "call"},
        {"from": "call", "to": "look"},
        {"from": "look", "to": "end"},
    ]
    flow = await sc.create(document)
    version = expect(await sc.as_("board1").get(f"/api/flows/{flow['id']}/versions/1"), 200)
    touches = {touch["connection"]: touch for touch in version["production_connections"]}
    assert touches[writes["name"]] | {"host": None} == {
        "connection": writes["name"],
        "exists": True,
        "kind": "http",
        "host": None,
        "has_test_target": True,
        "side_effects": True,
        "nodes": ["call"],
        "actions": ["create_task"],
    }
    assert touches[reads["name"]]["side_effects"] is False
    assert touches[reads["name"]]["has_test_target"] is False
