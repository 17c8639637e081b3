"""The runs viewer's API: an assistant's runs, one run's trace, a correction as a test case.

    GET  /api/flows/{id}/runs             filters (status, since/until, feedback, correction,
                                          test runs), pages by the run cursor
    GET  /api/runs/{id}/trace             steps with inputs/outputs (bounded), the correction
    GET  /api/runs/{id}/steps/{node}      a step in full
    GET/POST /api/runs/{id}/test-case     the run as a case of the flow's working copy

Who reads what is the policy's `read` rule for runs (tests/runtime/api/test_policy_matrix.py
has the full table); here: an end user reads only their own runs, a champion of another
workspace nothing, and reading someone else's run leaves a `run.viewed` audit entry.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db import models
from runtime.feedback.models import RunFeedback
from tests.support.messages_api_double import MessagesApiDouble
from tests.support.scenario import (  # noqa: F401 (fixtures sc, llm, shared_app)
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


def _insert_runs(sc: Scenario, flow_id: str, specs: list[dict[str, Any]]) -> list[str]:
    """Runs of the flow's version 1 as described (`by`, `status`, `at`, `seconds`, `tokens`,
    `is_test`, `rating`, `correction`), with the asker's feedback; their ids in order."""

    async def add(session: AsyncSession) -> list[str]:
        version = (
            await session.execute(
                select(models.FlowVersion).where(
                    models.FlowVersion.flow_id == flow_id, models.FlowVersion.number == 1
                )
            )
        ).scalar_one()
        flow = await session.get(models.Flow, flow_id)
        assert flow is not None
        users = {user.username: user.id for user in (await session.execute(select(models.User))).scalars()}
        ids = []
        for spec in specs:
            at: datetime = spec["at"]
            run = models.Run(
                flow_id=flow_id,
                version_id=version.id,
                version_number=1,
                content_hash=version.content_hash,
                workspace_id=flow.workspace_id,
                started_by=users[spec["by"]] if spec.get("by") else None,
                status=spec["status"],
                is_test=spec.get("is_test", False),
                inputs={"name": "x"},
                outputs={"text": "Hallo x"},
                total_tokens=spec.get("tokens", 0),
                created_at=at,
                finished_at=at + timedelta(seconds=spec["seconds"]) if "seconds" in spec else None,
            )
            session.add(run)
            await session.flush()
            if spec.get("rating"):
                session.add(
                    RunFeedback(
                        run_id=run.id,
                        user_id=run.started_by,
                        rating=spec["rating"],
                        correction=spec.get("correction"),
                    )
                )
            ids.append(run.id)
        await session.flush()
        return ids

    return sc.in_app(add, write=True)


async def _page(sc: Scenario, who: str, flow_id: str, **params: Any) -> dict[str, Any]:
    return expect(await sc.as_(who).get(f"/api/flows/{flow_id}/runs", params=params), 200)  # type: ignore[no-any-return]


async def _ids(sc: Scenario, who: str, flow_id: str, **params: Any) -> list[str]:
    return [run["id"] for run in (await _page(sc, who, flow_id, **params))["runs"]]


async def _viewed(sc: Scenario, run_id: str) -> list[dict[str, Any]]:
    entries = expect(
        await sc.as_("admin").get("/api/audit", params={"action": "run.viewed", "resource_id": run_id}), 200
    )
    return entries  # type: ignore[no-any-return]


async def _thumbs_down(sc: Scenario, run_id: str, correction: str, by: str = "user") -> None:
    body = {"rating": "down", "correction": correction}
    expect(await sc.as_(by).post(f"/api/runs/{run_id}/feedback", json=body), 201)


# -- the list ------------------------------------------------------------------------------------
async def test_an_assistants_runs_are_listed_with_filters_and_pages(sc: Scenario) -> None:
    flow = await sc.live(template_flow(marker="viewer-list"))
    own = await sc.invoke(flow["slug"], {"name": "Ada"})
    await _thumbs_down(sc, own["id"], "Guten Tag, Ada!")
    now = models.utcnow() - timedelta(minutes=1)
    hours = lambda count: timedelta(hours=count)  # noqa: E731 - a short name for the table below
    failed, liked, test, waiting = _insert_runs(
        sc,
        flow["id"],
        [
            {"by": "champion2", "status": "failed", "at": now - hours(1), "seconds": 2, "tokens": 5},
            {"by": "user", "status": "succeeded", "at": now - hours(2), "seconds": 1, "rating": "up"},
            {"by": "champion", "status": "succeeded", "at": now - hours(3), "is_test": True},
            {"by": None, "status": "waiting", "at": now - hours(72)},
        ],
    )
    everything = [own["id"], failed, liked, waiting]

    page = await _page(sc, "champion", flow["id"])
    assert [run["id"] for run in page["runs"]] == everything  # newest first, test runs left out
    assert page["next_before"] is None
    first = page["runs"][0]
    assert first["started_by"] == "user" and first["status"] == "succeeded" and first["version"] == 1
    assert first["feedback"] == "down" and first["has_correction"] is True
    assert first["duration_ms"] is not None and first["duration_ms"] >= 0
    second = page["runs"][1]
    assert (second["started_by"], second["duration_ms"], second["total_tokens"]) == ("champion2", 2000.0, 5)
    assert (second["feedback"], second["has_correction"]) == (None, False)
    assert page["runs"][3]["started_by"] is None and page["runs"][3]["duration_ms"] is None

    with_tests = await _ids(sc, "champion", flow["id"], include_tests="true")
    assert with_tests == [own["id"], failed, liked, test, waiting]
    assert await _ids(sc, "champion", flow["id"], status="failed,waiting") == [failed, waiting]
    both = [("status", "succeeded"), ("status", "waiting")]
    listed = expect(await sc.as_("champion").get(f"/api/flows/{flow['id']}/runs", params=both), 200)
    assert [run["id"] for run in listed["runs"]] == [own["id"], liked, waiting]
    since = (now - timedelta(hours=2, minutes=30)).isoformat()
    assert await _ids(sc, "champion", flow["id"], since=since) == [own["id"], failed, liked]
    day_of_waiting = (now - timedelta(days=3)).date().isoformat()
    assert await _ids(sc, "champion", flow["id"], until=day_of_waiting) == [waiting]  # the day included
    assert await _ids(sc, "champion", flow["id"], has_feedback="true") == [own["id"], liked]
    assert await _ids(sc, "champion", flow["id"], has_feedback="false") == [failed, waiting]
    assert await _ids(sc, "champion", flow["id"], has_correction="true") == [own["id"]]
    assert await _ids(sc, "champion", flow["id"], has_correction="false") == [failed, liked, waiting]

    # Pages of two, by the run cursor: no run twice, none left out; the header says it too.
    seen: list[str] = []
    before: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"before": before} if before else {})}
        response = await sc.as_("board1").get(f"/api/flows/{flow['id']}/runs", params=params)
        body = expect(response, 200)
        seen += [run["id"] for run in body["runs"]]
        before = body["next_before"]
        assert response.headers.get("x-next-before") == before
        if before is None:
            break
    assert seen == everything

    # An end user of the workspace lists their own runs only.
    assert await _ids(sc, "user", flow["id"]) == [own["id"], liked]

    for status, params, code in (
        (400, {"status": "done"}, "invalid_status"),
        (400, {"since": "gestern"}, "bad_date"),
        (400, {"before": "no-such-run"}, "invalid_cursor"),
        (400, {"limit": 0}, "bad_request"),
    ):
        response = await sc.as_("champion").get(f"/api/flows/{flow['id']}/runs", params=params)
        assert expect(response, status)["error"] == code, params


async def test_a_champion_of_another_workspace_and_strangers_get_404(sc: Scenario) -> None:
    flow = await sc.live(template_flow(marker="viewer-other-workspace"))
    run = await sc.invoke(flow["slug"], {"name": "Ada"})
    for who in ("hrchampion", "outsider"):
        assert expect(await sc.as_(who).get(f"/api/flows/{flow['id']}/runs"), 404)["error"] == "not_found"
        for path in ("", "/trace", "/steps/greet", "/test-case"):
            assert expect(await sc.as_(who).get(f"/api/runs/{run['id']}{path}"), 404)["error"] == "not_found"
    expect(await sc.as_("champion").get("/api/flows/no-such-flow/runs"), 404)


async def test_an_end_user_gets_404_for_someone_elses_run(sc: Scenario) -> None:
    await sc.add_person("kim", ("user", "sales"))
    flow = await sc.live(template_flow(marker="viewer-end-users"))
    theirs = await sc.invoke(flow["slug"], {"name": "Ada"}, by="user")
    mine = await sc.invoke(flow["slug"], {"name": "Kim"}, by="kim")
    for path in ("", "/trace", "/steps/greet"):
        refused = expect(await sc.as_("kim").get(f"/api/runs/{theirs['id']}{path}"), 404)
        assert refused["message"] == "run not found"
        expect(await sc.as_("kim").get(f"/api/runs/{mine['id']}{path}"), 200)
    assert await _ids(sc, "kim", flow["id"]) == [mine["id"]]
    # Reading one's own run leaves no trace in the audit; the list none at all.
    assert await _viewed(sc, mine["id"]) == []


# -- one run's trace -----------------------------------------------------------------------------
async def test_the_trace_shows_each_step_and_the_correction_beside_the_answer(
    sc: Scenario, llm: MessagesApiDouble
) -> None:
    document = qa_flow()
    document["nodes"][1]["title"] = "Antwort formulieren"
    flow = await sc.live(document)
    llm.reply("Die Kantine öffnet um 9 Uhr.")
    run = await sc.invoke(flow["slug"], {"question": "Wann öffnet die Kantine?"})
    await _thumbs_down(sc, run["id"], "Die Kantine öffnet um 11:30 Uhr.")

    trace = expect(await sc.as_("champion").get(f"/api/runs/{run['id']}/trace"), 200)
    assert [step["node_id"] for step in trace["steps"]] == ["start", "answer", "end"]
    answer = trace["steps"][1]
    assert (answer["node_type"], answer["title"]) == ("llm", "Antwort formulieren")
    assert answer["status"] == "succeeded"
    assert answer["tokens"] == 19 and answer["duration_ms"] >= 0 and answer["truncated"] is False
    assert answer["inputs"] == {"inputs.question": "Wann öffnet die Kantine?"}
    assert answer["outputs"]["text"] == "Die Kantine öffnet um 9 Uhr."
    assert trace["steps"][0]["title"] == "start"  # no title: its id
    assert trace["outputs"] == {"answer": "Die Kantine öffnet um 9 Uhr."}
    assert trace["inputs"] == {"question": "Wann öffnet die Kantine?"}
    assert (trace["flow_name"], trace["version"], trace["started_by"]) == ("Fragen", 1, "user")
    assert trace["total_tokens"] == 19 and trace["duration_ms"] >= 0
    assert trace["feedback"]["rating"] == "down"
    assert trace["feedback"]["correction"] == "Die Kantine öffnet um 11:30 Uhr."
    assert trace["can_make_test_case"] is True
    board = expect(await sc.as_("board1").get(f"/api/runs/{run['id']}/trace"), 200)
    assert board["can_make_test_case"] is False and board["steps"] == trace["steps"]

    # Reads of someone else's run are audited: who, which run, what; never its content.
    expect(await sc.as_("user").get(f"/api/runs/{run['id']}/trace"), 200)
    expect(await sc.as_("user").get(f"/api/runs/{run['id']}"), 200)
    expect(await sc.as_("salesadmin").get(f"/api/runs/{run['id']}"), 200)
    viewed = await _viewed(sc, run["id"])
    assert sorted((entry["actor"], entry["detail"]["what"]) for entry in viewed) == [
        ("board1", "trace"),
        ("champion", "trace"),
        ("salesadmin", "run"),
    ]
    assert all(entry["detail"]["flow_id"] == flow["id"] for entry in viewed)
    assert "Kantine" not in json.dumps(viewed)


async def test_huge_step_payloads_are_cut_with_a_marker_and_given_in_full_on_request(sc: Scenario) -> None:
    flow = await sc.live(template_flow(marker="viewer-huge"))
    name = "x" * 10_000
    run = await sc.invoke(flow["slug"], {"name": name})
    trace = expect(await sc.as_("champion").get(f"/api/runs/{run['id']}/trace"), 200)
    greet = next(step for step in trace["steps"] if step["node_id"] == "greet")
    assert greet["truncated"] is True and trace["truncated"] is True
    text = greet["outputs"]["text"]
    assert text.startswith("Hallo xxx") and text.endswith(f"… [+{len('Hallo ' + name) - 4000}]")
    assert len(json.dumps(trace)) < 30_000
    full = expect(await sc.as_("champion").get(f"/api/runs/{run['id']}/steps/greet"), 200)
    assert full["outputs"]["text"] == "Hallo " + name and full["inputs"]["inputs.name"] == name
    missing = await sc.as_("champion").get(f"/api/runs/{run['id']}/steps/nope")
    assert expect(missing, 404)["error"] == "not_found"
    assert [entry["detail"]["what"] for entry in await _viewed(sc, run["id"])] == ["step", "trace"]


# -- a correction becomes a test case ------------------------------------------------------------
async def test_a_correction_becomes_a_case_that_fails_now_and_passes_once_the_flow_is_fixed(
    sc: Scenario, llm: MessagesApiDouble
) -> None:
    flow = await sc.live(qa_flow(name="Lieferzeiten"))
    llm.reply("Wir liefern nächste Woche.")
    run = await sc.invoke(flow["slug"], {"question": "Wann liefern Sie nach Ulm?"})
    correction = "Wir liefern morgen früh."
    await _thumbs_down(sc, run["id"], correction)

    proposal = expect(await sc.as_("champion").get(f"/api/runs/{run['id']}/test-case"), 200)
    day = datetime.fromisoformat(run["created_at"]).strftime("%d.%m.%Y")
    assert proposal["name"] == f"Korrektur vom {day} (Lauf {run['id'][:8]})"
    assert proposal["inputs"] == {"question": "Wann liefern Sie nach Ulm?"}
    assert (proposal["output"], proposal["check"], proposal["expected"]) == ("answer", "equals", correction)
    assert proposal["from_correction"] is True and proposal["outputs"] == ["answer"]
    assert proposal["llm_nodes"] == ["answer"] and proposal["fixed"] == [] and proposal["decisions"] == []

    path = f"/api/runs/{run['id']}/test-case"
    etag = {"If-Match": proposal["etag"]}
    response = await sc.as_("champion").post(path, json={"check": "equals"}, headers=etag)
    created = expect(response, 201)
    assert response.headers["etag"] == created["etag"] and created["revision"] == proposal["revision"] + 1
    assert created["index"] == 1 and created["llm_nodes"] == ["answer"]
    draft = expect(await sc.as_("champion").get(f"/api/flows/{flow['id']}/draft"), 200)
    assert draft["validation"]["valid"] is True, draft["validation"]
    case = draft["document"]["tests"][1]
    assert case == created["case"]
    assert case["name"] == proposal["name"] and case["inputs"] == {"question": "Wann liefern Sie nach Ulm?"}
    assert case["expect"] == [{"check": "equals", "output": "answer", "value": correction}]
    assert "fixed" not in case and run["id"] in case["description"]

    # A stale ETag: 412, and nothing is written; none at all: 428.
    stale = await sc.as_("champion").post(path, json={}, headers=etag)
    assert expect(stale, 412)["error"] == "draft_changed"
    assert expect(await sc.as_("champion").post(path, json={}), 428)["error"] == "if_match_required"
    unknown = await sc.as_("champion").post(path, json={"output": "antwort"}, headers={"If-Match": "*"})
    assert expect(unknown, 400)["error"] == "unknown_output"
    unchanged = expect(await sc.as_("champion").get(f"/api/flows/{flow['id']}/draft"), 200)
    assert len(unchanged["document"]["tests"]) == 2 and unchanged["revision"] == created["revision"]

    # A key phrase as `contains`, under a name made unique.
    phrase = {"check": "contains", "expected": "morgen"}
    response = await sc.as_("champion").post(path, json=phrase, headers={"If-Match": created["etag"]})
    second = expect(response, 201)
    assert second["name"] == proposal["name"] + " (2)"
    assert second["case"]["expect"] == [{"check": "contains", "output": "answer", "value": "morgen"}]

    # The next version must pass it: live, it fails with today's answer and passes with the
    # corrected one (the LLM double stands for the improved prompt); in fixed mode the case
    # says that its LLM node must be fixed.
    version = expect(await sc.as_("champion").post(f"/api/flows/{flow['id']}/versions"), 201)
    assert version["number"] == 2
    report = await sc.run_tests(flow["id"], 2, live=True, passed=False)
    assert [case["passed"] for case in report["cases"]] == [True, False, False]
    llm.reply(correction)
    await sc.run_tests(flow["id"], 2, live=True, passed=True)
    fixed = await sc.run_tests(flow["id"], 2, live=False, passed=False)
    assert "llm node 'answer' is not fixed" in json.dumps(fixed["cases"][1])

    entries = expect(
        await sc.as_("admin").get(
            "/api/audit", params={"action": "run.test_case_created", "resource_id": flow["id"]}
        ),
        200,
    )
    assert [entry["detail"]["check"] for entry in entries] == ["contains", "equals"]
    assert entries[1]["detail"]["run_id"] == run["id"] and entries[1]["detail"]["from_correction"] is True
    assert "morgen" not in json.dumps(entries)


async def test_a_run_through_an_approval_becomes_a_case_with_its_decision(sc: Scenario) -> None:
    flow = await sc.live(approval_flow(assignees=("user:champion2",)))
    run = await sc.waiting_run(flow["slug"], customer="Kunz AG")
    decision = {"decision": "approve", "comment": "passt so"}
    expect(await sc.as_("champion2").post(f"/api/tasks/{run['tasks'][0]['id']}/decision", json=decision), 200)
    for _ in range(100):
        finished = expect(await sc.as_("user").get(f"/api/runs/{run['id']}"), 200)
        if finished["status"] != "waiting":
            break
        await asyncio.sleep(0.05)
    assert finished["status"] == "succeeded", finished

    proposal = expect(await sc.as_("champion").get(f"/api/runs/{run['id']}/test-case"), 200)
    # No correction: the run's own output is what a regression case keeps.
    assert proposal["name"].startswith("Lauf vom ") and proposal["from_correction"] is False
    assert (proposal["output"], proposal["expected"]) == ("decision", "approved")
    assert proposal["decisions"] == ["check"] and proposal["llm_nodes"] == []
    created = expect(
        await sc.as_("champion").post(
            f"/api/runs/{run['id']}/test-case", json={}, headers={"If-Match": proposal["etag"]}
        ),
        201,
    )
    assert created["case"]["decisions"]["check"]["decision"] == "approve"
    assert created["case"]["decisions"]["check"]["comment"] == "passt so"
    expect(await sc.as_("champion").post(f"/api/flows/{flow['id']}/versions"), 201)
    report = await sc.run_tests(flow["id"], 2, passed=True)  # fixed mode: nothing asks the LLM
    assert len(report["cases"]) == 2
