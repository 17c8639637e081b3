"""The connections API: admins manage them per workspace, champions see them, secrets are
never shown again (only `••••` and when they last changed), every change is audited."""

from __future__ import annotations

import itertools

import pytest

from runtime.connections.secrets import MASK
from runtime.connections.service import ConnectionService
from tests.runtime.connections.conftest import SECRET, create_connection
from tests.runtime.connections.servers import HttpTarget
from tests.support.scenario import Scenario, expect

pytestmark = pytest.mark.asyncio(loop_scope="module")
_names = itertools.count(1)


def name() -> str:
    return f"crm{next(_names)}"


def http_settings(target: HttpTarget, **extra: object) -> dict[str, object]:
    return {
        "base_url": target.url + "/api",
        "auth": {"type": "bearer"},
        "allowed_methods": ["GET", "POST"],
        "allowed_paths": ["/tasks", "/ping"],
        "test_path": "/ping",
        **extra,
    }


async def test_an_admin_creates_a_connection_and_its_secret_is_never_shown(
    sc: Scenario, http: HttpTarget
) -> None:
    created = await create_connection(sc, name(), "http", http_settings(http), {"token": SECRET})
    assert created["kind"] == "http" and created["workspace"] == "sales"
    assert created["settings"]["base_url"] == http.url + "/api"
    assert created["secrets"]["token"]["display"] == MASK and created["secrets"]["token"]["set"] is True
    assert created["secrets"]["token"]["changed_at"]
    for who in ("admin", "salesadmin", "champion"):
        shown = expect(await sc.as_(who).get(f"/api/connections/{created['id']}"), 200)
        assert shown["secrets"] == created["secrets"]
        listed = expect(await sc.as_(who).get("/api/workspaces/sales/connections"), 200)
        assert created["id"] in [item["id"] for item in listed]
        assert SECRET not in str(shown) + str(listed)


async def test_who_may_do_what(sc: Scenario, http: HttpTarget) -> None:
    created = await create_connection(sc, name(), "http", http_settings(http), {"token": SECRET})
    path = f"/api/connections/{created['id']}"
    # champions see connections (to build flows) but do not manage them
    await create_connection(sc, name(), "http", http_settings(http), by="champion", status=403)
    expect(await sc.as_("champion").request("PATCH", path, json={"settings": {"retries": 1}}), 403)
    expect(await sc.as_("champion").request("DELETE", path), 403)
    expect(await sc.as_("champion").post(f"{path}/test"), 403)
    # a plain user of the workspace sees none; someone from another workspace not even that it exists
    assert expect(await sc.as_("user").get("/api/workspaces/sales/connections"), 200) == []
    expect(await sc.as_("user").get(path), 404)
    expect(await sc.as_("outsider").get(path), 404)
    expect(await sc.as_("outsider").get("/api/workspaces/sales/connections"), 404)
    expect(await sc.as_("hrchampion").request("DELETE", path), 404)
    # the board reviews flows, not connections
    expect(await sc.as_("board1").get(path), 404)


async def test_patch_changes_settings_and_secrets_and_null_removes_a_secret(
    sc: Scenario, http: HttpTarget
) -> None:
    created = await create_connection(sc, name(), "http", http_settings(http), {"token": SECRET})
    path = f"/api/connections/{created['id']}"
    changed = expect(
        await sc.as_("salesadmin").request(
            "PATCH",
            path,
            json={
                "settings": {"retries": 0, "auth": {"type": "header", "header": "X-Api-Key"}},
                "secrets": {"api_key": "key-" + SECRET, "token": None},
            },
        ),
        200,
    )
    assert changed["settings"]["retries"] == 0 and changed["settings"]["auth"]["type"] == "header"
    assert set(changed["secrets"]) == {"api_key"}
    assert changed["settings"]["base_url"] == http.url + "/api"  # untouched fields stay
    renamed = expect(await sc.as_("admin").request("PATCH", path, json={"name": created["name"] + "x"}), 200)
    assert renamed["name"] == created["name"] + "x" and set(renamed["secrets"]) == {"api_key"}


@pytest.mark.parametrize(
    ("kind", "settings", "secrets", "fragment"),
    [
        ("http", {"base_url": "ftp://x"}, {}, "settings.base_url: base_url must start with http"),
        ("http", {"base_url": "http://2130706433/"}, {}, "non-standard notation"),
        ("http", {"base_url": "https://u:p@crm.example.com"}, {}, "must not contain credentials"),
        (
            "http",
            {"base_url": "https://crm.example.com", "headers": {"Authorization": "Bearer x"}},
            {},
            "looks like a credential",
        ),
        ("http", {"base_url": "https://crm.example.com", "allowed_paths": ["/a/../b"]}, {}, "no .. or //"),
        ("http", {"base_url": "https://crm.example.com"}, {"password2": "x"}, "secrets.password2"),
        ("http", {"base_url": "https://crm.example.com", "bogus": 1}, {}, "settings.bogus"),
        ("email", {"host": "smtp.example.com", "sender": "a@b.de"}, {}, "settings.allowed_domains"),
        ("sql", {"url": "postgresql://reader:pw@db/erp"}, {}, "must not contain the password"),
        ("sql", {"url": "mysql://db/erp"}, {}, "sqlite and postgresql"),
    ],
)
async def test_invalid_settings_name_the_field(
    sc: Scenario, kind: str, settings: dict[str, object], secrets: dict[str, str], fragment: str
) -> None:
    body = await create_connection(sc, name(), kind, settings, secrets, status=400)
    assert fragment in body["message"], body


async def test_names_are_unique_per_workspace(sc: Scenario, http: HttpTarget) -> None:
    taken = name()
    await create_connection(sc, taken, "http", http_settings(http))
    body = await create_connection(sc, taken, "http", http_settings(http), status=409)
    assert body["error"] == "name_taken"
    await create_connection(sc, taken, "http", http_settings(http), workspace="hr")  # another workspace


async def test_the_connection_test_makes_a_harmless_call_with_the_credentials(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    created = await create_connection(sc, name(), "http", http_settings(http), {"token": SECRET})
    result = expect(await sc.as_("admin").post(f"/api/connections/{created['id']}/test"), 200)
    assert result["ok"] is True and result["status"] == 200, result
    [request] = http.requests
    assert (request.method, request.path) == ("GET", "/api/ping")
    # the test GETs its test path even where flows may only POST elsewhere
    only_post = await create_connection(
        sc,
        name(),
        "http",
        http_settings(http, allowed_methods=["POST"], allowed_paths=["/tasks"]),
        {"token": SECRET},
    )
    assert expect(await sc.as_("admin").post(f"/api/connections/{only_post['id']}/test"), 200)["ok"] is True
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in str(result)


async def test_the_test_reports_a_refused_address_in_words(sc: Scenario) -> None:
    created = await create_connection(sc, name(), "http", {"base_url": "http://169.254.169.254/latest"})
    result = expect(await sc.as_("admin").post(f"/api/connections/{created['id']}/test"), 200)
    assert result["ok"] is False and "metadata service" in result["message"], result


async def test_deleting_is_audited_without_secrets(sc: Scenario, http: HttpTarget) -> None:
    created = await create_connection(sc, name(), "http", http_settings(http), {"token": SECRET})
    expect(await sc.as_("admin").request("DELETE", f"/api/connections/{created['id']}"), 204)
    expect(await sc.as_("admin").get(f"/api/connections/{created['id']}"), 404)
    entries = expect(await sc.as_("board1").get("/api/audit", params={"resource_id": created["id"]}), 200)
    actions = [entry["action"] for entry in entries]
    assert "connection.created" in actions and "connection.deleted" in actions
    assert SECRET not in str(entries)


@pytest.mark.parametrize(
    ("kind", "settings", "reason"),
    [
        (
            "email",
            {"host": "10.0.0.25", "port": 25, "sender": "a@firma.de", "allowed_domains": ["kunde.de"]},
            "private",
        ),
        (
            "email",
            {
                "host": "localhost",
                "port": 25,
                "security": "none",
                "sender": "a@firma.de",
                "allowed_domains": ["kunde.de"],
            },
            "loopback",
        ),
        ("sql", {"url": "postgresql://reader@169.254.169.254/erp"}, "metadata service"),
        ("sql", {"url": "postgresql://reader@[::ffff:10.1.1.1]:5432/erp"}, "private"),
        ("webhook", {"url": "http://[fe80::1]/hook"}, "link-local"),
    ],
)
async def test_every_kind_goes_through_the_egress_guard(
    sc: Scenario, kind: str, settings: dict[str, object], reason: str
) -> None:
    created = await create_connection(sc, name(), kind, settings)
    result = expect(await sc.as_("admin").post(f"/api/connections/{created['id']}/test"), 200)
    assert result["ok"] is False and "not allowed" in result["message"] and reason in result["message"], (
        result
    )
