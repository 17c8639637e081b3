"""Every error answer and every problem carries a code with its parameters (runtime/codes),
and `GET /api/error-codes` lists them all, for clients to translate."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from runtime.codes import CODES
from tests.support.scenario import (  # noqa: F401 (fixtures sc, shared_app)
    Scenario,
    expect,
    sc_fixture,
    shared_app_fixture,
    template_flow,
    unique_slug,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def problems_of(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    body = expect(response, status)
    assert isinstance(body, dict) and body["error"] in CODES, body
    errors = body.get("errors") or []
    for problem in errors:
        assert problem["code"] in CODES, problem
        assert set(problem["params"]) <= set(CODES[problem["code"]].params), problem
    return errors  # type: ignore[no-any-return]


async def test_the_table_of_codes_is_served_to_anyone(sc: Scenario) -> None:
    answer = await sc.api.client.get("/api/error-codes")
    assert answer.status_code == 200
    listed = {item["code"]: item for item in answer.json()}
    assert set(listed) == set(CODES)
    assert listed["unreachable_node"] == {
        "code": "unreachable_node",
        "family": "problem",
        "message": "'{node}' cannot be reached from the input node '{input}'",
        "params": ["node", "input"],
        "reasons": [],
    }
    assert listed["invalid_endpoint"]["reasons"][:2] == ["not_a_url", "scheme"]


@pytest.mark.parametrize(
    ("change", "code", "params"),
    [
        ({"owner": "me"}, "extra_forbidden", {"field": "owner"}),
        ({"name": None}, "string_type", {}),
        ({"name": 5}, "string_type", {}),
    ],
)
async def test_a_body_that_does_not_fit_names_each_problem_by_code(
    sc: Scenario, change: dict[str, Any], code: str, params: dict[str, Any]
) -> None:
    payload = {"name": "x", "slug": unique_slug(), "document": template_flow(), **change}
    problems = problems_of(await sc.as_("champion").post("/api/workspaces/sales/flows", json=payload), 400)
    assert [(p["code"], p["params"]) for p in problems] == [(code, params)]
    assert problems[0]["message"]  # pydantic's English stays, for logs and scripts


async def test_a_missing_field_of_a_body_is_missing_with_its_name(sc: Scenario) -> None:
    payload = {"slug": unique_slug(), "document": template_flow()}
    problems = problems_of(await sc.as_("champion").post("/api/workspaces/sales/flows", json=payload), 400)
    assert [(p["field"], p["code"], p["params"]) for p in problems] == [
        ("name", "missing", {"field": "name"})
    ]
    assert problems[0]["message"] == "Field required"


async def test_a_query_parameter_of_the_wrong_type_is_wrong_type(sc: Scenario) -> None:
    body = expect(await sc.as_("board1").get("/api/audit?limit=viele"), 400)
    assert [(p["code"], p["params"].get("expected")) for p in body["errors"]] == [("wrong_type", "int")]


async def test_flow_problems_inputs_and_refusals_carry_codes(sc: Scenario) -> None:
    document = template_flow()
    document["nodes"].append({"id": "lonely", "type": "template", "config": {"template": "{{ ghost.text }}"}})
    report = expect(await sc.as_("champion").post("/api/flows/validate", json={"document": document}), 200)
    codes = {(error["node"], error["code"]) for error in report["errors"]}
    assert ("lonely", "unreachable_node") in codes and ("lonely", "unknown_reference") in codes
    lonely = next(error for error in report["errors"] if error["code"] == "unreachable_node")
    assert lonely["params"] == {"node": "lonely", "input": "start"}

    flow = await sc.live(template_flow())
    answer = await sc.as_("user").post(f"/api/assistants/{flow['slug']}/runs", json={"inputs": {"colour": 1}})
    problems = problems_of(answer, 400)
    assert {(p["code"], p["params"]["name"]) for p in problems} >= {
        ("input_required", "name"),
        ("input_unknown", "colour"),
    }

    taken = await sc.as_("champion").post(
        "/api/workspaces/sales/flows", json={"name": "x", "slug": flow["slug"], "document": template_flow()}
    )
    body = expect(taken, 409)
    assert (body["error"], set(body)) == ("slug_unavailable", {"error", "message"})  # says nothing more
