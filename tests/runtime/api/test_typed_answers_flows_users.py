"""The flows and users operations describe their answers: every success response of
theirs in the OpenAPI description refers to a model (or a list of one), so that a client
can read what it gets (issue 11: a typed API contract end to end)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nodes.registry import DEFAULT_REGISTRY
from runtime.app import create_app
from runtime.engine.validation import validate_document
from runtime.flows.responses import NodeTypeOut, ValidationOut
from tests.support.api import api_settings

TAGS = {"flows", "users"}


def untyped_successes(schema: dict[str, Any]) -> list[str]:
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if not TAGS & set(operation.get("tags", ())):
                continue
            for status, answer in operation.get("responses", {}).items():
                if not status.startswith("2") or status == "204":
                    continue
                for media in (answer.get("content") or {}).values():
                    body = media.get("schema", {})
                    if "$ref" not in body and "$ref" not in body.get("items", {}):
                        found.append(f"{method.upper()} {path} {status}")
    return found


def test_every_success_of_the_flows_and_users_operations_is_a_model(
    tmp_path: Path, database_url: str
) -> None:
    app = create_app(api_settings(tmp_path, database_url), migrate=False, background=False)
    schema = app.openapi_schema.to_schema()
    operations = [op for item in schema["paths"].values() for op in item.values() if isinstance(op, dict)]
    assert sum(1 for op in operations if TAGS & set(op.get("tags", ()))) >= 25  # the check sees them
    assert untyped_successes(schema) == []


def test_a_version_answer_names_its_fields_and_their_types(tmp_path: Path, database_url: str) -> None:
    app = create_app(api_settings(tmp_path, database_url), migrate=False, background=False)
    schema = app.openapi_schema.to_schema()
    answer = schema["paths"]["/api/flows/{flow_id}/versions/{number}"]["get"]["responses"]["200"]
    name = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    version = schema["components"]["schemas"][name]
    assert {"id", "number", "state", "tests", "document", "reviews", "quorum"} <= set(version["required"])
    assert set(version["properties"]["state"]["enum"]) == {
        "draft",
        "submitted",
        "approved",
        "rejected",
        "published",
        "retired",
    }


def test_the_node_type_and_validation_models_carry_every_key_of_what_they_wrap() -> None:
    for node_type in DEFAULT_REGISTRY.values():
        described = node_type.describe()
        assert NodeTypeOut.model_validate(described).model_dump() == described, node_type.type
    report = validate_document({"nodes": [{"id": "a", "type": "no-such-type"}]})
    assert not report.valid
    assert ValidationOut.of(report).model_dump() == report.as_json()
