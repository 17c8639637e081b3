"""Bad input over HTTP: each a clear 4xx with a message, nothing half-written, the audit
chain intact afterwards.

"Nothing half-written" is checked on the database itself: the rows of flows, versions,
reviews, runs, tasks and decisions are counted before and after each refused write.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import update

from runtime.db.models import Run
from runtime.users.service import remove_user
from tests.support.api import PASSWORD
from tests.support.scenario import (  # noqa: F401 (fixtures sc, shared_app)
    Scenario,
    approval_flow,
    expect,
    qa_flow,
    sc_fixture,
    shared_app_fixture,
    template_flow,
    unique_slug,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The error body, after checking the status; every error carries a code and a message."""
    body = expect(response, status)
    assert isinstance(body, dict) and body.get("error") and body.get("message"), body
    return body  # type: ignore[no-any-return]


async def create_raw(sc: Scenario, document: Any, slug: str | None = None, **extra: Any) -> httpx.Response:
    return await sc.as_("champion").post(
        "/api/workspaces/sales/flows",
        json={"name": "Kaputt", "slug": slug or unique_slug("bad"), "document": document, **extra},
    )


# --------------------------------------------------------------------------- documents


async def test_cyclic_document_is_refused_naming_the_cycle(sc: Scenario) -> None:
    cyclic = qa_flow()
    cyclic["edges"].append({"from": "end", "to": "answer"})
    before = await sc.counts()

    body = error_of(await create_raw(sc, cyclic), 422)
    assert body["error"] == "invalid_flow"
    cycle_errors = [e for e in body["errors"] if "cycle" in e["message"]]
    assert {e["node"] for e in cycle_errors} == {"answer", "end"}
    assert "answer → end → answer" in cycle_errors[0]["message"]

    # Saving it as a new version of an existing flow is refused the same way.
    flow = await sc.create(qa_flow())
    before = await sc.counts()
    body = error_of(
        await sc.as_("champion").post(f"/api/flows/{flow['id']}/versions", json={"document": cyclic}), 422
    )
    assert any("cycle" in e["message"] for e in body["errors"])
    assert await sc.counts() == before
    assert [v["number"] for v in await sc.versions(flow["id"])] == [1]

    # The validate endpoint answers 200 with the same errors (it is a question, not a write).
    report = expect(await sc.as_("champion").post("/api/flows/validate", json={"document": cyclic}), 200)
    assert report["valid"] is False and any("cycle" in e["message"] for e in report["errors"])


async def test_oversized_document_is_413(sc: Scenario) -> None:
    before = await sc.counts()
    big = qa_flow()
    big["description"] = "x" * (1024 * 1024 + 1)  # over 1 MiB, under the server's body limit
    body = error_of(await create_raw(sc, big), 413)
    assert "1 MiB" in body["message"]

    huge = qa_flow()
    huge["description"] = "x" * (3 * 1024 * 1024)  # over the server's body limit
    response = await create_raw(sc, huge)
    error_of(response, 413)
    assert await sc.counts() == before


async def test_more_than_2000_nodes_is_refused(sc: Scenario) -> None:
    before = await sc.counts()
    document = template_flow()
    document["nodes"] += [
        {"id": f"n{i}", "type": "template", "config": {"template": "x"}} for i in range(2000)
    ]
    response = await create_raw(sc, document)
    assert response.status_code in (413, 422), response.text
    assert "2000" in response.json()["message"]
    assert await sc.counts() == before


async def test_unknown_node_type_names_the_node_and_the_known_types(sc: Scenario) -> None:
    before = await sc.counts()
    document = qa_flow()
    document["nodes"][1]["type"] = "magic"
    body = error_of(await create_raw(sc, document), 422)
    (error,) = [e for e in body["errors"] if e["field"] == "type"]
    assert error["node"] == "answer"
    assert "unknown node type 'magic'" in error["message"] and "llm" in error["message"]
    assert await sc.counts() == before


async def test_template_injection_fails_the_run_with_a_sandbox_message(sc: Scenario) -> None:
    payload = "{{ ''.__class__.__mro__ }}"
    document = template_flow(payload)
    document["tests"][0]["expect"] = [{"check": "status", "value": "failed"}]  # its case says it fails
    flow = await sc.live(document)
    run = await sc.invoke(flow["slug"], {"name": "x"})
    assert run["status"] == "failed"
    assert run["error"]["node"] == "greet"
    assert "sandbox" in run["error"]["message"]
    assert "__class__" in run["error"]["message"]
    assert run["outputs"] is None
    # The test panel says the same.
    test_run = expect(
        await sc.as_("champion").post(
            f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {"name": "x"}}
        ),
        200,
    )
    assert test_run["status"] == "failed" and "sandbox" in test_run["error"]["message"]


# --------------------------------------------------------------------------- tokens


def token(sc: Scenario, **claims: Any) -> str:
    return jwt.encode(claims, sc.api.runtime.jwt_secret, algorithm="HS256")


async def with_token(sc: Scenario, value: str | None, path: str = "/api/me") -> httpx.Response:
    headers = {"Authorization": f"Bearer {value}"} if value is not None else {}
    return await sc.api.client.get(path, headers=headers)


async def test_missing_invalid_and_forged_tokens_are_401(sc: Scenario) -> None:
    expect(await sc.as_("user").get("/api/me"), 200)
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)
    # The claims of a real token (its session is open): each crafted one differs in one thing.
    real = jwt.decode(sc.api.tokens["user"], options={"verify_signature": False})
    good = {**real, "exp": later, "iat": now}
    board_session = jwt.decode(sc.api.tokens["board1"], options={"verify_signature": False})["jti"]

    def without(name: str) -> dict[str, Any]:
        return {key: value for key, value in good.items() if key != name}

    cases = {
        "missing": None,
        "garbage": "not-a-token",
        "wrong secret": jwt.encode(good, "another-secret-" + "y" * 32, algorithm="HS256"),
        "alg none": jwt.encode(good, key=None, algorithm="none"),
        "expired": token(sc, **{**good, "exp": now - timedelta(minutes=5), "iat": now - timedelta(hours=2)}),
        "unknown user": token(sc, **{**good, "sub": "no-such-user"}),
        "no expiry": token(sc, **without("exp")),
        "no issuer": token(sc, **without("iss")),
        "another issuer": token(sc, **{**good, "iss": "another-dirigent"}),
        "no audience": token(sc, **without("aud")),
        "another audience": token(sc, **{**good, "aud": "another-api"}),
        "no session": token(sc, **without("jti")),
        "unknown session": token(sc, **{**good, "jti": "0" * 32}),
        "another user's session": token(sc, **{**good, "jti": board_session}),
    }
    for name, value in cases.items():
        response = await with_token(sc, value)
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
        body = response.json()
        assert body["error"] == "unauthorized" and "token" in body["message"], (name, body)
    # A header that is not a bearer token at all.
    response = await sc.api.client.get("/api/me", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert response.status_code == 401
    # A well-formed token of the same user and session works (the crafted ones differ only
    # in what is wrong).
    assert (await with_token(sc, token(sc, **good))).status_code == 200


async def test_token_of_a_removed_user_stops_working_at_once(sc: Scenario) -> None:
    await sc.add_person("leaver", ("user", "sales"))
    assert (await sc.as_("leaver").get("/api/me")).status_code == 200
    sc.in_app(lambda session: remove_user(session, "leaver", actor="admin"), write=True)
    for path in ("/api/me", "/api/assistants", "/api/tasks"):
        response = await sc.as_("leaver").get(path)
        assert response.status_code == 401, (path, response.text)
        assert "no longer exists" in response.json()["message"]
    login = await sc.api.client.post("/api/auth/login", json={"username": "leaver", "password": PASSWORD})
    assert login.status_code == 401


# --------------------------------------------------------------------------- four eyes and lifecycle misuse


async def test_approving_ones_own_version_is_refused_with_the_four_eyes_reason(sc: Scenario) -> None:
    # Someone who is champion of sales AND on the board: may build and review, but never their own.
    await sc.add_person("dual", ("champion", "sales"), ("board", None))
    flow = await sc.create(template_flow(), by="dual")
    await sc.submit(flow["id"], by="dual")
    before = await sc.counts()
    body = error_of(
        await sc.as_("dual").post(f"/api/flows/{flow['id']}/versions/1/approve", json={"comment": "passt"}),
        403,
    )
    assert "four eyes" in body["message"] and "authored" in body["message"]
    body = error_of(
        await sc.as_("dual").post(f"/api/flows/{flow['id']}/versions/1/reject", json={"comment": "nein"}), 403
    )
    assert "four eyes" in body["message"]
    assert await sc.counts() == before
    version = expect(await sc.as_("board1").get(f"/api/flows/{flow['id']}/versions/1"), 200)
    assert version["state"] == "submitted" and version["reviews"] == []

    # Submitting someone else's version makes you its submitter: four eyes again.
    other = await sc.create(template_flow(), by="champion")
    await sc.submit(other["id"], by="dual")
    body = error_of(await sc.as_("dual").post(f"/api/flows/{other['id']}/versions/1/approve"), 403)
    assert "four eyes" in body["message"] and "submitted" in body["message"]
    # Another board member may.
    assert (await sc.approve(other["id"], by="board1"))["state"] == "approved"


async def test_deciding_a_task_not_assigned_to_you_is_refused(sc: Scenario) -> None:
    flow = await sc.live(approval_flow(assignees=("user:champion2",)))
    run = await sc.waiting_run(flow["slug"])
    task_id = run["tasks"][0]["id"]
    before = await sc.counts()
    for who, status in (
        ("champion", 404),
        ("user", 404),
        ("board1", 404),
        ("outsider", 404),
        ("salesadmin", 403),
        ("admin", 403),
    ):
        response = await sc.as_(who).post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})
        body = error_of(response, status)
        if status == 403:
            assert "assigned to user:champion2" in body["message"], body
    assert await sc.counts() == before
    task = expect(await sc.as_("champion2").get(f"/api/tasks/{task_id}"), 200)
    assert task["status"] == "open" and task["approvals"] == 0


async def test_double_submit_is_409(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    await sc.submit(flow["id"])
    before = await sc.counts()
    body = error_of(await sc.as_("champion").post(f"/api/flows/{flow['id']}/versions/1/submit"), 409)
    assert "submitted" in body["message"]
    assert await sc.counts() == before


async def test_double_approve_by_the_same_board_member_is_refused(sc: Scenario) -> None:
    # risk: high needs two members; the first approval leaves the version submitted.
    flow = await sc.create(template_flow(risk="high"))
    await sc.submit(flow["id"])
    assert (await sc.approve(flow["id"], by="board1"))["state"] == "submitted"
    before = await sc.counts()
    body = error_of(
        await sc.as_("board1").post(
            f"/api/flows/{flow['id']}/versions/1/approve", json={"comment": "nochmal"}
        ),
        403,
    )
    assert "already reviewed" in body["message"]
    assert await sc.counts() == before
    version = expect(await sc.as_("board1").get(f"/api/flows/{flow['id']}/versions/1"), 200)
    assert version["state"] == "submitted" and len(version["reviews"]) == 1

    # risk: limited — the first approval approves; a second one is refused with a reason.
    limited = await sc.create(template_flow())
    await sc.submit(limited["id"])
    await sc.approve(limited["id"], by="board1")
    response = await sc.as_("board1").post(f"/api/flows/{limited['id']}/versions/1/approve")
    assert response.status_code in (403, 409), response.text
    assert response.json()["message"]


# Races: `sc.race` sends the requests from threads at the same moment (see its docstring);
# each is repeated a few times, since one try may happen to run one request after the other.


def one_winner(responses: list[httpx.Response]) -> httpx.Response:
    """Exactly one 200 and one 409 (with a message); the loser."""
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["message"], loser.text
    return loser


async def test_concurrent_approvals_exactly_one_wins(sc: Scenario) -> None:
    for _ in range(3):
        flow = await sc.create(template_flow())
        await sc.submit(flow["id"])
        path = f"/api/flows/{flow['id']}/versions/1/approve"
        one_winner(
            await sc.race(
                ("board1", "POST", path, {"comment": "a"}), ("board2", "POST", path, {"comment": "b"})
            )
        )
        version = expect(await sc.as_("board1").get(f"/api/flows/{flow['id']}/versions/1"), 200)
        assert version["state"] == "approved"
        assert len(version["reviews"]) == 1  # the loser's review was rolled back with its transition


async def test_concurrent_submits_and_publishes_exactly_one_wins(sc: Scenario) -> None:
    for _ in range(3):
        flow = await sc.create(template_flow())
        await sc.run_tests(flow["id"])
        submit = f"/api/flows/{flow['id']}/versions/1/submit"
        one_winner(await sc.race(("champion", "POST", submit), ("champion2", "POST", submit)))

        await sc.approve(flow["id"])
        publish = f"/api/flows/{flow['id']}/versions/1/publish"
        one_winner(await sc.race(("champion", "POST", publish), ("champion2", "POST", publish)))
        entries = expect(
            await sc.as_("board1").get("/api/audit", params={"action": "version.published", "limit": 1000}),
            200,
        )
        assert sum(1 for e in entries if e["detail"].get("flow_id") == flow["id"]) == 1
        assert (await sc.as_("user").get("/api/assistants")).status_code == 200


async def test_concurrent_decisions_on_one_task_exactly_one_wins(sc: Scenario) -> None:
    flow = await sc.live(approval_flow(assignees=("role:champion",)))  # champion and champion2
    for _ in range(3):
        run = await sc.waiting_run(flow["slug"])
        decision = f"/api/tasks/{run['tasks'][0]['id']}/decision"
        approve = {"decision": "approve", "comment": "passt"}
        loser = one_winner(
            await sc.race(("champion", "POST", decision, approve), ("champion2", "POST", decision, approve))
        )
        assert "approved" in loser.json()["message"] or "same moment" in loser.json()["message"]
        done = await sc.as_("user").get(f"/api/runs/{run['id']}")
        assert done.json()["status"] == "succeeded"
        assert len(done.json()["tasks"][0]["resolution"]["decided_by"]) == 1


async def test_decisions_on_closed_tasks_and_finished_runs_are_409(sc: Scenario) -> None:
    flow = await sc.live(approval_flow(assignees=("role:champion",)))  # any champion of sales

    # Cancelled run: its task is closed.
    run = await sc.waiting_run(flow["slug"])
    expect(await sc.as_("user").post(f"/api/runs/{run['id']}/cancel"), 200)
    before = await sc.counts()
    body = error_of(
        await sc.as_("champion").post(
            f"/api/tasks/{run['tasks'][0]['id']}/decision", json={"decision": "approve"}
        ),
        409,
    )
    assert "cancelled" in body["message"]
    assert await sc.counts() == before

    # Decided task: a second decision (by another assignee) is too late.
    run = await sc.waiting_run(flow["slug"])
    task_id = run["tasks"][0]["id"]
    decided = expect(
        await sc.as_("champion").post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"}), 200
    )
    assert decided["run_status"] == "succeeded"
    before = await sc.counts()
    body = error_of(
        await sc.as_("champion2").post(f"/api/tasks/{task_id}/decision", json={"decision": "reject"}), 409
    )
    assert "approved" in body["message"]
    assert await sc.counts() == before

    # A task still open whose run ended meanwhile (e.g. failed elsewhere): no decision either.
    run = await sc.waiting_run(flow["slug"])
    sc.in_app(
        lambda session: session.execute(update(Run).where(Run.id == run["id"]).values(status="failed")),
        write=True,
    )
    before = await sc.counts()
    body = error_of(
        await sc.as_("champion").post(
            f"/api/tasks/{run['tasks'][0]['id']}/decision", json={"decision": "approve"}
        ),
        409,
    )
    assert "no longer waits" in body["message"]
    assert await sc.counts() == before


async def test_cancelling_a_finished_run_is_409(sc: Scenario) -> None:
    flow = await sc.live(template_flow())
    run = await sc.invoke(flow["slug"], {"name": "Ana"})
    body = error_of(await sc.as_("user").post(f"/api/runs/{run['id']}/cancel"), 409)
    assert "already ended" in body["message"]


async def test_rejection_without_a_comment_is_400(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    await sc.submit(flow["id"])
    before = await sc.counts()
    for body in (None, {"comment": ""}, {"comment": "   "}):
        kwargs = {"json": body} if body is not None else {}
        path = f"/api/flows/{flow['id']}/versions/1/reject"
        error = error_of(await sc.as_("board1").post(path, **kwargs), 400)
        assert "comment" in error["message"]
    assert await sc.counts() == before


# --------------------------------------------------------------------------- request bodies


async def test_malformed_json_bodies_are_400_not_valid_json(sc: Scenario) -> None:
    flow = await sc.live(approval_flow())
    run = await sc.waiting_run(flow["slug"])
    draft = await sc.create(template_flow())
    before = await sc.counts()
    targets = [
        ("champion", "/api/workspaces/sales/flows"),
        ("champion", f"/api/flows/{draft['id']}/versions"),
        ("champion", "/api/flows/validate"),
        ("user", f"/api/assistants/{flow['slug']}/runs"),
        ("champion2", f"/api/tasks/{run['tasks'][0]['id']}/decision"),
        ("admin", "/api/workspaces"),
    ]
    for who, path in targets:
        for raw in (b'{"name": ', b"{'single': 'quotes'}", b"\xff\xfe"):
            response = await sc.as_(who).post(path, content=raw, headers={"Content-Type": "application/json"})
            body = error_of(response, 400)
            assert "not valid JSON" in body["message"], (path, raw, body)
    assert await sc.counts() == before


async def test_unknown_fields_in_bodies_are_400_naming_the_field(sc: Scenario) -> None:
    flow = await sc.live(approval_flow())
    run = await sc.waiting_run(flow["slug"])
    draft = await sc.create(template_flow())
    await sc.submit(draft["id"])
    before = await sc.counts()
    targets = [
        (
            "champion",
            "/api/workspaces/sales/flows",
            {"name": "x", "slug": unique_slug(), "document": template_flow(), "owner": "me"},
            "owner",
        ),
        (
            "champion",
            f"/api/flows/{draft['id']}/versions",
            {"document": template_flow(), "force": True},
            "force",
        ),
        (
            "user",
            f"/api/assistants/{flow['slug']}/runs",
            {"inputs": {"customer": "x"}, "priority": 1},
            "priority",
        ),
        (
            "champion2",
            f"/api/tasks/{run['tasks'][0]['id']}/decision",
            {"decision": "approve", "approved_by": "ceo"},
            "approved_by",
        ),
        ("board1", f"/api/flows/{draft['id']}/versions/1/approve", {"comment": "ok", "quorum": 0}, "quorum"),
        ("admin", "/api/workspaces", {"slug": unique_slug("ws"), "owner": "x"}, "owner"),
    ]
    for who, path, payload, field in targets:
        body = error_of(await sc.as_(who).post(path, json=payload), 400)
        assert field in body["message"], (path, body)
    # A document with a field the schema does not know is a flow error (422), not a half-saved flow.
    document = template_flow()
    document["colour"] = "blue"
    body = error_of(await create_raw(sc, document), 422)
    assert any(e["field"] == "colour" for e in body["errors"]), body
    assert await sc.counts() == before
    assert (
        await sc.api.client.get(
            f"/api/tasks/{run['tasks'][0]['id']}",
            headers={"Authorization": f"Bearer {sc.api.tokens['champion2']}"},
        )
    ).json()["status"] == "open"


async def test_decision_must_be_approve_or_reject(sc: Scenario) -> None:
    flow = await sc.live(approval_flow())
    run = await sc.waiting_run(flow["slug"])
    before = await sc.counts()
    body = error_of(
        await sc.as_("champion2").post(
            f"/api/tasks/{run['tasks'][0]['id']}/decision", json={"decision": "maybe"}
        ),
        400,
    )
    assert "decision" in body["message"]
    # Editing the payload of an approval that does not allow it.
    fixed = await sc.live(approval_flow(editable=False))
    run = await sc.waiting_run(fixed["slug"])
    before = await sc.counts()
    decision = {"decision": "approve", "payload": {"to": "x"}}
    body = error_of(
        await sc.as_("champion2").post(f"/api/tasks/{run['tasks'][0]['id']}/decision", json=decision), 400
    )
    assert "editing" in body["message"]
    assert await sc.counts() == before


async def test_bad_inputs_are_400_listing_each_problem(sc: Scenario) -> None:
    flow = await sc.live(template_flow())
    before = await sc.counts()
    body = error_of(
        await sc.as_("user").post(
            f"/api/assistants/{flow['slug']}/runs", json={"inputs": {"times": "drei", "colour": "blau"}}
        ),
        400,
    )
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"inputs.name", "inputs.times", "inputs.colour"}, body
    assert "'name' is required" in body["message"]
    assert "'times' must be of type integer" in body["message"]
    assert "'colour' is not an input" in body["message"]
    # booleans are not integers; null for a required input is missing
    body = error_of(
        await sc.as_("user").post(
            f"/api/assistants/{flow['slug']}/runs", json={"inputs": {"name": None, "times": True}}
        ),
        400,
    )
    assert {e["field"] for e in body["errors"]} == {"inputs.name", "inputs.times"}
    # `inputs` itself of the wrong type
    error_of(await sc.as_("user").post(f"/api/assistants/{flow['slug']}/runs", json={"inputs": ["Ana"]}), 400)
    # The test panel checks inputs the same way.
    body = error_of(
        await sc.as_("champion").post(f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {}}), 400
    )
    assert "'name' is required" in body["message"]
    assert await sc.counts() == before  # no run was created for any of them


async def test_pinning_a_version_that_is_not_published(sc: Scenario) -> None:
    flow = await sc.live(template_flow())
    await sc.save(flow["id"], template_flow("Servus {{ inputs.name }}"), status=201)  # v2: draft
    before = await sc.counts()
    path = f"/api/assistants/{flow['slug']}/runs"
    body = error_of(await sc.as_("user").post(path, json={"inputs": {"name": "Ana"}, "version": 2}), 409)
    assert "draft" in body["message"] and "published" in body["message"]
    await sc.approved(flow["id"], 2)  # approved, still not published
    body = error_of(await sc.as_("user").post(path, json={"inputs": {"name": "Ana"}, "version": 2}), 409)
    assert "approved" in body["message"]
    error_of(await sc.as_("user").post(path, json={"inputs": {"name": "Ana"}, "version": 99}), 404)
    error_of(await sc.as_("user").post(path, json={"inputs": {"name": "Ana"}, "version": "zwei"}), 400)
    assert await sc.counts() == {**before, "version_reviews": before["version_reviews"] + 1}


async def test_unknown_assistant_and_unknown_ids_are_404(sc: Scenario) -> None:
    before = await sc.counts()
    body = error_of(await sc.as_("user").post("/api/assistants/gibt-es-nicht/runs", json={"inputs": {}}), 404)
    assert "assistant not found" in body["message"]
    for who, method, path in (
        ("user", "GET", "/api/runs/nope"),
        ("user", "POST", "/api/runs/nope/cancel"),
        ("champion2", "GET", "/api/tasks/nope"),
        ("champion2", "POST", "/api/tasks/nope/decision"),
        ("champion", "GET", "/api/flows/nope/versions/1"),
        ("champion", "POST", "/api/flows/nope/versions/1/submit"),
        ("user", "GET", "/api/no-such-endpoint"),
    ):
        kwargs: dict[str, Any] = {"json": {"decision": "approve"}} if path.endswith("decision") else {}
        body = error_of(await sc.as_(who).request(method, path, **kwargs), 404)
        assert "not found" in body["message"] or "no such endpoint" in body["message"], body
    assert await sc.counts() == before


async def test_bad_slugs_and_duplicate_slugs(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    before = await sc.counts()
    body = error_of(await create_raw(sc, template_flow(), slug=flow["slug"]), 409)
    assert body["error"] == "slug_unavailable" and "choose another" in body["message"]
    for bad in ("A", "Groß", "-lead", "x" * 80, "a b"):
        body = error_of(await create_raw(sc, template_flow(), slug=bad), 400)
        assert "slug" in body["message"]
    error_of(await sc.as_("admin").post("/api/workspaces", json={"slug": "sales"}), 409)
    assert await sc.counts() == before
