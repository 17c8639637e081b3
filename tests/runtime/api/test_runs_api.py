"""Runs over HTTP: JSON and Server-Sent Events, approvals (human in the loop), cancel, and an
LLM server that fails. The LLM is the Messages-API double (`llm`), reached over real HTTP.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from runtime.connections.egress import EgressGuard, EgressPolicy
from tests.support.messages_api_double import closed_port_url
from tests.support.scenario import (  # noqa: F401 (fixtures sc, llm, shared_app)
    MessagesApiDouble,
    Scenario,
    approval_flow,
    expect,
    llm_fixture,
    qa_flow,
    sc_fixture,
    shared_app_fixture,
    template_flow,
    unique_slug,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of every event of a `text/event-stream` body."""
    events = []
    for block in response.text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].strip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


async def stream(sc: Scenario, path: str, inputs: dict[str, Any], *, by: str = "user") -> httpx.Response:
    response = await sc.as_(by).post(path, json={"inputs": inputs, "stream": True})
    assert response.status_code == 200, response.text
    # EventSource clients refuse any other media type.
    assert response.headers.get_list("content-type") == ["text/event-stream; charset=utf-8"], response.headers
    return response


async def get_run(sc: Scenario, run_id: str, by: str = "user") -> dict[str, Any]:
    return expect(await sc.as_(by).get(f"/api/runs/{run_id}"), 200)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- streaming


async def test_streaming_sends_steps_tokens_and_the_final_run(sc: Scenario, llm: MessagesApiDouble) -> None:
    flow = await sc.live(qa_flow())
    llm.reply(
        "Morgen um zehn Uhr.",
        chunks=["Morgen ", "um ", "zehn ", "Uhr."],
        chunk_delay_s=0.005,
        usage={"prompt_tokens": 20, "completion_tokens": 4},
    )
    response = await stream(sc, f"/api/assistants/{flow['slug']}/runs", {"question": "Wann?"})
    run_id = response.headers["x-run-id"]
    events = sse_events(response)

    names = [name for name, _ in events]
    assert names[0] == "run" and events[0][1] == {"type": "started", "run_id": run_id}
    assert names[-1] == "run"
    final = events[-1][1]
    assert final["status"] == "succeeded" and final["run_id"] == run_id
    assert final["outputs"] == {"answer": "Morgen um zehn Uhr."}

    tokens = [data for name, data in events if name == "token"]
    assert [t["text"] for t in tokens] == ["Morgen ", "um ", "zehn ", "Uhr."]
    assert {t["node"] for t in tokens} == {"answer"}

    steps = [(data["node"], data["status"]) for name, data in events if name == "step"]
    assert steps == [
        ("start", "running"),
        ("start", "succeeded"),
        ("answer", "running"),
        ("answer", "succeeded"),
        ("end", "running"),
        ("end", "succeeded"),
    ]
    answer_done = events[steps_index(events, "answer", "succeeded")][1]
    assert answer_done["usage"]["total_tokens"] == 24
    # Tokens arrive between the llm step's start and its end.
    first_token = names.index("token")
    assert steps_index(events, "answer", "running") < first_token < steps_index(events, "answer", "succeeded")

    # The stream is what was stored.
    run = await get_run(sc, run_id)
    assert run["status"] == "succeeded" and run["total_tokens"] == 24
    assert run["outputs"] == final["outputs"]
    assert llm.last_request["stream"] is True
    assert "Wann?" in llm.last_request["messages"][-1]["content"]


def steps_index(events: list[tuple[str, dict[str, Any]]], node: str, status: str) -> int:
    return next(
        i
        for i, (name, data) in enumerate(events)
        if name == "step" and data["node"] == node and data["status"] == status
    )


async def test_streaming_a_test_run_and_a_run_that_waits(sc: Scenario, llm: MessagesApiDouble) -> None:
    draft = await sc.create(qa_flow())
    events = sse_events(
        await stream(sc, f"/api/flows/{draft['id']}/versions/1/runs", {"question": "?"}, by="champion")
    )
    assert events[-1][1]["status"] == "succeeded"
    run = await get_run(sc, events[0][1]["run_id"], by="champion")
    assert run["is_test"] is True

    flow = await sc.live(approval_flow())
    events = sse_events(await stream(sc, f"/api/assistants/{flow['slug']}/runs", {"customer": "Kunz AG"}))
    waiting = next(d for n, d in events if n == "step" and d["node"] == "check" and d["status"] == "waiting")
    assert waiting["request"]["payload"] == {"to": "Kunz AG", "text": "Angebot folgt"}
    assert events[-1][1]["status"] == "waiting"


async def test_streaming_a_failing_run_ends_with_the_error(sc: Scenario, llm: MessagesApiDouble) -> None:
    flow = await sc.live(qa_flow())
    llm.reply(status=500, error="CUDA out of memory")
    events = sse_events(await stream(sc, f"/api/assistants/{flow['slug']}/runs", {"question": "?"}))
    failed = next(d for n, d in events if n == "step" and d["status"] == "failed")
    assert failed["node"] == "answer" and "CUDA out of memory" in failed["error"]["message"]
    final = events[-1][1]
    assert final["status"] == "failed" and final["error"]["node"] == "answer"
    assert not any(name == "token" for name, _ in events)


# --------------------------------------------------------------------------- human in the loop


async def test_approval_with_an_edited_payload(sc: Scenario, llm: MessagesApiDouble) -> None:
    llm.reply("Sehr geehrte Frau Kunz, anbei das Angebot.")
    flow = await sc.live(approval_flow(with_llm=True))
    run = await sc.invoke(flow["slug"], {"customer": "Kunz AG"})
    assert run["status"] == "waiting" and run["finished_at"] is None
    assert {s["node_id"]: s["status"] for s in run["steps"]} == {
        "start": "succeeded",
        "draft": "succeeded",
        "check": "waiting",
    }

    # The task shows up for its assignee only, with the payload to check.
    tasks = expect(await sc.as_("champion2").get("/api/tasks"), 200)
    (task,) = [t for t in tasks if t["run_id"] == run["id"]]
    assert task["status"] == "open" and task["can_decide"] is True and task["editable"] is True
    assert task["payload"] == {"to": "Kunz AG", "text": "Sehr geehrte Frau Kunz, anbei das Angebot."}
    assert task["title"] == "Mail an Kunz AG" and task["flow"]["slug"] == flow["slug"]
    assert all(t["run_id"] != run["id"] for t in expect(await sc.as_("champion").get("/api/tasks"), 200))
    assert (await get_run(sc, run["id"], by="champion2"))["status"] == "waiting"  # assignees see the run

    edited = {"to": "Kunz AG", "text": "Sehr geehrte Frau Kunz, anbei das überarbeitete Angebot."}
    decided = expect(
        await sc.as_("champion2").post(
            f"/api/tasks/{task['id']}/decision",
            json={"decision": "approve", "comment": "Ton angepasst", "payload": edited},
        ),
        200,
    )
    assert decided["status"] == "approved"
    assert decided["resolution"] == {
        "outcome": "approved",
        "comment": "Ton angepasst",
        "payload": edited,
        "decided_by": ["champion2"],
    }

    done = await get_run(sc, run["id"])
    assert done["status"] == "succeeded", done
    assert done["outputs"]["decision"] == "approved"
    assert json.loads(done["outputs"]["sent"]) == edited
    check = next(s for s in done["steps"] if s["node_id"] == "check")
    assert check["status"] == "succeeded" and check["outputs"]["payload"] == edited
    assert len(llm.requests) == 1  # the resumed run did not ask the model again
    assert done["tasks"][0]["status"] == "approved"
    assert expect(await sc.as_("champion2").get(f"/api/tasks/{task['id']}"), 200)["can_decide"] is False

    entries = expect(await sc.as_("board1").get("/api/audit", params={"resource_id": task["id"]}), 200)
    decided_entry = next(e for e in entries if e["action"] == "task.decided")
    assert decided_entry["actor"] == "champion2" and decided_entry["detail"]["payload_edited"] is True


async def test_a_rejection_takes_the_rejected_branch(sc: Scenario) -> None:
    flow = await sc.live(approval_flow())
    run = await sc.waiting_run(flow["slug"])
    decision = {"decision": "reject", "comment": "nicht senden"}
    decided = expect(
        await sc.as_("champion2").post(f"/api/tasks/{run['tasks'][0]['id']}/decision", json=decision), 200
    )
    assert decided["status"] == "rejected" and decided["run_status"] == "succeeded"
    done = await get_run(sc, run["id"])
    assert done["outputs"]["decision"] == "rejected"
    assert "send" not in {s["node_id"] for s in done["steps"] if s["status"] == "succeeded"}


async def test_cancelling_a_waiting_run_closes_its_task(sc: Scenario) -> None:
    flow = await sc.live(approval_flow())
    run = await sc.waiting_run(flow["slug"])
    task_id = run["tasks"][0]["id"]
    cancelled = expect(await sc.as_("user").post(f"/api/runs/{run['id']}/cancel"), 200)
    assert cancelled == {"id": run["id"], "status": "cancelled"}

    stored = await get_run(sc, run["id"])
    assert stored["status"] == "cancelled" and stored["finished_at"]
    assert stored["error"]["kind"] == "Cancelled"
    assert stored["tasks"][0]["status"] == "cancelled"
    open_tasks = expect(await sc.as_("champion2").get("/api/tasks"), 200)
    assert task_id not in {t["id"] for t in open_tasks}
    assert expect(await sc.as_("champion2").get(f"/api/tasks/{task_id}"), 200)["status"] == "cancelled"
    late = await sc.as_("champion2").post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})
    assert late.status_code == 409 and "cancelled" in late.json()["message"]
    expect(await sc.as_("user").post(f"/api/runs/{run['id']}/cancel"), 409)  # once is enough
    entries = expect(await sc.as_("board1").get("/api/audit", params={"resource_id": run["id"]}), 200)
    assert "run.cancelled" in {e["action"] for e in entries}


async def test_cancelling_a_running_run(sc: Scenario, llm: MessagesApiDouble) -> None:
    flow = await sc.live(qa_flow())
    llm.reply("zu spät", delay_s=2)
    started = await sc.as_("user").post(
        f"/api/assistants/{flow['slug']}/runs", json={"inputs": {"question": "?"}, "wait_s": 0.1}
    )
    assert started.status_code == 202 and started.json()["status"] == "running", started.text
    run_id = started.json()["id"]
    assert expect(await sc.as_("salesadmin").post(f"/api/runs/{run_id}/cancel"), 200)["status"] == "cancelled"
    stored = await get_run(sc, run_id)
    assert stored["status"] == "cancelled" and stored["outputs"] is None


# --------------------------------------------------------------------------- the LLM server fails


@pytest.fixture
def llm_may_reach_loopback(sc: Scenario) -> Any:
    """Model endpoints pass the egress guard: a registered one on 127.0.0.1 needs it allowed."""
    llm = sc.api.runtime.services["llm"]
    before, llm.guard = llm.guard, EgressGuard(EgressPolicy.parse("127.0.0.1"))
    yield
    llm.guard = before


async def test_llm_endpoint_down_fails_the_run_naming_the_node(
    sc: Scenario, llm_may_reach_loopback: None
) -> None:
    name = unique_slug("offline")
    endpoint = {"name": name, "base_url": closed_port_url()}
    expect(await sc.as_("admin").post("/api/model-endpoints", json=endpoint), 201)
    document = qa_flow()
    document["nodes"][1]["config"]["model"] = name
    flow = await sc.live(document)

    run = await sc.invoke(flow["slug"], {"question": "Hallo?"})
    assert run["status"] == "failed"
    error = run["error"]
    assert (error["node"], error["type"]) == ("answer", "llm")
    assert name in error["message"] and "127.0.0.1" in error["message"]
    assert run["outputs"] is None and run["finished_at"]
    answer = next(s for s in run["steps"] if s["node_id"] == "answer")
    assert answer["status"] == "failed" and answer["error"]["message"] == error["message"]
    assert "end" not in {s["node_id"] for s in run["steps"] if s["status"] == "succeeded"}

    # Streaming says the same, and nothing is a 500.
    events = sse_events(await stream(sc, f"/api/assistants/{flow['slug']}/runs", {"question": "Hallo?"}))
    assert events[-1][1]["status"] == "failed" and events[-1][1]["error"]["node"] == "answer"


async def test_llm_errors_and_timeouts_fail_the_run_with_a_clear_message(
    sc: Scenario, llm: MessagesApiDouble
) -> None:
    flow = await sc.live(qa_flow())
    llm.reply(status=503, error="Model is overloaded")
    run = await sc.invoke(flow["slug"], {"question": "?"})
    assert run["status"] == "failed" and run["error"]["node"] == "answer"
    assert "503" in run["error"]["message"] and "Model is overloaded" in run["error"]["message"]

    slow = qa_flow()
    slow["nodes"][1]["config"]["timeout_s"] = 0.3
    slow_flow = await sc.live(slow)
    llm.reply("zu spät", delay_s=1.5)
    run = await sc.invoke(slow_flow["slug"], {"question": "?"})
    assert run["status"] == "failed" and run["error"]["node"] == "answer"
    assert "0.3 s" in run["error"]["message"]

    # An unknown model name is the node's error, listing the known endpoints.
    unknown = qa_flow()
    unknown["nodes"][1]["config"]["model"] = "gibt-es-nicht"
    unknown_flow = await sc.live(unknown)
    run = await sc.invoke(unknown_flow["slug"], {"question": "?"})
    assert run["status"] == "failed" and run["error"]["node"] == "answer"
    assert "gibt-es-nicht" in run["error"]["message"] and "default" in run["error"]["message"]


async def test_a_template_run_reports_steps_and_outputs(sc: Scenario) -> None:
    flow = await sc.live(template_flow("Hallo {{ inputs.name }}, {{ inputs.times or 1 }}x"))
    run = await sc.invoke(flow["slug"], {"name": "Ana", "times": 3})
    assert run["status"] == "succeeded"
    assert run["outputs"] == {"text": "Hallo Ana, 3x"}
    assert run["inputs"] == {"name": "Ana", "times": 3}
    assert [s["node_id"] for s in run["steps"]] == ["start", "greet", "end"]
    assert all(s["status"] == "succeeded" and s["duration_ms"] is not None for s in run["steps"])
    listed = expect(await sc.as_("user").get("/api/runs", params={"flow_id": flow["id"]}), 200)
    assert [r["id"] for r in listed] == [run["id"]]
