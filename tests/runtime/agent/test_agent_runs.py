"""The `agent` node in runs, through the API: the model is the Messages API double (its
tool calls scripted per test), connections call a real HTTP server on 127.0.0.1, knowledge
is an embedded index with a fast fake embedding model."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest

from runtime.connections.service import ConnectionService
from tests.runtime.connections.conftest import SECRET, create_connection
from tests.runtime.connections.servers import HttpTarget
from tests.runtime.knowledge.conftest import upload
from tests.support.messages_api_double import MessagesApiDouble, Reply, tool_call
from tests.support.scenario import Scenario, expect

pytestmark = pytest.mark.asyncio(loop_scope="module")
_names = itertools.count(1)


def agent_flow(tools: list[dict[str, Any]], *, risk: str = "limited", **config: Any) -> dict[str, Any]:
    return {
        "schema": "dirigent.flow/v1",
        "name": "Agent",
        "inputs": {"question": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {
                "id": "agent",
                "type": "agent",
                "config": {
                    "system": "Du hilfst dem Vertrieb.",
                    "prompt": "{{ inputs.question }}",
                    "tools": tools,
                    **config,
                },
            },
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "agent"}, {"from": "agent", "to": "end"}],
        "outputs": {"answer": "{{ agent.text }}"},
        "card": {"purpose": "Vertrieb unterstützen", "risk": risk, "owner": "Vertrieb"},
    }


def crm_tool(connection: str, name: str = "read_task", method: str = "GET", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "connection",
        "name": name,
        "description": "Liest oder ändert Aufgaben im CRM",
        "connection": connection,
        "method": method,
        "path": "/tasks/{id}",
        "parameters": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "note": {"type": "string"}},
            "required": ["id"],
        },
        **extra,
    }


async def crm(sc: Scenario, http: HttpTarget, methods: tuple[str, ...] = ("GET", "POST")) -> str:
    name = f"crm{next(_names)}"
    await create_connection(
        sc,
        name,
        "http",
        {
            "base_url": http.url + "/api",
            "auth": {"type": "bearer"},
            "allowed_methods": list(methods),
            "allowed_paths": ["/tasks"],
            "retries": 0,
        },
        {"token": SECRET},
        test_target=True,
    )
    return name


async def start(sc: Scenario, document: dict[str, Any], question: str = "Was ist offen?") -> dict[str, Any]:
    flow = await sc.create(document)
    return expect(  # type: ignore[no-any-return]
        await sc.as_("champion").post(
            f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {"question": question}, "wait_s": 30}
        ),
        200,
    )


async def run_after(sc: Scenario, run_id: str, *, status: str | None = None) -> dict[str, Any]:
    """The run once it is no longer running (it may wait for a person again)."""
    for _ in range(300):
        run = expect(await sc.as_("champion").get(f"/api/runs/{run_id}"), 200)
        if run["status"] != "running" and (status is None or run["status"] == status):
            return run  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} is still {run['status']}")


async def decide(sc: Scenario, task_id: str, decision: str, comment: str = "") -> dict[str, Any]:
    return expect(  # type: ignore[no-any-return]
        await sc.as_("champion2").post(
            f"/api/tasks/{task_id}/decision", json={"decision": decision, "comment": comment}
        ),
        200,
    )


def agent_step(run: dict[str, Any]) -> dict[str, Any]:
    [step] = [step for step in run["steps"] if step["node_id"] == "agent"]
    return step  # type: ignore[no-any-return]


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [message for message in request["messages"] if message["role"] == "tool"]


# -- knowledge --------------------------------------------------------------------------------
async def test_a_knowledge_tool_finds_passages_that_become_the_answers_sources(
    sc: Scenario, llm: MessagesApiDouble
) -> None:
    index = expect(
        await sc.as_("champion").post(
            "/api/workspaces/sales/knowledge", json={"name": f"handbuch{next(_names)}"}
        ),
        201,
    )
    await upload(
        sc.api,
        index["id"],
        [
            ("urlaub.txt", b"Urlaub: Jede Vollzeitkraft hat 30 Tage Urlaub im Jahr."),
            ("kantine.txt", b"Die Kantine hat montags bis freitags von 11 bis 14 Uhr offen."),
        ],
    )
    tool = {
        "kind": "knowledge",
        "name": "handbuch",
        "description": "Sucht im Handbuch",
        "index": index["name"],
        "top_k": 1,
    }
    llm.script(
        Reply(tool_calls=[tool_call("handbuch", {"query": "Tage Urlaub Jahr"})]), "Es sind 30 Tage [1]."
    )

    run = await start(sc, agent_flow([tool]), "Wie viele Tage Urlaub habe ich?")

    assert run["status"] == "succeeded", run["error"]
    assert run["outputs"] == {"answer": "Es sind 30 Tage [1]."}
    outputs = agent_step(run)["outputs"]
    assert [source["source"] for source in outputs["sources"]] == ["urlaub.txt"]
    assert [(step["kind"], step.get("tool"), step.get("status")) for step in outputs["steps"]] == [
        ("model", None, None),
        ("tool", "handbuch", "succeeded"),
        ("model", None, None),
    ]
    first, second = llm.requests
    assert [tool["function"]["name"] for tool in first["tools"]] == ["handbuch"]
    [answered] = tool_messages(second)
    assert "30 Tage Urlaub" in answered["content"] and "urlaub.txt" in answered["content"]
    assert outputs["usage"]["total_tokens"] == 2 * 19  # the double's usage, twice


# -- connections ------------------------------------------------------------------------------
async def test_a_connection_tool_calls_the_server_and_the_model_reads_the_answer(
    sc: Scenario, llm: MessagesApiDouble, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    connection = await crm(sc, http)
    http.route("/api/tasks/7", json_body={"id": 7, "title": "Angebot nachfassen", "state": "open"})
    llm.script(Reply(tool_calls=[tool_call("read_task", {"id": 7, "note": "kurz"})]), "Aufgabe 7 ist offen.")

    run = await start(sc, agent_flow([crm_tool(connection)]))

    assert run["status"] == "succeeded", run["error"]
    [request] = http.requests
    assert (request.method, request.path) == ("GET", "/api/tasks/7?note=kurz")
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    [answered] = tool_messages(llm.requests[1])
    assert json.loads(answered["content"])["response"]["title"] == "Angebot nachfassen"
    audit = expect(
        await sc.as_("board1").get("/api/audit", params={"action": "connection.called", "limit": 50}), 200
    )
    assert any(
        entry["detail"].get("run_id") == run["id"] and entry["detail"].get("action") == "read_task"
        for entry in audit
    )


class Stamped(list):  # type: ignore[type-arg]
    """The HTTP server's list of requests, noting when each arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[float] = []

    def append(self, item: Any) -> None:
        self.arrived.append(time.monotonic())
        super().append(item)


@pytest.mark.timing
async def test_two_calls_of_one_turn_run_at_the_same_time(
    sc: Scenario, llm: MessagesApiDouble, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    connection = await crm(sc, http)
    http.requests = stamped = Stamped()
    for number in (1, 2):
        http.route(f"/api/tasks/{number}", json_body={"id": number}, delay_s=1.0)
    llm.script(
        Reply(tool_calls=[tool_call("read_task", {"id": 1}), tool_call("read_task", {"id": 2})]),
        "Beide gelesen.",
    )

    run = await start(sc, agent_flow([crm_tool(connection)]))

    assert run["status"] == "succeeded", run["error"]
    assert sorted(request.path for request in stamped) == ["/api/tasks/1", "/api/tasks/2"]
    first, second = stamped.arrived
    assert second - first < 0.8  # one after the other, the second would come a second later
    tools = [entry for entry in agent_step(run)["outputs"]["steps"] if entry["kind"] == "tool"]
    assert [entry["status"] for entry in tools] == ["succeeded", "succeeded"]


async def test_a_call_the_connection_does_not_allow_is_refused_and_the_model_is_told(
    sc: Scenario, llm: MessagesApiDouble, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    connection = await crm(sc, http, methods=("GET",))
    tool = crm_tool(connection, "close_task", "PUT", approve="never")
    llm.script(Reply(tool_calls=[tool_call("close_task", {"id": 3})]), "Das ging nicht.")

    run = await start(sc, agent_flow([tool], risk="minimal"))

    assert run["status"] == "succeeded", run["error"]
    assert http.requests == []
    [answered] = tool_messages(llm.requests[1])
    assert "PUT" in answered["content"] and "error" in json.loads(answered["content"])
    [failed] = [entry for entry in agent_step(run)["outputs"]["steps"] if entry["kind"] == "tool"]
    assert failed["status"] == "failed"


# -- budgets ----------------------------------------------------------------------------------
async def test_max_steps_ends_the_loop_with_an_error_naming_the_budget(
    sc: Scenario, llm: MessagesApiDouble, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    connection = await crm(sc, http)
    http.route("/api/tasks/1", json_body={"id": 1})
    llm.respond_with(lambda body: Reply(tool_calls=[tool_call("read_task", {"id": 1})]))

    run = await start(sc, agent_flow([crm_tool(connection)], max_steps=3))

    assert run["status"] == "failed"
    assert run["error"]["code"] == "agent_budget_exceeded"
    assert (run["error"]["budget"], run["error"]["limit"]) == ("max_steps", 3)
    assert len(llm.requests) == 3 and len(http.requests) == 3


async def test_the_timeout_ends_the_loop_with_an_error_naming_the_budget(
    sc: Scenario, llm: MessagesApiDouble
) -> None:
    llm.reply("zu spät", delay_s=5)

    run = await start(sc, agent_flow([], timeout_s=0.5))

    assert run["status"] == "failed"
    assert run["error"]["code"] == "agent_budget_exceeded"
    assert run["error"]["budget"] == "timeout_s"
    assert "timeout_s" in run["error"]["message"]


async def test_max_tokens_ends_the_loop_with_an_error_naming_the_budget(
    sc: Scenario, llm: MessagesApiDouble, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    connection = await crm(sc, http)
    http.route("/api/tasks/1", json_body={"id": 1})
    llm.respond_with(lambda body: Reply(tool_calls=[tool_call("read_task", {"id": 1})]))

    run = await start(sc, agent_flow([crm_tool(connection)], max_tokens=40))  # 19 per turn

    assert run["status"] == "failed"
    assert (run["error"]["code"], run["error"]["budget"]) == ("agent_budget_exceeded", "max_tokens")
    assert len(llm.requests) == 3


# -- side effects wait for a person -----------------------------------------------------------
async def test_a_post_waits_for_approval_and_is_made_once_after_it(
    sc: Scenario, llm: MessagesApiDouble, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    connection = await crm(sc, http)
    http.route("/api/tasks/9", status=201, json_body={"id": 9, "note": "Rückruf"})
    llm.script(Reply(tool_calls=[tool_call("note_task", {"id": 9, "note": "Rückruf"})]), "Notiz angelegt.")

    run = await start(sc, agent_flow([crm_tool(connection, "note_task", "POST")]))

    assert run["status"] == "waiting", run["error"]
    assert http.requests == []
    [task] = run["tasks"]
    assert task["payload"]["calls"][0]["tool"] == "note_task"
    assert task["payload"]["calls"][0]["method"] == "POST"

    await decide(sc, task["id"], "approve", "passt")
    run = await run_after(sc, run["id"])

    assert run["status"] == "succeeded", run["error"]
    assert run["outputs"] == {"answer": "Notiz angelegt."}
    [request] = http.requests
    assert (request.method, request.path, request.json()) == ("POST", "/api/tasks/9", {"note": "Rückruf"})
    assert request.headers["idempotency-key"].startswith(f"{run['id']}:agent:")
    steps = agent_step(run)["outputs"]["steps"]
    assert [entry["kind"] for entry in steps] == ["model", "approval", "tool", "model"]
    assert steps[2]["decision"] == "approved" and steps[2]["decided_by"] == ["champion2"]


async def test_a_refused_post_is_not_made_and_the_model_hears_it_was_refused(
    sc: Scenario, llm: MessagesApiDouble, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    connection = await crm(sc, http)
    llm.script(Reply(tool_calls=[tool_call("note_task", {"id": 9, "note": "x"})]), "Dann nicht.")

    run = await start(sc, agent_flow([crm_tool(connection, "note_task", "POST")]))
    [task] = run["tasks"]
    await decide(sc, task["id"], "reject", "nicht jetzt")
    run = await run_after(sc, run["id"])

    assert run["status"] == "succeeded", run["error"]
    assert http.requests == []
    [answered] = tool_messages(llm.requests[1])
    refusal = json.loads(answered["content"])
    assert "refused" in refusal["error"] and refusal["comment"] == "nicht jetzt"


async def test_a_second_change_in_a_later_turn_gets_a_task_of_its_own(
    sc: Scenario, llm: MessagesApiDouble, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    connection = await crm(sc, http)
    for number in (1, 2):
        http.route(f"/api/tasks/{number}", status=201, json_body={"id": number})
    llm.script(
        Reply(tool_calls=[tool_call("note_task", {"id": 1, "note": "a"})]),
        Reply(tool_calls=[tool_call("note_task", {"id": 2, "note": "b"})]),
        "Beide Notizen angelegt.",
    )

    run = await start(sc, agent_flow([crm_tool(connection, "note_task", "POST")]))
    [first] = run["tasks"]
    await decide(sc, first["id"], "approve")
    run = await run_after(sc, run["id"])
    assert run["status"] == "waiting", run["error"]
    assert [request.path for request in http.requests] == ["/api/tasks/1"]
    [second] = [task for task in run["tasks"] if task["status"] == "open"]
    assert second["node_id"] == "agent.2"

    # The sweep finds nothing to do while the second task is open (the first is decided).
    # (On the app's loop: PostgreSQL connections must not be used from the test's loop.)
    assert run["id"] not in sc.api.client.blocking_portal.call(sc.api.runtime.runs.sweep)

    await decide(sc, second["id"], "approve")
    run = await run_after(sc, run["id"])
    assert run["status"] == "succeeded", run["error"]
    assert [request.path for request in http.requests] == ["/api/tasks/1", "/api/tasks/2"]
    assert run["outputs"] == {"answer": "Beide Notizen angelegt."}


# -- streaming --------------------------------------------------------------------------------
async def test_the_stream_says_which_tool_is_called_and_streams_the_answer(
    sc: Scenario, llm: MessagesApiDouble, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    connection = await crm(sc, http)
    llm.script(Reply(tool_calls=[tool_call("read_task", {"id": 4})]), "Aufgabe vier ist erledigt.")
    flow = await sc.create(agent_flow([crm_tool(connection)]))

    response = await sc.as_("champion").post(
        f"/api/flows/{flow['id']}/versions/1/runs", json={"inputs": {"question": "?"}, "stream": True}
    )

    assert response.status_code == 200
    events = [
        json.loads(line[len("data: ") :]) for line in response.text.splitlines() if line.startswith("data: ")
    ]
    agent_events = [event for event in events if event.get("node") == "agent"]
    tools = [(event["tool"], event["status"]) for event in agent_events if event.get("type") == "tool"]
    assert tools == [("read_task", "calling"), ("read_task", "done")]
    tokens = "".join(event["text"] for event in agent_events if event.get("type") == "token")
    assert tokens == "Aufgabe vier ist erledigt."
    assert llm.requests[0]["stream"] is True and llm.requests[1]["stream"] is True


async def test_a_call_nobody_approves_in_time_is_not_made_and_the_loop_goes_on(
    sc: Scenario, llm: MessagesApiDouble, http: HttpTarget, allow_loopback: ConnectionService
) -> None:
    connection = await crm(sc, http)
    llm.script(Reply(tool_calls=[tool_call("note_task", {"id": 5, "note": "x"})]), "Keine Freigabe bekommen.")
    document = agent_flow([crm_tool(connection, "note_task", "POST")], approval_timeout="PT1S")

    run = await start(sc, document)
    assert run["status"] == "waiting" and run["tasks"][0]["due_at"] is not None
    await asyncio.sleep(1.2)
    sc.api.client.blocking_portal.call(sc.api.runtime.runs.sweep)  # expires the task, resumes the run
    run = await run_after(sc, run["id"])

    assert run["status"] == "succeeded", run["error"]
    assert run["outputs"] == {"answer": "Keine Freigabe bekommen."}
    assert run["tasks"][0]["status"] == "expired"
    assert http.requests == []
    [answered] = tool_messages(llm.requests[1])
    assert "nobody approved this call in time" in json.loads(answered["content"])["error"]
