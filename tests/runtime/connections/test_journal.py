"""The call journal, state by state, in one process (the multi-process kill tests are in
test_in_flight.py): an entry is `in_flight` while the call is on its way, a failed call is
not made again, a person's "no" allows one more attempt and no other."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import select, update

from nodes.connector import ConnectorRequest, ConnectorResult, UncertainCall
from runtime.connections.errors import RemoteFailure, SideEffectUncertain
from runtime.connections.models import ConnectionCall
from runtime.connections.service import ConnectionService
from tests.runtime.connections.conftest import SECRET, create_connection
from tests.runtime.connections.servers import HttpTarget
from tests.support.scenario import Scenario

pytestmark = pytest.mark.asyncio(loop_scope="module")
_keys = itertools.count(1)


async def crm(sc: Scenario, http: HttpTarget, **settings: Any) -> str:
    name = f"jcrm{next(_keys)}"
    await create_connection(
        sc,
        name,
        "http",
        {
            "base_url": http.url + "/api",
            "auth": {"type": "bearer"},
            "allowed_methods": ["GET", "POST"],
            "allowed_paths": ["/tasks"],
            **settings,
        },
        {"token": SECRET},
    )
    return name


def request(connection: str, run_id: str, **changes: Any) -> ConnectorRequest:
    return ConnectorRequest(
        run_id=run_id,
        node_id="call",
        idempotency_key=f"{run_id}:call",
        connection=connection,
        action="create_task",
        method="POST",
        path="/tasks",
        body={"title": "Angebot"},
        workspace_id=changes.pop("workspace_id"),
        **changes,
    )


def call(sc: Scenario, service: ConnectionService, req: ConnectorRequest) -> ConnectorResult | UncertainCall:
    return sc.api.client.blocking_portal.call(service.call, req)  # type: ignore[no-any-return]


def entry_of(sc: Scenario, key: str) -> ConnectionCall:
    async def read(session: Any) -> ConnectionCall:
        return (
            await session.execute(select(ConnectionCall).where(ConnectionCall.idempotency_key == key))
        ).scalar_one()

    return sc.in_app(read)


def interrupt(sc: Scenario, key: str) -> None:
    """What a process that died mid-call leaves behind: the entry still `in_flight`."""

    async def back(session: Any) -> None:
        await session.execute(
            update(ConnectionCall)
            .where(ConnectionCall.idempotency_key == key)
            .values(status="in_flight", outputs=None)
        )

    sc.in_app(back, write=True)


def workspace(sc: Scenario) -> str:
    from runtime.db.models import Workspace

    async def find(session: Any) -> str:
        return (await session.execute(select(Workspace.id).where(Workspace.slug == "sales"))).scalar_one()  # type: ignore[no-any-return]

    return sc.in_app(find)


async def test_a_call_is_in_flight_while_it_is_made_and_done_after(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    name = await crm(sc, http)
    seen: list[str] = []
    original = allow_loopback.journal.__class__._settle

    async def settle_and_look(journal: Any, journaled: Any, status: str, outputs: dict[str, Any]) -> None:
        async with journal.db.read() as session:
            row = (
                await session.execute(
                    select(ConnectionCall).where(ConnectionCall.idempotency_key == journaled.key)
                )
            ).scalar_one()
            seen.append(row.status)  # what another process sees while the answer is on its way
        await original(journal, journaled, status, outputs)

    http.route("/api/tasks", status=201, json_body={"id": 5})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(allow_loopback.journal.__class__, "_settle", settle_and_look)
        result = call(sc, allow_loopback, request(name, "j1", workspace_id=workspace(sc)))
    assert isinstance(result, ConnectorResult) and result.status == 201
    assert seen == ["in_flight"]
    entry = entry_of(sc, "j1:call")
    assert (entry.status, entry.attempts, entry.outputs) == (
        "done",
        1,
        {"status": 201, "response": {"id": 5}},
    )
    assert entry.summary == "POST 127.0.0.1/api/tasks (JSON 20 B)" and len(entry.request_digest or "") == 64


async def test_a_failed_call_is_not_made_again(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    # A time-out long enough for a loaded machine to deliver the request (at 0.3 s the
    # client sometimes gave up before the server had read it), and an answer later still.
    name = await crm(sc, http, timeout_s=1.0)
    http.route("/api/tasks", status=201, delay_s=3.0, times=1)  # times out: may have arrived
    req = request(name, "j2", workspace_id=workspace(sc))
    with pytest.raises(RemoteFailure):
        call(sc, allow_loopback, req)
    entry = entry_of(sc, "j2:call")
    assert entry.status == "failed" and entry.outputs is not None and entry.outputs["error"]["message"]
    with pytest.raises(RemoteFailure, match="this call failed before; it is not made again"):
        call(sc, allow_loopback, req)
    assert len(http.requests) == 1


async def test_ask_raises_the_question_once_and_a_no_allows_exactly_one_more_attempt(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    name = await crm(sc, http)
    http.route("/api/tasks", status=201, json_body={"id": 9})
    ws = workspace(sc)
    first = call(sc, allow_loopback, request(name, "j3", workspace_id=ws))
    assert isinstance(first, ConnectorResult)
    interrupt(sc, "j3:call")  # as if the process had died before the answer

    asked = call(sc, allow_loopback, request(name, "j3", workspace_id=ws))
    assert isinstance(asked, UncertainCall)
    question = asked.question
    assert question["question"] == "side_effect_uncertain" and question["editable"] is False
    assert question["payload"]["summary"] == "POST 127.0.0.1/api/tasks (JSON 20 B)"
    assert question["payload"]["call"]["body"] == {"title": "Angebot"}
    assert entry_of(sc, "j3:call").status == "uncertain"
    assert len(http.requests) == 1

    # "no, it did not arrive": one more attempt, same key
    again = call(sc, allow_loopback, request(name, "j3", workspace_id=ws, uncertain_answer="not_sent"))
    assert isinstance(again, ConnectorResult) and again.status == 201
    assert len(http.requests) == 2
    assert (entry_of(sc, "j3:call").status, entry_of(sc, "j3:call").attempts) == ("done", 2)

    # interrupted again after that "no": not asked twice, not sent a third time
    interrupt(sc, "j3:call")
    with pytest.raises(SideEffectUncertain, match="interrupted again") as raised:
        call(sc, allow_loopback, request(name, "j3", workspace_id=ws, uncertain_answer="not_sent"))
    assert raised.value.code == "side_effect_uncertain"
    assert len(http.requests) == 2


async def test_yes_completes_the_call_without_calling(
    sc: Scenario, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    name = await crm(sc, http)
    ws = workspace(sc)
    http.route("/api/tasks", status=201)
    call(sc, allow_loopback, request(name, "j4", workspace_id=ws))
    interrupt(sc, "j4:call")
    assert isinstance(call(sc, allow_loopback, request(name, "j4", workspace_id=ws)), UncertainCall)
    done = call(sc, allow_loopback, request(name, "j4", workspace_id=ws, uncertain_answer="sent"))
    assert isinstance(done, ConnectorResult) and done.status == "confirmed"
    assert done.response["confirmed"] is True
    assert len(http.requests) == 1
    # and it stays done: a later re-run gets the same answer, no call
    assert call(sc, allow_loopback, request(name, "j4", workspace_id=ws)) == done
    assert len(http.requests) == 1
