"""`GET /api/monitoring`: exact figures over a seeded history (two past days), the same
figures from real runs of today (LLM, approvals, a connector against a local HTTP server,
feedback through the API), who may read it, and bad queries.

The history is written with the app's own session (`Scenario.in_app`): runs with chosen
days, durations, statuses and tasks that the engine cannot produce on demand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.db.models import ApprovalTask, Flow, FlowVersion, Run, RunStep, User, new_id
from tests.runtime.connections.servers import HttpTarget
from tests.support.messages_api_double import DEFAULT_USAGE, MessagesApiDouble
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

D1, D2 = "2026-03-02", "2026-03-03"


def at(day: str, hh: int, mm: int = 0, ms: int = 0) -> datetime:
    return datetime.fromisoformat(f"{day}T{hh:02d}:{mm:02d}:00+00:00") + timedelta(milliseconds=ms)


async def report(sc: Scenario, by: str = "champion", **params: str) -> dict[str, Any]:
    return expect(await sc.as_(by).get("/api/monitoring", params={"workspace": "sales", **params}), 200)  # type: ignore[no-any-return]


def day_of(body: dict[str, Any], day: str) -> dict[str, Any]:
    [point] = [point for point in body["daily"] if point["day"] == day]
    return point


# --------------------------------------------------------------------------- seeded history


async def seed_history(sc: Scenario) -> str:
    """Ten runs on D1 and D2 of one flow, three that must not count; returns the flow id."""
    flow = await sc.create(template_flow())

    async def write(session: AsyncSession) -> None:
        version = (
            await session.execute(select(FlowVersion).where(FlowVersion.flow_id == flow["id"]))
        ).scalar_one()
        workspace_id = (
            await session.execute(select(Flow.workspace_id).where(Flow.id == flow["id"]))
        ).scalar_one()
        people = dict((await session.execute(select(User.username, User.id))).tuples().all())
        for name, (who, status, start, ms, tokens, *test) in {
            "r1": ("user", "succeeded", at(D1, 9), 100, 10),
            "r2": ("user", "succeeded", at(D1, 10), 200, 20),
            "r3": ("user", "succeeded", at(D1, 11), 300, 30),
            "r4": ("user", "succeeded", at(D1, 23, 59), 400, 40),
            "r5": (None, "failed", at(D1, 12), 1000, 0),  # a schedule: role "system"
            "r6": ("admin", "cancelled", at(D2, 0), 50, 0),  # global admin: role "admin"
            "r7": ("outsider", "expired", at(D2, 8), 99_000, 0),  # hr user (audience): "external"
            "r8": ("champion", "succeeded", at(D2, 10), 61_000, 5),
            "r9": ("champion", "waiting", at(D2, 11), None, 0),
            "r10": ("user", "succeeded", at(D2, 12), 121_000, 0),
            "test": ("champion", "succeeded", at(D1, 9), 5, 999, True),  # test panel: not counted
            "before": ("user", "succeeded", at("2026-03-01", 23, 59), 5, 999),  # outside the range
            "after": ("user", "failed", at("2026-03-04", 0), 5, 999),
        }.items():
            ids[name] = new_id()
            session.add(
                Run(
                    id=ids[name],
                    flow_id=flow["id"],
                    version_id=version.id,
                    version_number=1,
                    content_hash=version.content_hash,
                    workspace_id=workspace_id,
                    is_test=bool(test),
                    started_by=people[who] if who else None,
                    status=status,
                    inputs={"name": name},
                    total_tokens=tokens,
                    created_at=start,
                    started_at=start,
                    finished_at=start + timedelta(milliseconds=ms) if ms is not None else None,
                )
            )
        await session.flush()

        def task(run_name: str, status: str, raised: datetime, wait_s: float | None) -> None:
            session.add(
                ApprovalTask(
                    run_id=ids[run_name],
                    node_id="check",
                    workspace_id=workspace_id,
                    title="Freigabe",
                    request={},
                    assignees=["user:champion2"],
                    status=status,
                    created_at=raised,
                    resolved_at=raised + timedelta(seconds=wait_s) if wait_s is not None else None,
                )
            )

        task("r7", "expired", at(D2, 8), 99)  # an expiry is no decision: not in the median wait
        task("r8", "approved", at(D2, 10), 60)
        task("r9", "open", at(D2, 11), None)
        task("r10", "rejected", at(D2, 12), 120)
        task("after", "approved", at("2026-03-04", 0), 1)
        for run_name, node, node_type, status in [
            ("r1", "crm", "connector", "succeeded"),
            ("r5", "crm", "connector", "failed"),
            ("r2", "crm", "connector", "skipped"),
            ("r3", "greet", "template", "succeeded"),
            ("before", "crm", "connector", "succeeded"),
        ]:
            session.add(RunStep(run_id=ids[run_name], node_id=node, node_type=node_type, status=status))

    ids: dict[str, str] = {}
    sc.in_app(write, write=True)
    # Feedback the way people give it.
    expect(
        await sc.as_("user").post(
            f"/api/runs/{ids['r1']}/feedback", json={"rating": "down", "correction": "Falscher Kunde."}
        ),
        201,
    )
    expect(await sc.as_("user").post(f"/api/runs/{ids['r2']}/feedback", json={"rating": "up"}), 201)
    expect(await sc.as_("champion").post(f"/api/runs/{ids['r8']}/feedback", json={"rating": "up"}), 201)
    expect(await sc.as_("user").post(f"/api/runs/{ids['before']}/feedback", json={"rating": "up"}), 201)
    return str(flow["id"])


async def test_exact_figures_over_a_seeded_history(sc: Scenario) -> None:
    flow_id = await seed_history(sc)
    body = await report(sc, since=D1, until=D2, flow=flow_id)

    assert body["workspace"] == "sales" and body["flow"] == flow_id
    assert (body["since"], body["until"]) == ("2026-03-02T00:00:00+00:00", "2026-03-04T00:00:00+00:00")
    assert body["days"] == [D1, D2]
    assert body["summary"] == {
        "runs": {
            "total": 10,
            "succeeded": 6,
            "failed": 1,
            "waiting": 1,
            "cancelled": 1,
            "expired": 1,
            "running": 0,
        },
        "success_rate": 0.8571,
        "latency_ms": {"p50": 300.0, "p95": 880.0, "count": 5},  # r1-r5; runs that waited for a person not
        "tokens": 105,
        "feedback": {"count": 3, "up": 2, "down": 1, "corrections": 1, "rate": 0.3333, "up_share": 0.6667},
        "approvals": {
            "raised": 4,
            "approved": 1,
            "rejected": 1,
            "expired": 1,
            "open": 1,
            "cancelled": 0,
            "approval_rate": 0.5,
            "median_wait_s": 90.0,
        },
        "automated_actions": {"connector_calls": 2, "failed": 1},
    }
    assert body["daily"] == [
        {
            "day": D1,
            "runs": 5,
            "succeeded": 4,
            "failed": 1,
            "waiting": 0,
            "cancelled": 0,
            "expired": 0,
            "running": 0,
            "tokens": 100,
            "p50_ms": 300.0,
            "p95_ms": 880.0,
            "feedback_up": 1,
            "feedback_down": 1,
            "corrections": 1,
            "tasks_raised": 0,
            "tasks_approved": 0,
            "tasks_rejected": 0,
            "tasks_expired": 0,
            "tasks_open": 0,
            "tasks_cancelled": 0,
            "median_wait_s": None,
            "connector_calls": 2,
            "connector_failed": 1,
        },
        {
            "day": D2,
            "runs": 5,
            "succeeded": 2,
            "failed": 0,
            "waiting": 1,
            "cancelled": 1,
            "expired": 1,
            "running": 0,
            "tokens": 5,
            "p50_ms": None,
            "p95_ms": None,
            "feedback_up": 1,
            "feedback_down": 0,
            "corrections": 0,
            "tasks_raised": 4,
            "tasks_approved": 1,
            "tasks_rejected": 1,
            "tasks_expired": 1,
            "tasks_open": 1,
            "tasks_cancelled": 0,
            "median_wait_s": 90.0,
            "connector_calls": 0,
            "connector_failed": 0,
        },
    ]
    [assistant] = body["assistants"]
    assert {key: assistant[key] for key in ("flow_id", "name", "live_version")} == {
        "flow_id": flow_id,
        "name": "Gruss",
        "live_version": None,
    }
    assert assistant["summary"] == body["summary"] and assistant["daily"] == body["daily"]

    roles = {group["role"]: group for group in body["roles"]}
    assert [group["role"] for group in body["roles"]] == ["user", "champion", "admin", "external", "system"]
    assert {role: group["summary"]["runs"]["total"] for role, group in roles.items()} == {
        "user": 5,
        "champion": 2,
        "admin": 1,
        "external": 1,
        "system": 1,
    }
    assert roles["user"]["summary"]["latency_ms"] == {"p50": 250.0, "p95": 385.0, "count": 4}
    assert roles["user"]["summary"]["feedback"]["count"] == 2
    assert roles["champion"]["summary"]["approvals"]["approved"] == 1
    assert roles["system"]["daily"][0]["connector_failed"] == 1
    assert [point["day"] for point in roles["admin"]["daily"]] == [D1, D2]


async def test_the_workspace_view_lists_idle_live_assistants_with_zeros(sc: Scenario) -> None:
    idle = await sc.live(template_flow())
    body = await report(sc, since="2020-01-01", until="2020-01-03")
    entry = next(a for a in body["assistants"] if a["flow_id"] == idle["id"])
    assert entry["live_version"] == 1 and entry["slug"] == idle["slug"]
    assert entry["summary"]["runs"]["total"] == 0 and entry["summary"]["latency_ms"]["p50"] is None
    assert [point["runs"] for point in entry["daily"]] == [0, 0, 0]
    assert body["roles"] == [] and body["summary"]["runs"]["total"] == 0


# --------------------------------------------------------------------------- today, from real runs


@pytest.fixture(scope="module")
def target() -> Iterator[HttpTarget]:
    with HttpTarget() as server:
        yield server


async def test_real_runs_of_today_are_counted(
    sc: Scenario, llm: MessagesApiDouble, target: HttpTarget
) -> None:
    today = datetime.now(UTC).date().isoformat()

    # An LLM assistant: two answers and one failure for `user`, one answer for `champion`.
    qa = await sc.live(qa_flow())
    for _ in range(2):
        assert (await sc.invoke(qa["slug"], {"question": "?"}))["status"] == "succeeded"
    llm.reply("kaputt", status=500)
    failed = await sc.invoke(qa["slug"], {"question": "?"})
    assert failed["status"] == "failed"
    llm.reply("Antwort.")
    answered = await sc.invoke(qa["slug"], {"question": "?"}, by="champion")
    expect(
        await sc.as_("champion").post(
            f"/api/runs/{answered['id']}/feedback", json={"rating": "down", "correction": "Zu knapp."}
        ),
        201,
    )
    # Test-panel runs do not count.
    expect(
        await sc.as_("champion").post(
            f"/api/flows/{qa['id']}/versions/1/runs", json={"inputs": {"question": "?"}}
        ),
        200,
    )

    body = await report(sc, flow=qa["id"])
    assert len(body["days"]) == 30 and body["days"][-1] == today
    point = day_of(body, today)
    tokens = DEFAULT_USAGE["prompt_tokens"] + DEFAULT_USAGE["completion_tokens"]
    assert (point["runs"], point["succeeded"], point["failed"], point["tokens"]) == (4, 3, 1, 3 * tokens)
    assert (point["feedback_down"], point["corrections"]) == (1, 1)
    summary = body["summary"]
    assert (
        summary["latency_ms"]["count"] == 4
        and 0 < summary["latency_ms"]["p50"] <= summary["latency_ms"]["p95"]
    )
    assert summary["success_rate"] == 0.75
    roles = {group["role"]: group["summary"]["runs"] for group in body["roles"]}
    assert roles == {
        "user": {**roles["user"], "total": 3, "failed": 1},
        "champion": {**roles["champion"], "total": 1, "succeeded": 1},
    }

    # Approvals: one approved, one rejected, one left waiting.
    approval = await sc.live(approval_flow(assignees=("user:champion2",)))
    runs = [await sc.waiting_run(approval["slug"]) for _ in range(3)]
    for run, decision in zip(runs, ("approve", "reject"), strict=False):
        expect(
            await sc.as_("champion2").post(
                f"/api/tasks/{run['tasks'][0]['id']}/decision", json={"decision": decision}
            ),
            200,
        )
    body = await report(sc, flow=approval["id"], since=today)
    assert body["days"] == [today]
    approvals = body["summary"]["approvals"]
    assert {key: approvals[key] for key in ("raised", "approved", "rejected", "open")} == {
        "raised": 3,
        "approved": 1,
        "rejected": 1,
        "open": 1,
    }
    assert approvals["approval_rate"] == 0.5 and approvals["median_wait_s"] >= 0
    assert body["summary"]["runs"]["waiting"] == 1 and body["summary"]["latency_ms"]["count"] == 0

    # Automated actions: a connector posting to a local CRM, twice.
    service = sc.api.runtime.services["connections"]
    guard, service.guard = service.guard, EgressGuard(EgressPolicy.parse("127.0.0.1"))
    try:
        target.route("/api/tasks", status=201, json_body={"id": 1})
        expect(
            await sc.as_("admin").post(
                "/api/workspaces/sales/connections",
                json={
                    "name": "crm-monitoring",
                    "kind": "http",
                    "secrets": {},
                    "settings": {
                        "base_url": target.url + "/api",
                        "allowed_methods": ["POST"],
                        "allowed_paths": ["/tasks"],
                    },
                },
            ),
            201,
        )
        document = template_flow()
        document["nodes"][1] = {
            "id": "greet",
            "type": "connector",
            "config": {
                "connection": "crm-monitoring",
                "action": "create_task",
                "method": "POST",
                "path": "/tasks",
                "body": "{}",
            },
        }
        document["outputs"] = {"text": "{{ greet.status }}"}
        # Test cases never call connections: the connector's answer is fixed in them.
        document["tests"][0]["fixed"] = {"greet": {"status": 201, "response": {"id": 1}}}
        crm = await sc.live(document)
        for _ in range(2):
            assert (await sc.invoke(crm["slug"], {"name": "Ana"}))["status"] == "succeeded"
    finally:
        service.guard = guard
    body = await report(sc, flow=crm["id"], since=today)
    assert body["summary"]["automated_actions"] == {"connector_calls": 2, "failed": 0}
    assert day_of(body, today)["connector_calls"] == 2 and len(target.requests) == 2


# --------------------------------------------------------------------------- who, and bad queries


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("champion", 200),
        ("salesadmin", 200),
        ("admin", 200),
        ("board1", 200),
        ("user", 403),
        ("outsider", 404),
        ("hrchampion", 404),
        (None, 401),
    ],
)
async def test_who_may_read_the_monitoring(sc: Scenario, who: str | None, status: int) -> None:
    response = await sc.as_(who).get("/api/monitoring", params={"workspace": "sales"})
    body = expect(response, status)
    if status == 403:
        assert body["message"] == (
            "you may not read the monitoring of this workspace; it needs the role "
            "champion or admin in it, or the global role board"
        )
    if status == 404:
        assert body["message"] == "workspace not found"


async def bad(sc: Scenario, params: dict[str, str], status: int = 400) -> dict[str, Any]:
    response: httpx.Response = await sc.as_("champion").get("/api/monitoring", params=params)
    body = expect(response, status)
    assert body["error"] and body["message"], body
    return body  # type: ignore[no-any-return]


async def test_bad_queries_are_refused_with_words(sc: Scenario) -> None:
    assert (await bad(sc, {}))["error"] == "workspace_required"
    assert (await bad(sc, {"workspace": "nowhere"}, 404))["message"] == "workspace not found"
    body = await bad(sc, {"workspace": "sales", "since": "letzte Woche"})
    assert body["error"] == "bad_date" and body["message"].startswith("since: expected an ISO date")
    body = await bad(sc, {"workspace": "sales", "until": "2026-02-30"})
    assert body["error"] == "bad_date" and "'2026-02-30'" in body["message"]
    body = await bad(sc, {"workspace": "sales", "since": "2026-03-05", "until": "2026-03-01"})
    assert body["error"] == "bad_range"
    body = await bad(sc, {"workspace": "sales", "since": "2025-01-01", "until": "2026-06-30"})
    assert body["error"] == "range_too_long" and "at most 366" in body["message"]
    body = await bad(sc, {"workspace": "sales", "flow": "no-such-flow"}, 404)
    assert body["message"] == "flow 'no-such-flow' not found in workspace 'sales'"
    hr_flow = await sc.create(template_flow(), by="hrchampion", workspace="hr")
    body = await bad(sc, {"workspace": "sales", "flow": hr_flow["id"]}, 404)
    assert "not found in workspace 'sales'" in body["message"]
