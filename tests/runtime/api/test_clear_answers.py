"""Every request gets a clear answer, never a 500: JSON nested too deeply, numbers the
database cannot hold, times far in the past or future, URLs urllib cannot parse, paths that
merely contain a public path. Each refusal is a 400 that names the problem, and nothing is
written. On SQLite, and on PostgreSQL when `DIRIGENT_TEST_DATABASE_URL` names one (there an
INTEGER column is 32 bits, so that is where out-of-range numbers used to fail).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from runtime.app import create_app
from runtime.connections.http import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from runtime.json_limits import MAX_DEPTH
from runtime.settings import Settings
from tests.support.scenario import (  # noqa: F401 (fixtures sc, shared_app, llm)
    Scenario,
    expect,
    llm_fixture,
    qa_flow,
    sc_fixture,
    shared_app_fixture,
    template_flow,
    unique_slug,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

BEYOND_64_BITS = 2**64 + 1
BEYOND_32_BITS = 2**31


def refused(response: httpx.Response, code: str | None = None, *words: str) -> dict[str, Any]:
    body = expect(response, 400)
    assert body["message"], body
    if code is not None:
        assert body["error"] == code, body
    for word in words:
        assert word in body["message"], (word, body)
    return body  # type: ignore[no-any-return]


def nested(depth: int, leaf: Any = "x") -> Any:
    """`leaf` inside `depth` lists, alternating with objects (both count as a level)."""
    value = leaf
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


def nested_text(depth: int) -> str:
    """`nested(depth)` as JSON text (the standard library cannot encode it that deep)."""
    opened = "".join('{"k":' if level % 2 else "[" for level in reversed(range(depth)))
    return opened + '"x"' + "".join("}" if level % 2 else "]" for level in range(depth))


async def post_text(sc: Scenario, who: str | None, path: str, text: str, **headers: str) -> httpx.Response:
    return await sc.as_(who).post(
        path, content=text.encode(), headers={"Content-Type": "application/json", **headers}
    )


# --------------------------------------------------------------------------- deep JSON


async def test_json_nested_deeper_than_the_limit_is_400_before_anything_recurses(sc: Scenario) -> None:
    flow = await sc.live(template_flow(), unique_slug("deep"))
    draft = await sc.create(template_flow())
    before = await sc.counts()
    deep = nested_text(1000)
    targets = [
        ("champion", "/api/flows/validate", f'{{"document": {deep}}}'),
        (
            "champion",
            "/api/workspaces/sales/flows",
            f'{{"name": "Tief", "slug": "{unique_slug()}", "document": {deep}}}',
        ),
        ("champion", f"/api/flows/{draft['id']}/versions", f'{{"document": {{"nodes": {deep}}}}}'),
        ("user", f"/api/assistants/{flow['slug']}/runs", f'{{"inputs": {{"name": {deep}}}}}'),
        ("admin", "/api/workspaces", f'{{"slug": "{unique_slug("ws")}", "name": {deep}}}'),
        ("admin", "/api/workspaces", "[" * 5000),  # opened and never closed
    ]
    for who, path, text in targets:
        body = refused(await post_text(sc, who, path, text), "too_deeply_nested", str(MAX_DEPTH))
        assert body["limit"] == MAX_DEPTH
    # Only what the decoder would see counts: brackets inside strings do not.
    quoted = {"document": template_flow("[" * 5000 + "{{ inputs.name }}" + "]" * 5000)}
    assert expect(await sc.as_("champion").post("/api/flows/validate", json=quoted), 200)["valid"] is True
    assert await sc.counts() == before


async def test_json_at_the_limit_is_accepted_and_answered(sc: Scenario) -> None:
    flow = await sc.live(template_flow(), unique_slug("tief"))
    # The body is {"inputs": {"name": ...}}: two levels of its own.
    inputs = {"name": nested(MAX_DEPTH - 2)}
    run = expect(
        await sc.as_("user").post(f"/api/assistants/{flow['slug']}/runs", json={"inputs": inputs}), 400
    )
    assert run["error"] == "invalid_inputs"  # refused by the flow (a list is no string), not by depth
    report = expect(
        await sc.as_("champion").post("/api/flows/validate", json={"document": nested(MAX_DEPTH - 1)}), 200
    )
    assert report["valid"] is False


async def test_a_stored_document_cannot_be_deeper_than_a_body_may_be() -> None:
    """Documents from the CLI or template files never passed the API's check of bodies."""
    from runtime.engine.validation import MAX_DOCUMENT_DEPTH, validate_document

    document = template_flow()
    # document > tests > case > expect > assertion: five levels above the value
    document["tests"][0]["expect"].append({"check": "equals", "output": "text", "value": nested(5000)})
    report = validate_document(document)  # no RecursionError
    assert not report.valid
    assert f"more than {MAX_DOCUMENT_DEPTH} levels" in report.errors[0]["message"]
    document["tests"][0]["expect"][-1]["value"] = nested(MAX_DOCUMENT_DEPTH - 5)
    assert validate_document(document).valid
    document["tests"][0]["expect"][-1]["value"] = nested(MAX_DOCUMENT_DEPTH - 4)
    assert not validate_document(document).valid


async def test_a_webhook_delivery_nested_too_deeply_is_400(sc: Scenario) -> None:
    flow = await sc.live(template_flow(), unique_slug("hook"))
    trigger = expect(
        await sc.as_("champion").post(f"/api/assistants/{flow['slug']}/triggers", json={"kind": "webhook"}),
        201,
    )
    body = '{"name": ' + nested_text(2000) + "}"
    timestamp = str(int(time.time()))
    signature = sign(trigger["signing"], timestamp, body.encode())
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature}
    before = await sc.counts()
    refused(await post_text(sc, None, trigger["url"], body, **headers), "too_deeply_nested")
    assert await sc.counts() == before


# --------------------------------------------------------------------------- numbers


async def test_numbers_the_database_cannot_hold_are_400_naming_the_parameter(sc: Scenario) -> None:
    flow = await sc.live(template_flow(), unique_slug("zahl"))
    fid = flow["id"]
    before = await sc.counts()
    for big in (BEYOND_32_BITS, BEYOND_64_BITS, 10**30):
        for who, method, path in [
            ("champion", "GET", f"/api/flows/{fid}/versions/{big}"),
            ("champion", "GET", f"/api/flows/{fid}/versions/{big}/diff"),
            ("champion", "GET", f"/api/flows/{fid}/versions/{big}/test-reports"),
            ("champion", "GET", f"/api/flows/{fid}/versions/{big}/connections"),
            ("champion", "POST", f"/api/flows/{fid}/versions/{big}/submit"),
            ("champion", "POST", f"/api/flows/{fid}/versions/{big}/test"),
            ("champion", "POST", f"/api/flows/{fid}/versions/{big}/runs"),
            ("board1", "POST", f"/api/flows/{fid}/versions/{big}/approve"),
        ]:
            refused(await sc.as_(who).request(method, path), "bad_request", "number")
        refused(
            await sc.as_("board1").get("/api/audit", params={"before_seq": big}), "bad_request", "before_seq"
        )
        refused(await sc.as_("board1").get("/api/audit", params={"limit": big}), "bad_request", "limit")
        refused(await sc.as_("user").get("/api/runs", params={"limit": big}), "bad_request", "limit")
        refused(
            await sc.as_("champion").get(f"/api/flows/{fid}/versions/1/diff", params={"against": str(big)}),
            "invalid_version",
            "against",
        )
        invoke = {"inputs": {"name": "Ada"}, "version": big}
        refused(
            await sc.as_("user").post(f"/api/assistants/{flow['slug']}/runs", json=invoke), None, "version"
        )
    # The largest numbers that fit are answered as what they are: no such version.
    expect(await sc.as_("champion").get(f"/api/flows/{fid}/versions/{BEYOND_32_BITS - 1}"), 404)
    invoke = {"inputs": {"name": "Ada"}, "version": BEYOND_32_BITS - 1}
    expect(await sc.as_("user").post(f"/api/assistants/{flow['slug']}/runs", json=invoke), 404)
    assert expect(await sc.as_("board1").get("/api/audit", params={"before_seq": BEYOND_32_BITS - 1}), 200)
    assert await sc.counts() == before


async def test_json_numbers_are_numbers_of_the_declared_kind(sc: Scenario) -> None:
    flow = await sc.live(template_flow(), unique_slug("art"))
    path = f"/api/assistants/{flow['slug']}/runs"
    before = await sc.counts()
    for wrong in ({"wait_s": False}, {"stream": 1}, {"version": True}, {"version": "1"}, {"version": 1.5}):
        refused(await sc.as_("user").post(path, json={"inputs": {"name": "Ada"}, **wrong}), "bad_request")
    assert await sc.counts() == before
    # JSON has one kind of number: 1.0 is the version 1, as JSON Schema counts it.
    run = expect(await sc.as_("user").post(path, json={"inputs": {"name": "Ada"}, "version": 1.0}), 200)
    assert run["version"] == 1


# --------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("0001-01-01", "9999-12-31"),
        ("9999-12-01", "9999-12-31"),
        ("0001-01-01", "0001-01-31"),
        (None, "0001-01-05"),
        ("0001-01-01T00:00:00+01:00", None),
        (None, "9999-12-31T23:59:59-05:00"),
    ],
)
async def test_times_far_in_the_past_or_future_are_400(
    sc: Scenario, since: str | None, until: str | None
) -> None:
    query = {key: value for key, value in (("since", since), ("until", until)) if value}
    body = refused(await sc.as_("champion").get("/api/monitoring", params={"workspace": "sales", **query}))
    assert body["error"] == "time_out_of_range" and "between 1970-01-01 and 2999-12-31" in body["message"]
    for path in ("/api/audit", "/api/audit/export"):  # the export answers before it streams
        body = refused(await sc.as_("board1").get(path, params=query), "time_out_of_range")
        assert body["field"] in query


async def test_times_within_range_are_answered(sc: Scenario) -> None:
    report = expect(
        await sc.as_("champion").get(
            "/api/monitoring", params={"workspace": "sales", "since": "2999-01-01", "until": "2999-12-31"}
        ),
        200,
    )
    assert report["days"][-1] == "2999-12-31"
    expect(await sc.as_("board1").get("/api/audit", params={"since": "1970-01-01T00:00:00+00:00"}), 200)
    export = await sc.as_("board1").get("/api/audit/export", params={"until": "2999-12-31"})
    assert export.status_code == 200 and export.text.count("\n") >= 1


# --------------------------------------------------------------------------- other answers


async def test_a_path_that_merely_contains_a_public_path_still_needs_a_token(sc: Scenario) -> None:
    for path in ("/api/runs/schema-x", "/api/runs/healthcheck", "/api/tasks/schema"):
        expect(await sc.as_("user").get(path), 404)  # signed in: the run does not exist
        assert (await sc.as_(None).get(path)).status_code == 401  # not signed in: sign in first
    assert (await sc.as_(None).get("/health")).status_code == 200
    assert (await sc.as_(None).get("/schema/openapi.json")).status_code == 200


async def test_model_endpoint_urls_that_do_not_parse_are_400(sc: Scenario) -> None:
    before = await sc.counts()
    for url in ("http://[x", "http://", "http://host:99999", "ftp://host", "http://[::1"):
        body = refused(
            await sc.as_("admin").post("/api/model-endpoints", json={"name": "kaputt", "base_url": url}),
            "invalid_endpoint",
        )
        assert body["field"] == "base_url"
    assert await sc.counts() == before


async def test_an_unknown_embedding_model_is_400(sc: Scenario) -> None:
    body = refused(
        await sc.as_("champion").post(
            "/api/workspaces/sales/knowledge", json={"name": "kaputt", "embedding_model": "gibt/es-nicht"}
        ),
        "unknown_embedding_model",
        "gibt/es-nicht",
    )
    assert "all-MiniLM-L6-v2" in body["message"]
    listed = expect(await sc.as_("champion").get("/api/workspaces/sales/knowledge"), 200)
    assert "kaputt" not in {index["name"] for index in listed}


async def test_a_missing_body_says_what_to_send(sc: Scenario) -> None:
    flow = await sc.live(template_flow(), unique_slug("leer"))
    body = refused(await sc.as_("user").post(f"/api/runs/{'x' * 32}/feedback"), "bad_request")
    assert body["message"] == "the request needs a JSON body with rating"
    body = refused(await sc.as_("user").post(f"/api/assistants/{flow['slug']}/runs"), "bad_request")
    assert body["message"] == "the request needs a JSON body"  # every field has a default


async def test_options_and_405_name_every_method_of_the_path(sc: Scenario) -> None:
    options = await sc.as_("admin").request("OPTIONS", "/api/workspaces")
    assert options.status_code == 204
    assert set(options.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST", "OPTIONS"}
    not_allowed = await sc.as_("admin").request("PUT", "/api/workspaces")
    assert not_allowed.status_code == 405 and not_allowed.json()["error"] == "http_error"
    assert set(not_allowed.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST", "OPTIONS"}


async def test_health_answers_503_when_the_database_does_not(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = create_app(Settings(data_dir=data, jwt_secret="h" * 40), background=False)  # SQLite in data
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health")).status_code == 200
        await app.state.composition.db.dispose()
        for path in data.glob("dirigent.db*"):
            path.unlink()
        (data / "dirigent.db").write_bytes(b"no database" * 100)
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json() == {"error": "database_unavailable", "message": "the database does not answer"}


async def test_nul_characters_are_400_wherever_they_come(sc: Scenario) -> None:
    """PostgreSQL stores no NUL in text or jsonb: it used to fail there as a 500."""
    flow = await sc.live(template_flow(), unique_slug("nul"))
    before = await sc.counts()
    for who, method, path in [
        ("champion2", "GET", "/api/tasks?status=open%00"),
        ("user", "GET", "/api/runs/abc%00def"),
        ("champion", "GET", "/api/flows?workspace=sales%00"),
        ("board1", "GET", "/api/audit?action=%00"),
    ]:
        refused(await sc.as_(who).request(method, path), "nul_character", "NUL")
    for who, path, text in [
        ("admin", "/api/workspaces", f'{{"slug": "{unique_slug("ws")}", "name": "a\\u0000b"}}'),
        ("user", f"/api/assistants/{flow['slug']}/runs", '{"inputs": {"name": "Ada\\u0000"}}'),
        ("champion", "/api/workspaces/sales/flows", '{"name": "x\\u0000", "slug": "nul-x", "document": {}}'),
    ]:
        refused(await post_text(sc, who, path, text), "nul_character", "NUL")
    assert await sc.counts() == before
    # An escaped backslash before "u0000" is text, not a NUL; it is refused all the same (rare).
    refused(
        await post_text(
            sc, "user", f"/api/assistants/{flow['slug']}/runs", r'{"inputs": {"name": "\\u0000"}}'
        )
    )


async def test_a_node_answer_nested_too_deeply_fails_the_node_not_the_api(sc: Scenario, llm: Any) -> None:
    """What a model answers is stored and sent back later: too deep, it fails its node."""
    document = qa_flow()
    document["nodes"][1]["config"]["json_schema"] = {"type": "array"}
    document["tests"][0]["fixed"]["answer"]["json"] = []
    flow = await sc.live(document, unique_slug("modell"))
    llm.reply(nested_text(200))
    run = await sc.invoke(flow["slug"], {"question": "Wie tief?"})
    assert run["status"] == "failed" and run["error"]["node"] == "answer"
    assert f"nest more than {MAX_DEPTH} levels" in run["error"]["message"]
    stored = expect(await sc.as_("user").get(f"/api/runs/{run['id']}"), 200)
    assert stored["status"] == "failed"


async def test_names_with_a_trailing_newline_are_refused(sc: Scenario) -> None:
    """Python's `$` also matches before a final newline: "sales\\n" used to pass as a slug."""
    before = await sc.counts()
    slug = unique_slug("zeile") + "\n"
    body = {"name": "Zeile", "slug": slug, "document": template_flow()}
    refused(await sc.as_("champion").post("/api/workspaces/sales/flows", json=body), None, "slug")
    refused(await sc.as_("admin").post("/api/workspaces", json={"slug": "zeile\n"}))
    connection = {"name": "crm\n", "kind": "http", "settings": {"base_url": "https://crm.example"}}
    refused(
        await sc.as_("admin").post("/api/workspaces/sales/connections", json=connection), "invalid_connection"
    )
    index = {"name": "zeile\n"}
    refused(await sc.as_("champion").post("/api/workspaces/sales/knowledge", json=index), "invalid_name")
    assert await sc.counts() == before
