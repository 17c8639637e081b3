"""The OpenAPI description (`/schema/openapi.json`) tells what the API answers: every
operation lists its error responses with the one error shape the API sends, request bodies
refuse unknown fields, numbers show their bounds, public operations need no token.
(Whether the API keeps to it, schemathesis checks: `test_schemathesis.py`.)"""

from __future__ import annotations

from typing import Any

import pytest

from runtime.api import openapi
from runtime.api.params import INT32_MAX
from tests.support.scenario import Scenario, expect, sc_fixture, shared_app_fixture  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="module")

METHODS = ("get", "post", "put", "patch", "delete")
PUBLIC = {
    ("get", "/health"),
    ("get", "/api/error-codes"),  # the table of codes, for clients to translate
    ("get", "/api/test-cases/rules"),  # the rules of test cases, for clients that build them
    ("post", "/api/auth/login"),
    ("post", "/api/triggers/{trigger_id}"),
}


@pytest.fixture(name="schema")
async def schema_fixture(sc: Scenario) -> dict[str, Any]:
    return expect(await sc.as_(None).get("/schema/openapi.json"), 200)  # type: ignore[no-any-return]


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


async def test_every_operation_lists_its_errors_in_the_shape_the_api_sends(schema: dict[str, Any]) -> None:
    error_body = schema["components"]["schemas"]["ErrorBody"]
    assert error_body["required"] == ["error", "message"]
    assert set(error_body["properties"]) == {"error", "message", "errors"}
    found = operations(schema)
    assert len(found) > 60
    for method, path, operation in found:
        name = f"{method.upper()} {path}"
        errors = {status: answer for status, answer in operation["responses"].items() if status >= "400"}
        assert errors, name
        for status, answer in errors.items():
            assert answer["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorBody"
            }, (name, status)
            assert answer["description"], (name, status)
        public = (method, path) in PUBLIC
        assert (operation.get("security") == []) is public, name
        if not public:
            assert "401" in errors, name
        takes_input = operation.get("requestBody") or any(
            p["in"] == "query" or p["schema"].get("type") != "string" for p in operation.get("parameters", [])
        )
        assert ("400" in errors) == bool(takes_input) or name in {
            "POST /api/triggers/{trigger_id}",  # reads its body itself
            "POST /api/knowledge/{index_id}/documents",  # streams its upload
        }, name
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            assert "404" in errors, name
        if operation.get("requestBody"):
            assert "413" in errors, name


@pytest.mark.parametrize(
    ("method", "path", "statuses", "absent"),
    [
        (
            "post",
            "/api/workspaces/{workspace}/flows",
            {"201", "400", "401", "403", "404", "409", "413", "422"},
            set(),
        ),
        ("post", "/api/flows/validate", {"200", "400", "401", "413"}, {"403", "404", "409"}),
        ("get", "/api/runs/{run_id}", {"200", "401", "404"}, {"400", "403", "409"}),
        ("get", "/api/audit", {"200", "400", "401", "403"}, {"404", "409"}),
        (
            "post",
            "/api/assistants/{slug}/runs",
            {"200", "202", "400", "401", "403", "404", "409", "413"},
            {"201"},
        ),
        ("post", "/api/flows/{flow_id}/versions", {"200", "201", "422"}, set()),
        ("get", "/api/workspaces/{workspace}/knowledge", {"403", "404", "503"}, set()),
        ("post", "/api/triggers/{trigger_id}", {"202", "400", "401", "403", "404", "409", "413"}, set()),
        ("delete", "/api/users/{username}/roles/{role}", {"200", "403", "404", "409"}, set()),
    ],
)
async def test_operations_document_what_they_answer(
    schema: dict[str, Any], method: str, path: str, statuses: set[str], absent: set[str]
) -> None:
    answers = set(schema["paths"][path][method]["responses"])
    assert statuses <= answers, answers
    assert not absent & answers, answers


async def test_a_new_password_shows_the_length_it_needs(schema: dict[str, Any]) -> None:
    """Shorter is refused with `weak_password` (the studio words it): schema-valid is accepted."""
    for name in ("PasswordChange", "PasswordReset"):
        assert schema["components"]["schemas"][name]["properties"]["new_password"]["minLength"] == 8


async def test_streams_and_uploads_are_described(schema: dict[str, Any]) -> None:
    invoke = schema["paths"]["/api/assistants/{slug}/runs"]["post"]["responses"]["200"]["content"]
    assert set(invoke) == {"application/json", "text/event-stream"}
    upload = schema["paths"]["/api/knowledge/{index_id}/documents"]["post"]["requestBody"]
    assert upload["required"] is True and "multipart/form-data" in upload["content"]
    deliver = schema["paths"]["/api/triggers/{trigger_id}"]["post"]
    assert {p["name"] for p in deliver["parameters"] if p["in"] == "header"} == {
        "X-Dirigent-Timestamp",
        "X-Dirigent-Signature",
    }
    export = schema["paths"]["/api/audit/export"]["get"]["responses"]["200"]["content"]
    assert set(export) == {"application/x-ndjson"}
    reject = schema["paths"]["/api/flows/{flow_id}/versions/{number}/reject"]["post"]["requestBody"]
    assert reject["required"] is True
    assert reject["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/RejectRequest"}


async def test_request_bodies_refuse_unknown_fields(schema: dict[str, Any]) -> None:
    bodies = 0
    for method, path, operation in operations(schema):
        content = (operation.get("requestBody") or {}).get("content", {})
        if "application/json" not in content:
            continue
        body = resolve(schema, content["application/json"]["schema"])
        if "$ref" not in content["application/json"]["schema"]:
            continue  # the delivery of a webhook: the assistant's inputs, whatever they are
        bodies += 1
        assert body.get("additionalProperties") is False, (method, path)
        for name, field in body.get("properties", {}).items():
            if "$ref" in field:  # nested models (a connection's test target)
                assert resolve(schema, field).get("additionalProperties") is False, (path, name)
    assert bodies > 15


async def test_numbers_and_patterns_show_their_bounds(schema: dict[str, Any]) -> None:
    version = schema["paths"]["/api/flows/{flow_id}/versions/{number}"]["get"]["parameters"]
    (number,) = [p for p in version if p["name"] == "number"]
    assert (number["schema"]["minimum"], number["schema"]["maximum"]) == (1, INT32_MAX)
    audit = {p["name"]: p["schema"] for p in schema["paths"]["/api/audit"]["get"]["parameters"]}
    assert audit["before_seq"]["maximum"] == INT32_MAX and audit["limit"]["maximum"] == 1000
    runs = {p["name"]: p["schema"] for p in schema["paths"]["/api/runs"]["get"]["parameters"]}
    assert (runs["limit"]["minimum"], runs["limit"]["maximum"]) == (1, 500)
    bodies = schema["components"]["schemas"]
    assert bodies["RunRequest"]["properties"]["version"]["maximum"] == INT32_MAX
    assert bodies["FlowCreate"]["properties"]["slug"]["pattern"]
    assert bodies["ModelEndpointCreate"]["properties"]["name"]["pattern"] == "^[A-Za-z0-9_.-]{1,64}$"
    monitoring = {p["name"]: p for p in schema["paths"]["/api/monitoring"]["get"]["parameters"]}
    assert monitoring["workspace"]["required"] is True


async def test_every_handler_named_in_the_tables_exists(sc: Scenario) -> None:
    app = sc.api.client.app
    handlers = {
        openapi.handler_name(handler)
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if handler.resolve_include_in_schema()
    }
    controllers = {name.split(".", 1)[0] for name in handlers}
    tables = [
        *openapi.ANSWERS,
        *openapi.ALSO_SUCCEEDS,
        *openapi.STREAMS,
        *openapi.NO_POLICY_DECISION,
        *openapi.READS_ITSELF,
        *openapi.READS_HEADERS,
        *openapi.BODY_REQUIRED,
    ]
    assert [name for name in tables if name not in handlers | controllers] == []
