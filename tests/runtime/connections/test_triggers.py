"""Triggers: signed webhooks start runs of the live version with the posted JSON as inputs;
schedules fire on time, once per due time, however many runtime processes poll."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.connections.http import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from runtime.connections.models import Trigger
from runtime.connections.secrets import MASK
from runtime.db.database import Database
from runtime.db.models import Run, User, utcnow
from runtime.runs.triggers import TriggerService
from tests.runtime.connections.conftest import service_of
from tests.support.scenario import Scenario, expect, template_flow

pytestmark = pytest.mark.asyncio(loop_scope="module")


def signed(secret: str, body: bytes, *, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


async def webhook(sc: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
    flow = await sc.live(template_flow("Hallo {{ inputs.name }}"))
    trigger = expect(
        await sc.as_("champion").post(
            f"/api/assistants/{flow['slug']}/triggers", json={"kind": "webhook", "name": "ERP"}
        ),
        201,
    )
    return flow, trigger


async def test_a_signed_delivery_starts_a_run_with_the_posted_inputs(sc: Scenario) -> None:
    flow, trigger = await webhook(sc)
    secret = trigger["signing"]
    assert trigger["url"] == f"/api/triggers/{trigger['id']}" and len(secret) > 30
    listed = expect(await sc.as_("champion").get(f"/api/assistants/{flow['slug']}/triggers"), 200)
    assert [item["signing"] for item in listed] == [MASK]  # shown once, at creation

    body = json.dumps({"name": "Müller"}).encode()
    answer = expect(await sc.as_(None).post(trigger["url"], content=body, headers=signed(secret, body)), 202)
    run = expect(await sc.as_("champion").get(f"/api/runs/{answer['run_id']}"), 200)
    for _ in range(100):
        if run["status"] == "succeeded":
            break
        await asyncio.sleep(0.05)
        run = expect(await sc.as_("champion").get(f"/api/runs/{answer['run_id']}"), 200)
    assert run["status"] == "succeeded" and run["inputs"]["name"] == "Müller"
    assert run["outputs"] == {"text": "Hallo Müller"}

    async def starter(session: AsyncSession) -> str:
        row = await session.get(Run, answer["run_id"])
        assert row is not None
        return (await session.execute(select(User.username).where(User.id == row.started_by))).scalar_one()

    assert sc.in_app(starter) == "champion"  # on behalf of the trigger's creator
    entries = expect(await sc.as_("board1").get("/api/audit", params={"resource_id": trigger["id"]}), 200)
    assert {"trigger.created", "trigger.fired"} <= {entry["action"] for entry in entries}
    assert secret not in str(entries)


async def test_bad_deliveries_are_refused(sc: Scenario) -> None:
    flow, trigger = await webhook(sc)
    trigger_flow = flow["id"]
    secret, url = trigger["signing"], trigger["url"]
    body = json.dumps({"name": "x"}).encode()

    async def deliver(content: bytes, headers: dict[str, str]) -> Any:
        return await sc.as_(None).post(url, content=content, headers=headers)

    assert (await deliver(body, {"Content-Type": "application/json"})).json()["error"] == "signature_missing"
    assert (await deliver(body, signed("wrong-secret", body))).json()["error"] == "signature_invalid"
    assert (await deliver(b'{"name": "y"}', signed(secret, body))).json()["error"] == "signature_invalid"
    old = signed(secret, body, at=time.time() - 301)
    assert (await deliver(body, old)).status_code == 401 and (await deliver(body, old)).json()[
        "error"
    ] == "signature_expired"
    assert (await deliver(body, signed(secret, body, at=time.time() + 400))).status_code == 401
    fresh = signed(secret, body)
    first = await deliver(body, fresh)
    assert first.status_code == 202 and "idempotent-replayed" not in first.headers
    # The same delivery again (a replay, or the sender's retry after a lost answer) starts
    # nothing: it answers with the run the first one started and stored.
    replay = await deliver(body, fresh)
    assert replay.status_code == 202 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == {"run_id": first.json()["run_id"], "status": "started", "replayed": True}
    count = select(func.count()).select_from(Run).where(Run.flow_id == trigger_flow)
    assert sc.in_app(lambda session: session.scalar(count)) == 1
    assert (await deliver(b"[1, 2]", signed(secret, b"[1, 2]"))).status_code == 400
    assert (await sc.as_(None).post("/api/triggers/nope", content=body, headers=fresh)).status_code == 404


async def test_only_those_who_may_publish_manage_triggers(sc: Scenario) -> None:
    flow = await sc.live(template_flow("x"))
    path = f"/api/assistants/{flow['slug']}/triggers"
    expect(await sc.as_("user").post(path, json={"kind": "webhook"}), 403)
    expect(await sc.as_("outsider").post(path, json={"kind": "webhook"}), 404)
    trigger = expect(await sc.as_("salesadmin").post(path, json={"kind": "webhook"}), 201)
    expect(await sc.as_("user").request("DELETE", f"{path}/{trigger['id']}"), 403)
    expect(await sc.as_("champion").request("DELETE", f"{path}/{trigger['id']}"), 204)
    assert expect(await sc.as_("champion").get(path), 200) == []


async def test_schedules_need_a_valid_cron_and_time_zone(sc: Scenario) -> None:
    flow = await sc.live(template_flow("x"))
    path = f"/api/assistants/{flow['slug']}/triggers"
    assert (
        "cron expression"
        in expect(
            await sc.as_("champion").post(path, json={"kind": "schedule", "cron": "every monday"}), 400
        )["message"]
    )
    assert (
        "time zone"
        in expect(
            await sc.as_("champion").post(
                path, json={"kind": "schedule", "cron": "0 7 * * 1-5", "timezone": "Mars/Olympus"}
            ),
            400,
        )["message"]
    )
    created = expect(
        await sc.as_("champion").post(
            path, json={"kind": "schedule", "cron": "0 7 * * 1-5", "inputs": {"name": "Team"}}
        ),
        201,
    )
    assert created["next_fire_at"] and created["timezone"] == "Europe/Berlin"


async def test_a_schedule_fires_on_time_through_the_runtimes_poller(sc: Scenario) -> None:
    flow = await sc.live(template_flow("Guten Morgen {{ inputs.name }}"))
    created = expect(
        await sc.as_("champion").post(
            f"/api/assistants/{flow['slug']}/triggers",
            json={"kind": "schedule", "cron": "0 7 * * 1-5", "inputs": {"name": "Team"}},
        ),
        201,
    )
    soon = utcnow() + timedelta(seconds=1)

    async def due_soon(session: AsyncSession) -> None:
        await session.execute(update(Trigger).where(Trigger.id == created["id"]).values(next_fire_at=soon))

    sc.in_app(due_soon, write=True)
    for _ in range(100):
        await asyncio.sleep(0.1)
        listed = expect(await sc.as_("champion").get(f"/api/assistants/{flow['slug']}/triggers"), 200)
        if listed[0]["last_run_id"]:
            break
    [trigger] = listed
    assert trigger["last_run_id"], "the schedule did not fire"
    fired_at = trigger["last_fired_at"]
    assert fired_at >= soon.isoformat()[:19]
    assert trigger["next_fire_at"] > soon.isoformat()  # moved on to the next 07:00 on a weekday
    run = expect(await sc.as_("champion").get(f"/api/runs/{trigger['last_run_id']}"), 200)
    assert run["inputs"]["name"] == "Team"


async def test_two_processes_polling_at_once_fire_each_schedule_once(sc: Scenario, tmp_path: Any) -> None:
    """Two pollers with their own database handles race for the same due schedules."""
    flow = await sc.live(template_flow("x {{ inputs.name }}"))
    ids = [
        expect(
            await sc.as_("champion").post(
                f"/api/assistants/{flow['slug']}/triggers",
                json={"kind": "schedule", "cron": "*/5 * * * *", "inputs": {"name": str(n)}},
            ),
            201,
        )["id"]
        for n in range(5)
    ]
    past = utcnow() - timedelta(seconds=5)
    service = service_of(sc)
    runtime = sc.api.runtime

    async def race() -> list[list[str]]:
        # The app's own poller (every second) would be a third racer that may claim one of
        # the five: stopped, so the two below are the only ones.
        assert runtime.triggers is not None
        await runtime.triggers.stop()
        async with runtime.db.write() as session:
            await session.execute(update(Trigger).where(Trigger.id.in_(ids)).values(next_fire_at=past))
        # a second process: its own engine and connections to the same database
        other = Database(runtime.db.url)
        try:
            first = TriggerService(service.db, service.box, service.authz)
            second = type(first)(other, service.box, service.authz)
            return list(await asyncio.gather(first.fire_due(runtime.runs), second.fire_due(runtime.runs)))
        finally:
            await other.dispose()

    results = sc.api.client.blocking_portal.call(race)
    started = [run_id for result in results for run_id in result]

    async def fired(session: AsyncSession) -> list[Any]:
        return list((await session.execute(select(Trigger.last_run_id).where(Trigger.id.in_(ids)))).scalars())

    assert len(started) == 5, results
    assert sorted(sc.in_app(fired)) == sorted(started)


async def test_a_webhook_can_be_paused_and_its_key_rotated(sc: Scenario) -> None:
    flow, trigger = await webhook(sc)
    path = f"/api/assistants/{flow['slug']}/triggers/{trigger['id']}"
    body = json.dumps({"name": "x"}).encode()
    paused = expect(await sc.as_("champion").request("PATCH", path, json={"enabled": False}), 200)
    assert paused["enabled"] is False and paused["signing"] == MASK
    assert (
        await sc.as_(None).post(trigger["url"], content=body, headers=signed(trigger["signing"], body))
    ).status_code == 404
    rotated = expect(
        await sc.as_("champion").request("PATCH", path, json={"enabled": True, "rotate_secret": True}), 200
    )
    assert rotated["signing"] not in (MASK, trigger["signing"])
    old = await sc.as_(None).post(trigger["url"], content=body, headers=signed(trigger["signing"], body))
    assert old.status_code == 401
    new = await sc.as_(None).post(trigger["url"], content=body, headers=signed(rotated["signing"], body))
    assert new.status_code == 202
    assert (
        "no schedule"
        in expect(await sc.as_("champion").request("PATCH", path, json={"cron": "* * * * *"}), 400)["message"]
    )


async def test_a_schedule_can_be_rescheduled_and_paused(sc: Scenario) -> None:
    flow = await sc.live(template_flow("x"))
    base = f"/api/assistants/{flow['slug']}/triggers"
    created = expect(
        await sc.as_("champion").post(base, json={"kind": "schedule", "cron": "0 7 * * 1-5"}), 201
    )
    changed = expect(
        await sc.as_("champion").request(
            "PATCH",
            f"{base}/{created['id']}",
            json={"cron": "30 6 * * *", "timezone": "UTC", "inputs": {"name": "Frühschicht"}},
        ),
        200,
    )
    assert changed["cron"] == "30 6 * * *" and changed["timezone"] == "UTC"
    assert changed["next_fire_at"].endswith("06:30:00+00:00") and changed["inputs"] == {"name": "Frühschicht"}
    paused = expect(
        await sc.as_("champion").request("PATCH", f"{base}/{created['id']}", json={"enabled": False}), 200
    )
    assert paused["enabled"] is False
    assert (
        "signing key"
        in expect(
            await sc.as_("champion").request(
                "PATCH", f"{base}/{created['id']}", json={"rotate_secret": True}
            ),
            400,
        )["message"]
    )
