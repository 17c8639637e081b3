"""OpenTelemetry traces end to end: a flow with an LLM node (the Messages API test double)
and a connector call (a local HTTP server), invoked over HTTP; the spans arrive at an
OTLP/HTTP receiver on 127.0.0.1, decoded with opentelemetry-proto, as one tree:

    POST /api/assistants/{slug}/runs -> dirigent.run -> dirigent.node (x4)
        llm node       -> dirigent.llm.chat
        connector node -> dirigent.connector.call
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from runtime.app import create_app
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.connections.service import ConnectionService
from runtime.errors import Unavailable
from runtime.observability import tracing
from runtime.users import passwords
from tests.runtime.connections.servers import HttpTarget
from tests.runtime.observability.otlp import OtlpReceiver, ReceivedSpan
from tests.support.api import PEOPLE, ApiHarness, api_settings, seed_people
from tests.support.messages_api_double import MessagesApiDouble
from tests.support.scenario import CHEAP_HASHER, Scenario, expect

SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_SERVER
CLIENT_KIND = 3
RUN_ID = tracing.RUN_ID


def llm_and_connector_flow(connection: str) -> dict[str, Any]:
    return {
        "schema": "dirigent.flow/v1",
        "name": "Nachfassen",
        "inputs": {"question": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "answer", "type": "llm", "config": {"prompt": "{{ inputs.question }}", "max_tokens": 16}},
            {
                "id": "lookup",
                "type": "connector",
                "config": {
                    "connection": connection,
                    "action": "list_tasks",
                    "method": "GET",
                    "path": "/tasks",
                },
            },
            {"id": "end", "type": "output"},
        ],
        "edges": [
            {"from": "start", "to": "answer"},
            {"from": "answer", "to": "lookup"},
            {"from": "lookup", "to": "end"},
        ],
        "outputs": {"answer": "{{ answer.text }}", "status": "{{ lookup.status }}"},
        "card": {"purpose": "Nachfassen", "risk": "limited", "owner": "Vertrieb"},
        "tests": [
            {
                "name": "läuft",
                "inputs": {"question": "Wann?"},
                "fixed": {"answer": {"text": "Morgen."}, "lookup": {"status": 200, "response": {}}},
                "expect": [{"check": "status", "value": "succeeded"}],
            }
        ],
    }


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as started:
        yield started


@pytest.fixture
def crm() -> Iterator[HttpTarget]:
    with HttpTarget() as server:
        server.route("/api/tasks", json_body={"tasks": []})
        yield server


@pytest.fixture
async def traced(
    tmp_path: Path,
    database_url: str,
    messages_api: MessagesApiDouble,
    receiver: OtlpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Scenario]:
    monkeypatch.setattr(passwords, "_HASHER", CHEAP_HASHER)
    settings = api_settings(tmp_path, database_url, llm_url=messages_api.url, otlp_endpoint=receiver.url)
    app = create_app(settings)
    try:
        async with AsyncTestClient(app=app) as client:
            await seed_people(database_url)
            harness = ApiHarness(client, app.state.composition.settings)
            for name in PEOPLE:
                await harness.login(name)
            connections = harness.runtime.services["connections"]
            assert isinstance(connections, ConnectionService)
            connections.guard = EgressGuard(EgressPolicy.parse("127.0.0.1"))  # the local CRM
            yield Scenario(harness)
    finally:
        tracing.shutdown()  # tracing is per process: the next tests run without it


def by_name(spans: list[ReceivedSpan], name: str) -> list[ReceivedSpan]:
    return [span for span in spans if span.name == name]


async def test_a_run_is_one_trace_from_the_request_to_the_llm_and_connector_calls(
    traced: Scenario, receiver: OtlpReceiver, crm: HttpTarget, messages_api: MessagesApiDouble
) -> None:
    sc = traced
    settings = {"base_url": crm.url + "/api", "allowed_methods": ["GET"], "allowed_paths": ["/tasks"]}
    expect(
        await sc.as_("admin").post(
            "/api/workspaces/sales/connections", json={"name": "crm", "kind": "http", "settings": settings}
        ),
        201,
    )
    flow = await sc.live(llm_and_connector_flow("crm"), "nachfassen-traced")
    messages_api.reply("Morgen.", usage={"prompt_tokens": 5, "completion_tokens": 2})
    run = await sc.invoke(flow["slug"], {"question": "Wann liefern Sie an Müller?"})
    assert run["status"] == "succeeded", run
    tracing.flush()

    spans = receiver.spans
    [request] = by_name(spans, "POST /api/assistants/{slug}/runs")
    [run_span] = [span for span in by_name(spans, "dirigent.run") if span.attributes[RUN_ID] == run["id"]]
    assert request.kind == SERVER_KIND and request.attributes["http.response.status_code"] == 200
    assert request.attributes["http.route"] == "/api/assistants/{slug}/runs"
    assert run_span.parent_span_id == request.span_id and run_span.trace_id == request.trace_id
    assert run_span.attributes["dirigent.run.status"] == "succeeded"
    assert request.service_name == "dirigent"

    nodes = {
        span.attributes["dirigent.node.id"]: span
        for span in by_name(spans, "dirigent.node")
        if span.parent_span_id == run_span.span_id
    }
    assert set(nodes) == {"start", "answer", "lookup", "end"}
    assert {node.attributes["dirigent.node.type"] for node in nodes.values()} == {
        "input",
        "llm",
        "connector",
        "output",
    }
    assert all(node.attributes["dirigent.run_id"] == run["id"] for node in nodes.values())

    [chat] = by_name(spans, "dirigent.llm.chat")
    assert chat.parent_span_id == nodes["answer"].span_id and chat.kind == CLIENT_KIND
    assert chat.attributes["dirigent.run_id"] == run["id"]
    assert chat.attributes["gen_ai.request.model"] == "default"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 5
    assert chat.attributes["gen_ai.usage.output_tokens"] == 2

    [call] = by_name(spans, "dirigent.connector.call")
    assert call.parent_span_id == nodes["lookup"].span_id
    assert call.attributes["dirigent.run_id"] == run["id"]
    assert call.attributes["dirigent.connection.kind"] == "http"
    assert call.attributes["dirigent.connector.outcome"] == "ok"
    assert {span.trace_id for span in [chat, call, *nodes.values()]} == {request.trace_id}
    # No inputs or outputs in any attribute.
    assert "Müller" not in repr(spans) and "Morgen" not in repr(spans)


async def test_a_failed_node_marks_its_span_and_the_run_span_failed(
    traced: Scenario, receiver: OtlpReceiver, crm: HttpTarget, messages_api: MessagesApiDouble
) -> None:
    sc = traced
    settings = {"base_url": crm.url + "/api", "allowed_methods": ["GET"], "allowed_paths": ["/tasks"]}
    expect(
        await sc.as_("admin").post(
            "/api/workspaces/sales/connections", json={"name": "crm", "kind": "http", "settings": settings}
        ),
        201,
    )
    flow = await sc.live(llm_and_connector_flow("crm"), "nachfassen-failing")
    messages_api.reply("kaputt", status=500)
    run = await sc.invoke(flow["slug"], {"question": "Wann?"})
    assert run["status"] == "failed"
    tracing.flush()
    [run_span] = [
        span
        for span in by_name(receiver.spans, "dirigent.run")
        if span.attributes["dirigent.run_id"] == run["id"]
    ]
    error = 2  # STATUS_CODE_ERROR
    assert run_span.status_code == error
    children = [
        span for span in by_name(receiver.spans, "dirigent.node") if span.parent_span_id == run_span.span_id
    ]
    [answer] = [span for span in children if span.attributes["dirigent.node.id"] == "answer"]
    assert answer.status_code == error and answer.attributes["dirigent.node.status"] == "failed"
    assert not by_name(receiver.spans, "dirigent.connector.call")  # skipped after the failure


def test_tracing_is_off_without_an_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing.configure(api_settings(tmp_path, "sqlite://")) is False
    assert tracing.active() is None


def test_a_missing_extra_is_a_clear_error_naming_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the `observability` extra, an endpoint gives a coded error, not an ImportError."""
    import builtins

    real_import = builtins.__import__

    def without_opentelemetry(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("opentelemetry"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)  # as a missing package does
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_opentelemetry)
    with pytest.raises(Unavailable) as refused:
        tracing.configure(api_settings(tmp_path, "sqlite://", otlp_endpoint="http://127.0.0.1:4318"))
    assert refused.value.code == "observability_extra_missing"
    assert "pip install 'dirigent[observability]'" in refused.value.message
    assert tracing.active() is None


def test_serve_and_worker_refuse_to_start_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands say what to install before they start anything (exit code 1, no traceback)."""
    import importlib.util

    from click.testing import CliRunner

    from runtime.cli import cli

    real_find_spec = importlib.util.find_spec

    def without_opentelemetry(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name.startswith("opentelemetry") else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", without_opentelemetry)
    for command in (["serve"], ["worker"]):
        result = CliRunner().invoke(cli, command, env={"DIRIGENT_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
        assert result.exit_code == 1, (command, result.output)
        assert "pip install 'dirigent[observability]'" in result.output
        assert "observability_extra_missing" in result.output
        assert "Traceback" not in result.output


async def test_connector_calls_and_their_errors_are_counted_by_kind(
    traced: Scenario, crm: HttpTarget, messages_api: MessagesApiDouble
) -> None:
    """The connector metrics (process-wide, read from prometheus_client's registry)."""
    sc = traced

    def counted(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    ok_before = counted("dirigent_connector_calls_total", kind="http", outcome="ok")
    failed_before = counted("dirigent_connector_calls_total", kind="http", outcome="failed")
    errors_before = sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "dirigent_connector_errors"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels["kind"] == "http"
    )
    for name, paths in (("crm", ["/tasks"]), ("crm_closed", ["/elsewhere"])):
        settings = {"base_url": crm.url + "/api", "allowed_methods": ["GET"], "allowed_paths": paths}
        body = {"name": name, "kind": "http", "settings": settings}
        expect(await sc.as_("admin").post("/api/workspaces/sales/connections", json=body), 201)
    good = await sc.live(llm_and_connector_flow("crm"), "nachfassen-counted")
    refused = await sc.live(llm_and_connector_flow("crm_closed"), "nachfassen-refused")
    assert (await sc.invoke(good["slug"], {"question": "Wann?"}))["status"] == "succeeded"
    run = await sc.invoke(refused["slug"], {"question": "Wann?"})
    assert run["status"] == "failed" and run["error"]["node"] == "lookup"

    assert counted("dirigent_connector_calls_total", kind="http", outcome="ok") == ok_before + 1
    assert counted("dirigent_connector_calls_total", kind="http", outcome="failed") == failed_before + 1
    errors = {
        sample.labels["error"]: sample.value
        for family in REGISTRY.collect()
        if family.name == "dirigent_connector_errors"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels["kind"] == "http"
    }
    assert sum(errors.values()) == errors_before + 1
    assert all(name.isidentifier() for name in errors)  # error classes, not messages
