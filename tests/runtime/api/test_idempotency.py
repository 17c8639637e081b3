"""Accepted means stored, over HTTP: a 202 names a run that is in the database, and an
`Idempotency-Key` makes a retry answer with the run of the first request instead of
starting a second one (same caller, same key, same request; 24 hours).

Across runtime processes (and with kill -9): tests/runtime/runs/test_accepted_means_stored.py.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar.testing.transport import TestClientTransport as ClientTransport
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import IdempotencyKey, Run, utcnow
from tests.support.messages_api_double import Reply
from tests.support.scenario import (  # noqa: F401 (fixtures sc, llm, shared_app)
    MessagesApiDouble,
    Scenario,
    expect,
    llm_fixture,
    qa_flow,
    sc_fixture,
    shared_app_fixture,
    template_flow,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
KEY = "Idempotency-Key"


def runs_of(sc: Scenario, flow_id: str) -> int:
    count = select(func.count()).select_from(Run).where(Run.flow_id == flow_id)

    async def read(session: AsyncSession) -> int:
        return int((await session.execute(count)).scalar_one())

    return sc.in_app(read)


async def invoke(
    sc: Scenario, slug: str, body: dict[str, Any], key: str | None, by: str = "user"
) -> httpx.Response:
    headers = {KEY: key} if key is not None else {}
    return await sc.as_(by).post(f"/api/assistants/{slug}/runs", json=body, headers=headers)  # type: ignore[no-any-return]


async def test_a_retry_with_the_same_key_answers_with_the_first_run(sc: Scenario) -> None:
    flow = await sc.live(template_flow("Hallo {{ inputs.name }}"))
    body = {"inputs": {"name": "Ada"}}

    first = await invoke(sc, flow["slug"], body, "bestellung-4711")
    again = await invoke(sc, flow["slug"], body, "bestellung-4711")

    assert expect(first, 200)["status"] == "succeeded" and "idempotent-replayed" not in first.headers
    assert expect(again, 200) == first.json()  # the same run, as stored
    assert again.headers["idempotent-replayed"] == "true"
    assert runs_of(sc, flow["id"]) == 1
    # Without a key every request is a run of its own.
    await invoke(sc, flow["slug"], body, None)
    await invoke(sc, flow["slug"], body, None)
    assert runs_of(sc, flow["id"]) == 3


async def test_the_same_key_for_another_request_is_refused(sc: Scenario) -> None:
    flow = await sc.live(template_flow("Hallo {{ inputs.name }}"))
    other = await sc.live(template_flow("Servus {{ inputs.name }}"))
    expect(await invoke(sc, flow["slug"], {"inputs": {"name": "Ada"}}, "k-1"), 200)

    for slug, body in [
        (flow["slug"], {"inputs": {"name": "Grace"}}),  # other inputs
        (flow["slug"], {"inputs": {"name": "Ada"}, "wait_s": 5}),  # other options
        (other["slug"], {"inputs": {"name": "Ada"}}),  # another assistant
    ]:
        refused = expect(await invoke(sc, slug, body, "k-1"), 409)
        assert refused["error"] == "idempotency_key_reused" and "new key" in refused["message"]
    assert runs_of(sc, flow["id"]) == 1 and runs_of(sc, other["id"]) == 0
    # The defaults count as given: the same request spelled out is the same request.
    spelled = {"inputs": {"name": "Ada"}, "stream": False, "wait_s": 60.0, "version": None}
    assert (await invoke(sc, flow["slug"], spelled, "k-1")).headers["idempotent-replayed"] == "true"


async def test_keys_belong_to_their_caller(sc: Scenario) -> None:
    flow = await sc.live(template_flow("Hallo {{ inputs.name }}"))
    body = {"inputs": {"name": "Ada"}}
    mine = expect(await invoke(sc, flow["slug"], body, "gemeinsam", by="user"), 200)
    theirs = expect(await invoke(sc, flow["slug"], body, "gemeinsam", by="champion"), 200)
    assert mine["id"] != theirs["id"] and runs_of(sc, flow["id"]) == 2


@pytest.mark.parametrize(
    "key", ["", "   ", "x" * 256, "schlüssel"], ids=["empty", "blank", "too-long", "umlaut"]
)
async def test_an_unusable_key_is_refused_before_anything_runs(sc: Scenario, key: str) -> None:
    flow = await sc.live(template_flow("Hallo {{ inputs.name }}"))
    headers = {KEY: key.encode("latin-1")}  # as bytes: httpx would refuse the umlaut
    answer = await sc.as_("user").post(
        f"/api/assistants/{flow['slug']}/runs", json={"inputs": {"name": "Ada"}}, headers=headers
    )
    refused = expect(answer, 400)
    assert refused["error"] == "invalid_idempotency_key" and "255" in refused["message"]
    assert runs_of(sc, flow["id"]) == 0


async def test_requests_with_one_key_at_the_same_moment_start_one_run(sc: Scenario) -> None:
    flow = await sc.live(template_flow("Hallo {{ inputs.name }}"))
    barrier = threading.Barrier(4)
    transport = ClientTransport(client=sc.api.client)  # type: ignore[arg-type]
    url = str(sc.api.client.base_url).rstrip("/") + f"/api/assistants/{flow['slug']}/runs"

    def send() -> httpx.Response:
        headers = {**sc.as_("user")._headers(), KEY: "gleichzeitig"}
        request = httpx.Request("POST", url, headers=headers, json={"inputs": {"name": "Ada"}})
        barrier.wait(timeout=10)
        response = transport.handle_request(request)
        response.read()
        return response

    answers = await asyncio.gather(*(asyncio.to_thread(send) for _ in range(4)))
    assert {answer.status_code for answer in answers} <= {200, 202}, [answer.text for answer in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert sum(answer.headers.get("idempotent-replayed") == "true" for answer in answers) == 3
    assert runs_of(sc, flow["id"]) == 1


async def test_a_key_expires_after_a_day_and_the_sweep_deletes_it(sc: Scenario) -> None:
    flow = await sc.live(template_flow("Hallo {{ inputs.name }}"))
    body = {"inputs": {"name": "Ada"}}
    first = expect(await invoke(sc, flow["slug"], body, "gestern"), 200)

    async def key_row(session: AsyncSession) -> IdempotencyKey | None:
        return (
            await session.execute(select(IdempotencyKey).where(IdempotencyKey.run_id == first["id"]))
        ).scalar()

    row = sc.in_app(key_row)
    assert row is not None and timedelta(hours=23) < row.expires_at - row.created_at <= timedelta(hours=24)

    async def age(session: AsyncSession) -> None:
        await session.execute(
            update(IdempotencyKey).where(IdempotencyKey.key == "gestern").values(expires_at=utcnow())
        )

    sc.in_app(age, write=True)
    later = await invoke(sc, flow["slug"], body, "gestern")
    assert expect(later, 200)["id"] != first["id"] and "idempotent-replayed" not in later.headers
    assert sc.in_app(key_row) is None  # the expired key made room for the new one

    sc.in_app(age, write=True)  # the new one expires too; nobody uses it again
    sc.api.client.blocking_portal.call(sc.api.runtime.runs.sweep)
    count = select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.key == "gestern")
    assert sc.in_app(lambda session: session.scalar(count)) == 0


async def test_wait_s_0_answers_202_once_the_run_is_stored(sc: Scenario, llm: MessagesApiDouble) -> None:
    flow = await sc.live(qa_flow())
    llm.reply(Reply("Morgen.", delay_s=1.0))
    answer = expect(await invoke(sc, flow["slug"], {"inputs": {"question": "Wann?"}, "wait_s": 0}, None), 202)
    assert answer["status"] == "running"

    async def status(session: AsyncSession) -> str | None:
        run = await session.get(Run, answer["id"])
        return run.status if run is not None else None

    assert sc.in_app(status) == "running"  # in the database when the 202 arrived
    for _ in range(100):
        if sc.in_app(status) == "succeeded":
            break
        await asyncio.sleep(0.05)
    run = expect(await sc.as_("user").get(f"/api/runs/{answer['id']}"), 200)
    assert run["status"] == "succeeded" and run["outputs"] == {"answer": "Morgen."}


async def test_a_streamed_request_retried_with_its_key_answers_with_its_run(
    sc: Scenario, llm: MessagesApiDouble
) -> None:
    flow = await sc.live(qa_flow())
    llm.reply("Morgen.")
    body = {"inputs": {"question": "Wann?"}, "stream": True}
    streamed = await invoke(sc, flow["slug"], body, "strom")
    assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("text/event-stream")
    again = await invoke(sc, flow["slug"], body, "strom")
    assert expect(again, 200)["id"] == streamed.headers["x-run-id"]  # as JSON: the stream is over
    assert again.json()["outputs"] == {"answer": "Morgen."} and again.headers["idempotent-replayed"] == "true"


async def test_test_runs_take_a_key_too(sc: Scenario) -> None:
    created = await sc.create(template_flow("Hallo {{ inputs.name }}"))
    path = f"/api/flows/{created['id']}/versions/1/runs"
    headers = {KEY: "probe-1"}
    first = expect(
        await sc.as_("champion").post(path, json={"inputs": {"name": "Ada"}}, headers=headers), 200
    )
    again = await sc.as_("champion").post(path, json={"inputs": {"name": "Ada"}}, headers=headers)
    assert expect(again, 200)["id"] == first["id"] and again.headers["idempotent-replayed"] == "true"
    # The key names a test run of this version: the assistant's invocation is another request.
    assert runs_of(sc, created["id"]) == 1


async def test_the_header_is_described_in_the_openapi(sc: Scenario) -> None:
    schema = expect(await sc.as_(None).get("/schema/openapi.json"), 200)
    for path in ("/api/assistants/{slug}/runs", "/api/flows/{flow_id}/versions/{number}/runs"):
        [header] = [item for item in schema["paths"][path]["post"]["parameters"] if item["name"] == KEY]
        assert header["in"] == "header" and header["required"] is False
        assert "24 hours" in header["description"] and "idempotency_key_reused" in header["description"]
