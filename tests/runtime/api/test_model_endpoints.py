"""Model endpoints as admins manage them: list, register with an API key (stored encrypted,
never shown), change, test (one token, ok and latency or a stable error code), delete
(refused while an approved version uses it) — and the error a champion meets without one.

The Messages API double stands in for TGI/vLLM; a second double on 127.0.0.1 is "another
server" an admin registers (allowed by the allow list the `loopback_allowed` fixture sets,
as `DIRIGENT_EGRESS_ALLOW=127.0.0.1` would).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.db.models import AuditEntry, ModelEndpoint
from runtime.llm import endpoints as endpoints_module
from runtime.llm.client import HFChatModel
from tests.support.messages_api_double import MessagesApiDouble, Reply, closed_port_url
from tests.support.scenario import (  # noqa: F401 (fixtures sc, llm, shared_app)
    Scenario,
    expect,
    llm_fixture,
    qa_flow,
    sc_fixture,
    shared_app_fixture,
    unique_slug,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

KEY = "sk-vllm-7f3a9c1e55d04b2a"
PATH = "/api/model-endpoints"


@pytest.fixture
def loopback_allowed(sc: Scenario) -> Iterator[None]:
    """`DIRIGENT_EGRESS_ALLOW=127.0.0.1`: the other doubles are on this machine."""
    llm = sc.api.runtime.services["llm"]
    assert isinstance(llm, HFChatModel)
    before, llm.guard = llm.guard, EgressGuard(EgressPolicy.parse("127.0.0.1"))
    yield
    llm.guard = before


@pytest.fixture
def keyed_server() -> Iterator[MessagesApiDouble]:
    """A server that wants a key, like `vllm serve … --api-key KEY`."""
    with MessagesApiDouble("vendor/keyed-model", api_key=KEY) as double:
        double.reply("Antwort vom GPU-Server.")
        yield double


def flow_using(model: str) -> dict[str, Any]:
    document = qa_flow()
    document["nodes"][1]["config"]["model"] = model
    return document


async def register(sc: Scenario, name: str, base_url: str, status: int = 201, **fields: Any) -> Any:
    return expect(
        await sc.as_("admin").post(PATH, json={"name": name, "base_url": base_url, **fields}), status
    )


async def listed(sc: Scenario, name: str, who: str = "admin") -> dict[str, Any]:
    found = [item for item in expect(await sc.as_(who).get(PATH), 200) if item["name"] == name]
    assert len(found) == 1, found
    return found[0]  # type: ignore[no-any-return]


async def press_test(sc: Scenario, name: str) -> dict[str, Any]:
    return expect(await sc.as_("admin").post(f"{PATH}/{name}/test"), 200)  # type: ignore[no-any-return]


async def _rows(session: Any) -> list[ModelEndpoint]:
    return list((await session.execute(select(ModelEndpoint))).scalars())


async def _audit_text(session: Any) -> str:
    entries = (
        await session.execute(select(AuditEntry).where(AuditEntry.action.like("model_endpoint.%")))
    ).scalars()
    return json.dumps([[entry.action, entry.detail] for entry in entries])


async def test_an_endpoint_with_a_key_serves_flows_and_the_key_is_never_shown(
    sc: Scenario, keyed_server: MessagesApiDouble, loopback_allowed: None
) -> None:
    name = unique_slug("gpu")
    created = await register(sc, name, keyed_server.url, model="vendor/keyed-model", api_key=KEY)
    assert created["has_api_key"] is True and created["source"] == "admin"
    assert created["created_by"] == "admin" and created["last_test"] is None
    assert KEY not in json.dumps(created)
    for who in ("admin", "champion", "user"):  # names are offered in every form
        item = await listed(sc, name, who)
        assert item["has_api_key"] is True and KEY not in json.dumps(item)

    flow = await sc.live(flow_using(name))
    run = await sc.invoke(flow["slug"], {"question": "Wie schnell ist die GPU?"})
    assert run["status"] == "succeeded", run
    assert run["outputs"]["answer"] == "Antwort vom GPU-Server."
    assert keyed_server.headers[-1]["authorization"] == f"Bearer {KEY}"
    assert keyed_server.last_request["model"] == "vendor/keyed-model"

    # At rest: encrypted; in the audit trail: not at all.
    row = next(row for row in sc.in_app(_rows) if row.name == name)
    assert row.api_key_encrypted and KEY not in row.api_key_encrypted
    assert KEY not in sc.in_app(_audit_text)


async def test_the_test_button_sends_one_token_and_answers_ok_with_its_latency(
    sc: Scenario, keyed_server: MessagesApiDouble, loopback_allowed: None
) -> None:
    name = unique_slug("gpu")
    await register(sc, name, keyed_server.url, api_key=KEY)
    result = await press_test(sc, name)
    assert result["ok"] is True and result["error"] is None and result["latency_ms"] > 0
    assert keyed_server.last_request["max_tokens"] == 1 and not keyed_server.last_request.get("stream")
    last = (await listed(sc, name))["last_test"]
    assert last["ok"] is True and last["error"] is None and last["latency_ms"] == result["latency_ms"]
    audited = json.loads(sc.in_app(_audit_text))
    assert [
        "model_endpoint.tested",
        {"name": name, "host": "127.0.0.1", "ok": True, "error": None},
    ] in audited


async def test_the_test_button_names_what_went_wrong(
    sc: Scenario,
    keyed_server: MessagesApiDouble,
    loopback_allowed: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def outcome(base_url: str, **fields: Any) -> dict[str, Any]:
        name = unique_slug("probe")
        await register(sc, name, base_url, **fields)
        result = await press_test(sc, name)
        assert result["ok"] is False and KEY not in json.dumps(result), result
        assert (await listed(sc, name))["last_test"]["error"] == result["error"]
        return result

    refused = await outcome(keyed_server.url, api_key="sk-wrong")
    assert refused["error"] == "unauthorized" and "401" in refused["message"]
    assert (await outcome(keyed_server.url))["error"] == "unauthorized"  # no key at all
    assert keyed_server.refused == 2 and keyed_server.requests == []

    unknown = await outcome("http://no-such-host.invalid:8080")
    assert unknown["error"] == "unreachable" and "does not resolve" in unknown["message"]
    down = await outcome(closed_port_url())
    assert down["error"] == "unreachable" and "Connection refused" in down["message"]
    assert (await outcome(f"{keyed_server.url}/not-the-api", api_key=KEY))["error"] == "not_found"

    keyed_server.reply(status=503, error="loading")
    assert (await outcome(keyed_server.url, api_key=KEY))["error"] == "server_error"
    keyed_server.reply(Reply("zu spät", delay_s=2))
    monkeypatch.setattr(endpoints_module, "TEST_TIMEOUT_S", 0.3)
    assert (await outcome(keyed_server.url, api_key=KEY))["error"] == "timeout"

    with not_a_messages_api() as url:
        assert (await outcome(url))["error"] == "bad_response"


async def test_an_address_the_allow_list_no_longer_names_tests_as_not_allowed(
    sc: Scenario, keyed_server: MessagesApiDouble
) -> None:
    llm = sc.api.runtime.services["llm"]
    name = unique_slug("later-blocked")
    before, llm.guard = llm.guard, EgressGuard(EgressPolicy.parse("127.0.0.1"))
    try:
        await register(sc, name, keyed_server.url, api_key=KEY)
    finally:
        llm.guard = before
    result = await press_test(sc, name)
    assert result["ok"] is False and result["error"] == "not_allowed"
    assert "DIRIGENT_EGRESS_ALLOW" in result["message"]
    assert keyed_server.requests == [] and keyed_server.refused == 0


async def test_the_key_can_be_replaced_and_removed_and_is_kept_when_left_out(
    sc: Scenario, keyed_server: MessagesApiDouble, loopback_allowed: None
) -> None:
    name = unique_slug("gpu")
    await register(sc, name, keyed_server.url, api_key="sk-old")
    assert (await press_test(sc, name))["error"] == "unauthorized"

    patched = expect(await sc.as_("admin").request("PATCH", f"{PATH}/{name}", json={"api_key": KEY}), 200)
    assert patched["has_api_key"] is True and patched["last_test"] is None  # the last test was of the old key
    assert (await press_test(sc, name))["ok"] is True

    kept = expect(
        await sc.as_("admin").request("PATCH", f"{PATH}/{name}", json={"model": "vendor/other"}), 200
    )
    assert kept["has_api_key"] is True and kept["model"] == "vendor/other"
    assert (await press_test(sc, name))["ok"] is True
    assert keyed_server.last_request["model"] == "vendor/other"

    removed = expect(await sc.as_("admin").request("PATCH", f"{PATH}/{name}", json={"api_key": None}), 200)
    assert removed["has_api_key"] is False
    assert (await press_test(sc, name))["error"] == "unauthorized"
    audited = sc.in_app(_audit_text)
    assert '"credentials": "set"' in audited and '"credentials": "removed"' in audited
    assert "sk-old" not in audited and KEY not in audited


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
async def test_the_base_url_may_end_with_v1_or_not(
    sc: Scenario, keyed_server: MessagesApiDouble, loopback_allowed: None, suffix: str
) -> None:
    """What the README says: TGI/llama.cpp at the root, vLLM/Ollama often given with /v1."""
    name = unique_slug("v1")
    created = await register(sc, name, keyed_server.url + suffix, api_key=KEY)
    assert created["base_url"] == (keyed_server.url + suffix).rstrip("/")
    assert (await press_test(sc, name))["ok"] is True
    assert keyed_server.requests and keyed_server.refused == 0


async def test_deleting_an_endpoint_an_approved_version_uses_is_refused(
    sc: Scenario, keyed_server: MessagesApiDouble, loopback_allowed: None
) -> None:
    name = unique_slug("held")
    await register(sc, name, keyed_server.url, api_key=KEY)
    flow = await sc.live(flow_using(name))

    refused = await sc.as_("admin").request("DELETE", f"{PATH}/{name}")
    body = expect(refused, 409)
    assert body["error"] == "endpoint_in_use" and body["endpoint"] == name
    assert [(held["slug"], held["version"], held["state"]) for held in body["versions"]] == [
        (flow["slug"], 1, "published")
    ]
    assert flow["slug"] not in body["message"] and "'Fragen' version 1 (published)" in body["message"]
    assert (await listed(sc, name))["name"] == name  # still there
    run = await sc.invoke(flow["slug"], {"question": "Noch da?"})
    assert run["status"] == "succeeded"

    # A draft that names an endpoint does not hold it: its test runs then say what is missing.
    other = unique_slug("drafted")
    await register(sc, other, keyed_server.url, api_key=KEY)
    draft = await sc.create(flow_using(other))
    assert expect(await sc.as_("admin").request("DELETE", f"{PATH}/{other}"), 200) == {
        "name": other,
        "removed": True,
    }
    run = expect(
        await sc.as_("champion").post(
            f"/api/flows/{draft['id']}/versions/1/runs", json={"inputs": {"question": "?"}}
        ),
        200,
    )
    assert run["status"] == "failed" and run["error"]["code"] == "no_model_endpoint"


async def test_a_flow_without_a_model_fails_with_a_stable_code_naming_the_model(sc: Scenario) -> None:
    missing = unique_slug("nirgends")
    flow = await sc.create(flow_using(missing))
    run = expect(
        await sc.as_("champion").post(
            f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {"question": "?"}}
        ),
        200,
    )
    assert run["status"] == "failed"
    error = run["error"]
    assert error["code"] == "no_model_endpoint" and error["model"] == missing
    assert (error["node"], error["type"], error["field"]) == ("answer", "llm", "config.model")
    assert f"no model endpoint named '{missing}'" in error["message"]
    step = next(step for step in run["steps"] if step["node_id"] == "answer")
    assert step["error"]["code"] == "no_model_endpoint" and step["error"]["model"] == missing


async def test_bad_input_is_refused_and_nothing_is_stored(sc: Scenario, llm: MessagesApiDouble) -> None:
    before = len(sc.in_app(_rows))
    cases = [
        ({"name": "x", "base_url": "ftp://tgi"}, 400, "invalid_endpoint"),
        ({"name": "x", "base_url": "http://"}, 400, "invalid_endpoint"),
        ({"name": "x", "base_url": "http://user:pw@tgi.invalid"}, 400, "invalid_endpoint"),
        ({"name": "x", "base_url": "http://tgi.invalid?key=1"}, 400, "invalid_endpoint"),
        ({"name": "x", "base_url": "http://tgi.invalid:port"}, 400, "invalid_endpoint"),
        ({"name": "has space", "base_url": llm.url}, 400, "bad_request"),
        ({"name": "x", "base_url": llm.url, "api_key": ""}, 400, "bad_request"),
        ({"name": "x", "base_url": llm.url, "unknown": 1}, 400, "bad_request"),
    ]
    for body, status, code in cases:
        answer = expect(await sc.as_("admin").post(PATH, json=body), status)
        assert answer["error"] == code, (body, answer)
    assert len(sc.in_app(_rows)) == before

    name = unique_slug("twice")
    await register(sc, name, llm.url)
    assert (await register(sc, name, llm.url, status=409))["error"] == "name_taken"
    missing = unique_slug("missing")
    for method in ("PATCH", "DELETE"):
        answer = await sc.as_("admin").request(
            method, f"{PATH}/{missing}", json={} if method == "PATCH" else None
        )
        assert expect(answer, 404)["error"] == "not_found"
    assert expect(await sc.as_("admin").post(f"{PATH}/{missing}/test"), 404)["error"] == "not_found"
    patch = await sc.as_("admin").request("PATCH", f"{PATH}/{name}", json={"base_url": "http://10.0.0.9"})
    assert expect(patch, 400)["error"] == "endpoint_not_allowed"
    assert (await listed(sc, name))["base_url"] == llm.url


async def test_the_environments_default_is_listed_and_tested_but_not_changed_here(
    sc: Scenario, llm: MessagesApiDouble
) -> None:
    default = await listed(sc, "default")
    assert default["source"] == "environment" and default["base_url"] == llm.url
    assert (await press_test(sc, "default"))["ok"] is True and llm.last_request["max_tokens"] == 1
    answer = expect(await sc.as_("admin").request("PATCH", f"{PATH}/default", json={"model": "m"}), 404)
    assert "DIRIGENT_LLM_URL" in answer["message"]


class _NotMessagesApi(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b"<html>a web page, not a model server</html>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class not_a_messages_api:
    """A web server on 127.0.0.1 that answers every POST with an HTML page."""

    def __enter__(self) -> str:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _NotMessagesApi)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
