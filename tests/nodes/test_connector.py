"""The `connector` node: config checks, what it asks the connections service, selection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import ValidationError

from nodes.base import NodeContext
from nodes.connector import ConnectorNode, ConnectorRequest, ConnectorResult, parse_selector, select
from nodes.errors import NodeError
from nodes.registry import DEFAULT_REGISTRY


@dataclass
class FakeConnections:
    result: ConnectorResult = field(default_factory=lambda: ConnectorResult(200, {"data": {"id": 7}}))
    requests: list[ConnectorRequest] = field(default_factory=list)

    async def call(self, request: ConnectorRequest) -> ConnectorResult:
        self.requests.append(request)
        return self.result


def node(**config: Any) -> ConnectorNode:
    return ConnectorNode("call", ConnectorNode.Config(**{"connection": "crm", **config}))


def context(service: FakeConnections | None = None) -> NodeContext:
    return NodeContext(
        run_id="run-1",
        node_id="call",
        node_type="connector",
        flow_inputs={},
        services={"connections": service} if service else {},
    )


SCOPE = {"inputs": {"title": 'Angebot "A"', "id": "42", "n": "3"}, "draft": {"text": "Hallo"}}


def test_it_is_registered_with_side_effects() -> None:
    assert DEFAULT_REGISTRY["connector"] is ConnectorNode
    assert ConnectorNode.side_effects is True and ConnectorNode.outputs == ("response", "status")


async def test_renders_the_call_and_passes_the_idempotency_key() -> None:
    service = FakeConnections()
    outputs = await node(
        action="create_task",
        method="POST",
        path="/tasks/{{ inputs.id }}",
        query={"q": "{{ draft.text }}"},
        headers={"X-Trace": "t-{{ inputs.id }}"},
        body='{"title": {{ inputs.title | json }}}',
    ).run(context(service), SCOPE)
    [request] = service.requests
    assert (request.connection, request.action, request.method, request.path) == (
        "crm",
        "create_task",
        "POST",
        "/tasks/42",
    )
    assert request.query == {"q": "Hallo"} and request.headers == {"X-Trace": "t-42"}
    assert request.body == {"title": 'Angebot "A"'}
    assert request.idempotency_key == "run-1:call" and request.run_id == "run-1"
    assert outputs == {"response": {"data": {"id": 7}}, "status": 200}


async def test_select_maps_fields_of_the_answer() -> None:
    service = FakeConnections(
        ConnectorResult(200, {"items": [{"id": 1, "n": "a"}, {"id": 2}], "x": {"y z": 5}})
    )
    outputs = await node(
        select={"ids": "$.items[*].id", "first": "items[0].n", "odd": "$.x['y z']", "gone": "$.nope.deeper"}
    ).run(context(service), SCOPE)
    assert outputs["response"] == {"ids": [1, 2], "first": "a", "odd": 5, "gone": None}


def test_selectors_are_checked_when_the_flow_is_validated() -> None:
    with pytest.raises(ValidationError, match="is not a selector"):
        node(select={"a": "$..bad("})
    assert parse_selector("$") == [] and select({"a": 1}, []) == {"a": 1}
    assert select([1, 2, 3], parse_selector("[-1]")) == 3 and select([1], parse_selector("[5]")) is None


def test_sql_is_never_a_template() -> None:
    with pytest.raises(ValidationError, match="fixed text"):
        node(sql="SELECT * FROM offers WHERE customer = '{{ inputs.customer }}'")


async def test_a_body_that_is_not_json_fails_with_a_hint() -> None:
    with pytest.raises(NodeError, match="json filter") as caught:
        await node(method="POST", body='{"title": "{{ draft.text }}", }').run(
            context(FakeConnections()), SCOPE
        )
    assert caught.value.field == "body"


async def test_http_errors_fail_the_node_unless_told_otherwise() -> None:
    service = FakeConnections(ConnectorResult(404, {"error": "no such task"}))
    with pytest.raises(NodeError, match="answered HTTP 404 to get_task"):
        await node(action="get_task").run(context(service), SCOPE)
    assert (await node(fail_on_error=False).run(context(service), SCOPE))["status"] == 404


async def test_email_and_sql_fields_and_typed_parameters() -> None:
    service = FakeConnections(ConnectorResult("sent", {}))
    await node(
        to="a@kunde.de, {{ inputs.id }}@kunde.de",
        subject="S {{ inputs.id }}",
        text="{{ draft.text }}",
    ).run(context(service), SCOPE)
    assert service.requests[-1].to == ["a@kunde.de", " 42@kunde.de"] and service.requests[-1].text == "Hallo"
    await node(
        sql="SELECT 1 WHERE :n > 2 AND :flag",
        params={"n": "{{ inputs.n }}", "flag": "true"},
        param_types={"n": "integer", "flag": "boolean"},
    ).run(context(service), SCOPE)
    assert service.requests[-1].params == {"n": 3, "flag": True}
    with pytest.raises(NodeError, match="should be integer"):
        await node(sql="SELECT :n", params={"n": "{{ draft.text }}"}, param_types={"n": "integer"}).run(
            context(service), SCOPE
        )


async def test_without_the_service_the_error_names_it() -> None:
    with pytest.raises(NodeError, match="'connections' service"):
        await node().run(context(), SCOPE)


def test_template_fields_are_validated_as_references() -> None:
    templates = node(path="/t/{{ inputs.id }}", query={"a": "{{ x.y }}"}, text="{{ draft.text }}").templates()
    assert templates == {"path": "/t/{{ inputs.id }}", "query.a": "{{ x.y }}", "text": "{{ draft.text }}"}
