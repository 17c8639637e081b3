"""Test cases over HTTP: running them, the stored reports, and the gate on submission.

POST /api/flows/{id}/versions/{n}/test           run every case (fixed or live), store the report
GET  /api/flows/{id}/versions/{n}/test-reports   the version's reports, newest first
GET  /api/test-reports/{report_id}               one report
POST /api/flows/{id}/versions/{n}/submit         409 tests_not_passed unless the latest fixed
                                                 report of this version passed; admins may override
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support.messages_api_double import MessagesApiDouble
from tests.support.scenario import (  # noqa: F401 (fixtures sc, shared_app, llm)
    Scenario,
    approval_flow,
    expect,
    llm_fixture,
    qa_flow,
    sc_fixture,
    shared_app_fixture,
    template_flow,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def with_cases(document: dict[str, Any], *cases: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["tests"] = list(cases)
    return changed


def unfixed_llm_case(expected: str = "Antwort vom Modell.") -> dict[str, Any]:
    """A case that lets the LLM answer: it passes live (the double answers), fails fixed."""
    return {
        "name": "das Modell antwortet",
        "inputs": {"question": "Wie geht's?"},
        "expect": [{"check": "equals", "output": "answer", "value": expected}],
    }


FAILING_CASE = {
    "name": "erwartet Falsches",
    "inputs": {"question": "?"},
    "fixed": {"answer": {"text": "Morgen."}},
    "expect": [{"check": "equals", "output": "answer", "value": "Übermorgen."}],
}


def version_path(flow_id: str, number: int = 1) -> str:
    return f"/api/flows/{flow_id}/versions/{number}"


async def version_of(sc: Scenario, flow_id: str, number: int = 1, who: str = "champion") -> dict[str, Any]:
    return expect(await sc.as_(who).get(f"/api/flows/{flow_id}/versions/{number}"), 200)  # type: ignore[no-any-return]


async def audit_of(sc: Scenario, resource_id: str) -> list[dict[str, Any]]:
    entries = expect(await sc.as_("board1").get("/api/audit", params={"resource_id": resource_id}), 200)
    return sorted(entries, key=lambda entry: entry["seq"])


async def submit_refused(sc: Scenario, flow_id: str, number: int = 1, **body: Any) -> dict[str, Any]:
    response = await sc.as_("champion").post(
        f"/api/flows/{flow_id}/versions/{number}/submit", json=body or None
    )
    refused = expect(response, 409)
    assert refused["error"] == "tests_not_passed", refused
    assert (await version_of(sc, flow_id, number))["state"] == "draft"
    return refused  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- running and reports


async def test_a_fixed_run_stores_a_report_and_makes_no_run_and_no_llm_call(
    sc: Scenario, llm: MessagesApiDouble
) -> None:
    flow = await sc.create(qa_flow())
    before = await sc.counts()
    report = await sc.run_tests(flow["id"])

    assert report["flow_id"] == flow["id"] and report["version"] == 1
    assert report["content_hash"] == flow["version"]["content_hash"]
    assert (report["mode"], report["passed"], report["total"], report["failed"]) == ("fixed", True, 1, 0)
    assert report["created_by"] == "champion" and report["created_at"] and report["duration_ms"] >= 0
    (case,) = report["cases"]
    assert case["name"] == "beantwortet die Frage" and case["passed"] is True
    assert case["status"] == "succeeded" and case["outputs"] == {"answer": "Morgen."}
    assert case["failures"] == [] and case["error"] is None
    assert (case["branches"], case["approvals"], case["connector_calls"]) == ({}, [], [])
    steps = {step["node"]: step for step in case["steps"]}
    assert list(steps) == ["start", "answer", "end"]
    assert steps["answer"]["fixed"] is True and steps["answer"]["outputs"]["text"] == "Morgen."
    assert steps["start"]["fixed"] is False and steps["start"]["type"] == "input"
    assert set(steps["answer"]) == {"node", "type", "status", "fixed", "outputs", "duration_ms"}

    # Nothing ran for real: no run rows, no tasks, no LLM request.
    assert await sc.counts() == before
    assert llm.requests == []
    assert expect(await sc.as_("board1").get(f"/api/test-reports/{report['id']}"), 200) == report
    entries = await audit_of(sc, flow["version"]["id"])
    tested = [entry for entry in entries if entry["action"] == "version.tested"]
    assert len(tested) == 1 and tested[0]["actor"] == "champion"
    assert tested[0]["detail"] == {
        "flow_id": flow["id"],
        "number": 1,
        "report_id": report["id"],
        "mode": "fixed",
        "passed": True,
        "total": 1,
        "failed": 0,
    }


async def test_live_mode_calls_the_llm_but_only_fixed_reports_gate(
    sc: Scenario, llm: MessagesApiDouble
) -> None:
    flow = await sc.create(with_cases(qa_flow(), unfixed_llm_case()))
    path = version_path(flow["id"])

    live = await sc.run_tests(flow["id"], live=True)
    assert live["mode"] == "live" and live["passed"] is True
    assert live["cases"][0]["outputs"] == {"answer": "Antwort vom Modell."}
    assert len(llm.requests) == 1
    assert (await version_of(sc, flow["id"]))["tests"] == {
        "cases": 1,
        "latest_fixed": None,
        "gate": "missing",
    }
    refused = await submit_refused(sc, flow["id"])
    assert "have not been run" in refused["message"]

    fixed = await sc.run_tests(flow["id"], passed=False)  # the same case, without the LLM
    (case,) = fixed["cases"]
    assert case["status"] == "failed" and case["error"]["node"] == "answer"
    assert "llm node 'answer' is not fixed in this case" in case["error"]["message"]
    assert case["failures"][0]["check"] == "fixed"
    assert len(llm.requests) == 1

    listed = expect(await sc.as_("champion").get(f"{path}/test-reports"), 200)
    assert [item["id"] for item in listed] == [fixed["id"], live["id"]]  # newest first
    assert listed[0] == fixed
    summary = (await version_of(sc, flow["id"]))["tests"]
    assert summary["gate"] == "failed" and summary["latest_fixed"] == {
        "id": fixed["id"],
        "passed": False,
        "total": 1,
        "failed": 1,
        "created_at": fixed["created_at"],
    }


async def test_scripted_decisions_resume_in_memory_and_raise_no_task(sc: Scenario) -> None:
    cases = [
        {
            "name": "abgelehnt",
            "inputs": {"customer": "Schulz KG"},
            "decisions": {"check": {"decision": "reject", "comment": "zu früh"}},
            "expect": [
                {"check": "branch", "node": "check", "value": "rejected"},
                {"check": "equals", "output": "decision", "value": "rejected"},
            ],
        },
        {
            "name": "geändert freigegeben",
            "inputs": {"customer": "Schulz KG"},
            "decisions": {"check": {"decision": "approve", "payload": {"to": "Schulz KG", "text": "Neu"}}},
            "expect": [
                {"check": "contains", "output": "sent", "value": "Neu"},
                {"check": "equals", "node": "check", "field": "comment", "value": ""},
            ],
        },
        {
            "name": "wartet",
            "inputs": {"customer": "Schulz KG"},
            "expect": [
                {"check": "status", "value": "waiting"},
                {"check": "approval_raised", "node": "check"},
            ],
        },
    ]
    flow = await sc.create(with_cases(approval_flow(), *cases))
    before = await sc.counts()
    report = await sc.run_tests(flow["id"])
    assert report["total"] == 3 and report["failed"] == 0, report
    rejected, edited, waiting = report["cases"]
    assert rejected["branches"] == {"check": "rejected"} and rejected["approvals"] == ["check"]
    assert edited["outputs"]["decision"] == "approved"
    assert waiting["status"] == "waiting" and waiting["outputs"] == {}
    assert await sc.counts() == before  # no runs, no approval tasks
    tasks = expect(await sc.as_("champion2").get("/api/tasks"), 200)
    assert not [task for task in tasks if "Schulz" in task.get("title", "")]


async def test_who_may_run_and_read_test_reports(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    path = version_path(flow["id"])
    for who in ("champion2", "board1", "admin", "salesadmin"):
        report = expect(await sc.as_(who).post(f"{path}/test", json={}), 201)
        assert report["created_by"] == who and report["passed"] is True
    for who in ("user", "outsider", "hrchampion"):
        refused = expect(await sc.as_(who).post(f"{path}/test"), 404)
        assert refused["error"] == "not_found"
        expect(await sc.as_(who).get(f"{path}/test-reports"), 404)
        expect(await sc.as_(who).get(f"/api/test-reports/{report['id']}"), 404)
    expect(await sc.as_(None).post(f"{path}/test"), 401)
    expect(await sc.as_(None).get(f"/api/test-reports/{report['id']}"), 401)
    assert len(expect(await sc.as_("board2").get(f"{path}/test-reports"), 200)) == 4


async def test_bad_requests_to_run_tests(sc: Scenario) -> None:
    untested = await sc.create(template_flow() | {"tests": []})
    path = version_path(untested["id"])
    no_cases = expect(await sc.as_("champion").post(f"{path}/test"), 400)
    assert no_cases["error"] == "no_test_cases" and "no test cases" in no_cases["message"]
    assert (
        "live"
        in expect(await sc.as_("champion").post(f"{path}/test", json={"live": "vielleicht"}), 400)["message"]
    )
    expect(await sc.as_("champion").post(f"{path}/test", json={"mode": "live"}), 400)
    expect(await sc.as_("champion").post(f"/api/flows/{untested['id']}/versions/9/test"), 404)
    expect(await sc.as_("champion").post("/api/flows/nope/versions/1/test"), 404)
    expect(await sc.as_("champion").get("/api/test-reports/nope"), 404)


async def test_a_bad_case_is_refused_like_any_flow_error(sc: Scenario) -> None:
    document = with_cases(
        qa_flow(),
        {
            "name": "x",
            "fixed": {"answer": {"txt": "?"}},
            "expect": [{"check": "equals", "output": "answer", "value": 1}],
        },
    )
    body = expect(
        await sc.as_("champion").post(
            "/api/workspaces/sales/flows", json={"name": "x", "slug": "bad-case", "document": document}
        ),
        422,
    )
    assert {
        "node": None,
        "field": "tests[0].fixed.answer.txt",
        "code": "case_unknown_node_output",
        "params": {"node": "answer", "type": "llm", "output": "txt", "outputs": "text, json, usage"},
        "message": "'answer' (llm) has no output 'txt'; its outputs: text, json, usage",
    } in body["errors"]
    assert {
        "node": None,
        "field": "tests[0].inputs.question",
        "code": "input_required",
        "params": {"name": "question", "type": "string"},
        "message": "'question' is required (string)",
    } in body["errors"]


# --------------------------------------------------------------------------- the gate


async def test_submission_is_refused_without_cases_unrun_cases_or_failing_cases(sc: Scenario) -> None:
    without = await sc.create(template_flow() | {"tests": []})
    refused = await submit_refused(sc, without["id"])
    assert "version 1 has no test cases" in refused["message"] and refused["gate"] == "missing"
    assert (await version_of(sc, without["id"]))["tests"] == {
        "cases": 0,
        "latest_fixed": None,
        "gate": "missing",
    }

    unrun = await sc.create(qa_flow())
    refused = await submit_refused(sc, unrun["id"])
    assert (
        "have not been run" in refused["message"]
        and f"/api/flows/{unrun['id']}/versions/1/test" in refused["message"]
    )

    failing = await sc.create(with_cases(qa_flow(), qa_flow()["tests"][0], FAILING_CASE))
    report = await sc.run_tests(failing["id"], passed=False)
    assert (report["total"], report["failed"]) == (2, 1)
    assert report["cases"][1]["failures"] == [
        {
            "check": "equals",
            "code": "not_equal",
            "params": {
                "output": "answer",
                "node": "",
                "field": "",
                "expected": '"Übermorgen."',
                "got": '"Morgen."',
            },
            "message": report["cases"][1]["failures"][0]["message"],
        }
    ]
    assert "Übermorgen" in report["cases"][1]["failures"][0]["message"]
    refused = await submit_refused(sc, failing["id"])
    assert "1 of 2 test cases of version 1 failed" in refused["message"]
    assert "'erwartet Falsches'" in refused["message"] and refused["failed_cases"] == ["erwartet Falsches"]
    assert refused["gate"] == "failed"
    # The board never sees it: nothing was submitted.
    versions = await sc.versions(failing["id"])
    assert versions[0]["state"] == "draft" and versions[0]["tests"]["gate"] == "failed"


async def test_a_changed_document_is_a_new_version_that_needs_its_own_report(sc: Scenario) -> None:
    flow = await sc.create(qa_flow())
    await sc.run_tests(flow["id"])
    moved = qa_flow()
    moved["layout"] = {"start": {"x": 99, "y": 99}}  # not a change: same version, same report
    assert (await sc.save(flow["id"], moved))["created"] is False

    changed = with_cases(qa_flow(), {**qa_flow()["tests"][0], "description": "jetzt beschrieben"})
    v2 = await sc.save(flow["id"], changed, status=201)
    assert v2["number"] == 2 and v2["content_hash"] != flow["version"]["content_hash"]
    assert v2["tests"] == {"cases": 1, "latest_fixed": None, "gate": "missing"}
    await submit_refused(sc, flow["id"], 2)

    await sc.run_tests(flow["id"], 2)
    submitted = await sc.act(flow["id"], 2, "submit", by="champion")
    assert submitted["state"] == "submitted" and submitted["tests"]["gate"] == "passed"
    listed = {item["number"]: item["tests"]["gate"] for item in await sc.versions(flow["id"])}
    assert listed == {1: "passed", 2: "passed"}
    flow_view = expect(await sc.as_("champion").get(f"/api/flows/{flow['id']}"), 200)
    assert flow_view["latest_version"]["tests"]["gate"] == "passed"


async def test_an_admin_may_override_the_gate_with_a_reason_and_it_is_audited(sc: Scenario) -> None:
    flow = await sc.create(with_cases(qa_flow(), FAILING_CASE))
    await sc.run_tests(flow["id"], passed=False)
    submit = f"/api/flows/{flow['id']}/versions/1/submit"

    refused = expect(await sc.as_("champion").post(submit, json={"override_reason": "Eilt"}), 403)
    assert "you may not submit this flow version although its test cases did not pass" in refused["message"]
    assert "admin" in refused["message"]
    blank = expect(await sc.as_("admin").post(submit, json={"override_reason": "  "}), 400)
    assert blank["error"] == "override_reason_required"
    expect(await sc.as_("admin").post(submit, json={"override_reason": "x" * 2001}), 400)
    assert (await version_of(sc, flow["id"]))["state"] == "draft"

    submitted = expect(
        await sc.as_("admin").post(submit, json={"override_reason": "Notfall: Vorstand wartet"}), 200
    )
    assert submitted["state"] == "submitted" and submitted["submitted_by"] == "admin"
    (entry,) = [e for e in await audit_of(sc, flow["version"]["id"]) if e["action"] == "version.submitted"]
    assert entry["actor"] == "admin"
    assert entry["detail"]["override_reason"] == "Notfall: Vorstand wartet"
    assert entry["detail"]["tests"] == "failed" and entry["detail"]["test_report_id"]
    # The workspace's own admin may override too.
    other = await sc.create(template_flow() | {"tests": []})
    expect(
        await sc.as_("salesadmin").post(
            f"/api/flows/{other['id']}/versions/1/submit",
            json={"override_reason": "Altbestand ohne Testfälle"},
        ),
        200,
    )


async def test_a_passed_gate_is_audited_on_submission(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    report = await sc.run_tests(flow["id"])
    await sc.act(flow["id"], 1, "submit", by="champion")
    (entry,) = [e for e in await audit_of(sc, flow["version"]["id"]) if e["action"] == "version.submitted"]
    assert entry["detail"] == {
        "flow_id": flow["id"],
        "number": 1,
        "tests": "passed",
        "test_report_id": report["id"],
    }


# -- the rules clients build cases with (GET /api/test-cases/rules) -----------------------------
def _rule_case(rule: dict[str, Any], *, node: bool, value: bool) -> dict[str, Any]:
    """An expectation of the check `rule` names, with or without a node and a value."""
    expectation: dict[str, Any] = {"check": rule["check"]}
    if rule["on"] == "value":
        expectation["output"] = "text"
    elif node:
        expectation["node"] = "draft"
    if value:
        # A JSON schema for json_schema, the first of a closed set, else text (a regex, a
        # branch and a duration in milliseconds accept "1" alike).
        expectation["value"] = (
            rule["values"] or [{"type": "string"} if rule["check"] == "json_schema" else "1"]
        )[0]
    return {"name": "case", "expect": [expectation]}


async def test_the_case_rules_are_served_without_sign_in_and_are_the_engines(sc: Scenario) -> None:
    """What the studio builds its case form from is what the engine's models accept: every
    check, with or without a node and a value exactly as served, and the node types whose
    fixing validation refuses with the served code."""
    from runtime.engine.case_validation import NOT_FIXABLE
    from runtime.engine.cases import CHECKS, TestCase

    rules = expect(await sc.as_(None).get("/api/test-cases/rules"), 200)
    assert [rule["check"] for rule in rules["checks"]] == list(CHECKS)
    for rule in rules["checks"]:
        name = rule["check"]
        TestCase.model_validate(_rule_case(rule, node=rule["node"] == "required", value=rule["needs_value"]))
        if rule["node"] == "optional" and rule["on"] == "node":
            TestCase.model_validate(_rule_case(rule, node=False, value=rule["needs_value"]))
        if rule["node"] == "required":
            with pytest.raises(ValueError):
                TestCase.model_validate(_rule_case(rule, node=False, value=rule["needs_value"]))
        if rule["node"] == "none":
            with pytest.raises(ValueError):
                TestCase.model_validate(
                    {"name": "c", "expect": [{"check": name, "node": "draft", "value": 1}]}
                )
        with pytest.raises(ValueError):  # a value where none is served, none where one is
            TestCase.model_validate(
                _rule_case(rule, node=rule["node"] == "required", value=not rule["needs_value"])
            )
        # `arguments` (a tool call's, for tool_called) is accepted exactly where it is served.
        with_arguments = _rule_case(rule, node=rule["node"] == "required", value=rule["needs_value"])
        with_arguments["expect"][0]["arguments"] = {"id": 7}
        if rule["arguments"]:
            TestCase.model_validate(with_arguments)
        else:
            with pytest.raises(ValueError):
                TestCase.model_validate(with_arguments)
        if rule["values"] is not None:
            with pytest.raises(ValueError):
                TestCase.model_validate({"name": "c", "expect": [{"check": name, "value": "something else"}]})
    served = {item["type"]: item["code"] for item in rules["not_fixable"]}
    assert {kind: code for kind, code in served.items() if code is not None} == NOT_FIXABLE
    assert [kind for kind, code in served.items() if code is None] == ["output"]  # nothing to fix there
    assert [rule["check"] for rule in rules["checks"] if rule["arguments"]] == ["tool_called"]
    assert rules["decisions"] == ["approve", "reject"]
    assert rules["from_run_checks"] == ["equals", "contains"]
    # Fixing an input or an approval node is refused with the served code.
    document = with_cases(
        approval_flow(),
        {
            "name": "fixes",
            "fixed": {"check": {"decision": "approve"}},
            "expect": [{"check": "status", "value": "succeeded"}],
        },
    )
    answer = await sc.as_("champion").post("/api/flows/validate", json={"document": document})
    codes = {problem["code"] for problem in answer.json().get("errors", [])}
    assert served["approval"] in codes, answer.json()
