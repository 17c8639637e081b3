"""MCP tools of agents, against real MCP server processes on 127.0.0.1 (the `mcp` SDK's
`MCPServer` over streamable HTTP, tests/support/mcp_server.py); the model is the Messages
API double, its tool calls scripted per test."""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nodes.services import McpAnswer, McpCall
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.mcp.service import McpService
from tests.runtime.agent.test_agent_runs import (
    agent_flow,
    agent_step,
    decide,
    run_after,
    start,
    tool_messages,
)
from tests.support.messages_api_double import MessagesApiDouble, Reply, tool_call
from tests.support.scenario import Scenario, expect

pytestmark = pytest.mark.asyncio(loop_scope="module")
TOKEN = "mcp-geheim-4711"
_names = itertools.count(1)


@dataclass
class McpProcess:
    url: str
    calls_file: Path

    @property
    def calls(self) -> list[str]:
        return self.calls_file.read_text().splitlines() if self.calls_file.exists() else []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(tmp: Path, variant: str) -> Iterator[McpProcess]:
    port = free_port()
    calls = tmp / f"calls-{variant}.txt"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.mcp_server",
            str(port),
            str(calls),
            "--variant",
            variant,
            "--token",
            TOKEN,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the MCP server did not start")
        yield McpProcess(f"http://127.0.0.1:{port}/mcp", calls)
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def mcp_v1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpProcess]:
    yield from serve(tmp_path_factory.mktemp("mcp1"), "v1")


@pytest.fixture(scope="module")
def mcp_v2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpProcess]:
    yield from serve(tmp_path_factory.mktemp("mcp2"), "v2")


@pytest.fixture
def mcp_loopback(sc: Scenario) -> Iterator[McpService]:
    """The MCP service with 127.0.0.1 on its egress allow list (deny by default)."""
    service = sc.api.runtime.services["mcp"]
    assert isinstance(service, McpService)
    before = service.guard
    service.guard = EgressGuard(EgressPolicy.parse("127.0.0.1"))
    yield service
    service.guard = before


async def register(sc: Scenario, url: str, **extra: Any) -> dict[str, Any]:
    body = {"name": f"tickets{next(_names)}", "url": url, "bearer_token": TOKEN, **extra}
    return expect(await sc.as_("admin").post("/api/mcp-servers", json=body), 201)  # type: ignore[no-any-return]


async def mcp_tool(sc: Scenario, server: str, tool: str, name: str | None = None) -> dict[str, Any]:
    """The agent's tool as the studio builds it: copied from the server's tool list."""
    listed = expect(await sc.as_("champion").get(f"/api/mcp-servers/{server}/tools"), 200)
    [found] = [entry for entry in listed["tools"] if entry["name"] == tool]
    return {
        "kind": "mcp",
        "name": name or tool,
        "description": found["description"],
        "server": server,
        "tool": tool,
        "input_schema": found["input_schema"],
    }


# -- registration -------------------------------------------------------------------------------
async def test_an_admin_registers_a_server_whose_token_is_never_shown_and_lists_its_tools(
    sc: Scenario, mcp_v1: McpProcess, mcp_loopback: McpService
) -> None:
    server = await register(sc, mcp_v1.url, read_only_tools=["lookup_customer"], headers={"X-Mandant": "7"})

    assert server["has_bearer_token"] is True and server["header_names"] == ["X-Mandant"]
    listed = await sc.as_("admin").get("/api/mcp-servers")
    assert TOKEN not in listed.text and TOKEN not in json.dumps(server)
    tested = expect(await sc.as_("admin").post(f"/api/mcp-servers/{server['name']}/test"), 200)
    assert tested["ok"] is True, tested
    tools = {tool["name"]: tool for tool in tested["tools"]}
    assert set(tools) == {"lookup_customer", "create_ticket"}
    assert tools["lookup_customer"]["read_only"] is True and tools["create_ticket"]["read_only"] is False
    assert tools["create_ticket"]["input_schema"]["required"] == ["title"]
    # Champions see names and tools (to build flows), not the admin's list.
    names = expect(await sc.as_("champion").get("/api/mcp-servers/names"), 200)
    assert {"name": server["name"], "read_only_tools": ["lookup_customer"]} in names
    assert (await sc.as_("champion").get("/api/mcp-servers")).status_code == 403
    assert (
        await sc.as_("champion").post("/api/mcp-servers", json={"name": "x", "url": mcp_v1.url})
    ).status_code == 403


async def test_the_token_is_sent_without_it_the_server_refuses(
    sc: Scenario, mcp_v1: McpProcess, mcp_loopback: McpService
) -> None:
    server = await register(sc, mcp_v1.url)
    expect(
        await sc.as_("admin").request(
            "PATCH", f"/api/mcp-servers/{server['name']}", json={"bearer_token": None}
        ),
        200,
    )

    tested = expect(await sc.as_("admin").post(f"/api/mcp-servers/{server['name']}/test"), 200)

    assert (tested["ok"], tested["error"]) == (False, "unreachable")
    assert server["name"] in tested["message"] and TOKEN not in tested["message"]


async def test_a_server_host_not_on_the_egress_allow_list_is_refused(
    sc: Scenario, mcp_v1: McpProcess
) -> None:
    answer = await sc.as_("admin").post("/api/mcp-servers", json={"name": "intern", "url": mcp_v1.url})

    assert answer.status_code == 400
    assert answer.json()["error"] == "mcp_server_not_allowed"


# -- agents call MCP tools ----------------------------------------------------------------------
async def test_an_agent_calls_a_read_only_tool_and_answers_with_its_result(
    sc: Scenario, llm: MessagesApiDouble, mcp_v1: McpProcess, mcp_loopback: McpService
) -> None:
    server = await register(sc, mcp_v1.url, read_only_tools=["lookup_customer"])
    tool = await mcp_tool(sc, server["name"], "lookup_customer", "kunde")
    llm.script(
        Reply(tool_calls=[tool_call("kunde", {"customer_id": 7})]), "Ansprechpartnerin ist Frau Schulz."
    )

    run = await start(sc, agent_flow([tool]))

    assert run["status"] == "succeeded", run["error"]
    assert run["outputs"] == {"answer": "Ansprechpartnerin ist Frau Schulz."}
    [answered] = tool_messages(llm.requests[1])
    assert "Müller GmbH" in json.loads(answered["content"])["text"]
    assert llm.requests[0]["tools"][0]["function"]["parameters"] == tool["input_schema"]


async def test_a_tool_not_marked_read_only_waits_for_approval_and_is_called_once(
    sc: Scenario, llm: MessagesApiDouble, mcp_v1: McpProcess, mcp_loopback: McpService
) -> None:
    server = await register(sc, mcp_v1.url, read_only_tools=["lookup_customer"])
    tool = await mcp_tool(sc, server["name"], "create_ticket")
    before = len(mcp_v1.calls)
    llm.script(
        Reply(tool_calls=[tool_call("create_ticket", {"title": "Rückruf Müller"})]), "Ticket ist angelegt."
    )

    run = await start(sc, agent_flow([tool]))

    assert run["status"] == "waiting", run["error"]
    assert len(mcp_v1.calls) == before
    [task] = run["tasks"]
    assert task["title"] == f"create_ticket: MCP {server['name']} create_ticket"
    shown = task["payload"]["calls"][0]
    assert (shown["tool"], shown["server"], shown["mcp_tool"]) == (
        "create_ticket",
        server["name"],
        "create_ticket",
    )
    assert json.loads(shown["arguments"]) == {"title": "Rückruf Müller"}
    await decide(sc, task["id"], "approve")
    run = await run_after(sc, run["id"])

    assert run["status"] == "succeeded", run["error"]
    assert mcp_v1.calls[before:] == ["Rückruf Müller"]
    steps = agent_step(run)["outputs"]["steps"]
    assert [entry["kind"] for entry in steps] == ["model", "approval", "tool", "model"]


async def test_a_changed_schema_at_the_server_refuses_the_call(
    sc: Scenario, llm: MessagesApiDouble, mcp_v1: McpProcess, mcp_v2: McpProcess, mcp_loopback: McpService
) -> None:
    server = await register(sc, mcp_v1.url, read_only_tools=["create_ticket"])
    tool = await mcp_tool(sc, server["name"], "create_ticket")  # copied with v1's schema
    # The admin points the name at a server whose tool now takes a priority as well.
    expect(
        await sc.as_("admin").request(
            "PATCH", f"/api/mcp-servers/{server['name']}", json={"url": mcp_v2.url}
        ),
        200,
    )
    llm.script(Reply(tool_calls=[tool_call("create_ticket", {"title": "Neu"})]), "Das ging nicht.")

    run = await start(sc, agent_flow([tool]))

    assert run["status"] == "succeeded", run["error"]
    assert mcp_v2.calls == []
    [step] = [entry for entry in agent_step(run)["outputs"]["steps"] if entry["kind"] == "tool"]
    assert step["status"] == "failed"
    told = json.loads(tool_messages(llm.requests[1])[0]["content"])
    assert told["code"] == "mcp_tool_changed"


async def test_an_unreachable_server_is_told_to_the_model(
    sc: Scenario, llm: MessagesApiDouble, mcp_v1: McpProcess, mcp_loopback: McpService
) -> None:
    server = await register(sc, mcp_v1.url, read_only_tools=["lookup_customer"])
    tool = await mcp_tool(sc, server["name"], "lookup_customer")
    gone = f"http://127.0.0.1:{free_port()}/mcp"
    expect(
        await sc.as_("admin").request("PATCH", f"/api/mcp-servers/{server['name']}", json={"url": gone}), 200
    )
    llm.script(
        Reply(tool_calls=[tool_call("lookup_customer", {"customer_id": 1})]), "Der Server ist nicht da."
    )

    run = await start(sc, agent_flow([tool]))

    assert run["status"] == "succeeded", run["error"]
    told = json.loads(tool_messages(llm.requests[1])[0]["content"])
    assert told["code"] == "mcp_unavailable"
    assert "cannot reach" in told["error"]


async def test_a_call_is_checked_against_the_egress_allow_list_again(
    sc: Scenario, llm: MessagesApiDouble, mcp_v1: McpProcess, mcp_loopback: McpService
) -> None:
    server = await register(sc, mcp_v1.url, read_only_tools=["lookup_customer"])
    tool = await mcp_tool(sc, server["name"], "lookup_customer")
    mcp_loopback.guard = EgressGuard(EgressPolicy.parse(""))  # the admin took 127.0.0.1 off the list
    llm.script(Reply(tool_calls=[tool_call("lookup_customer", {"customer_id": 1})]), "Nicht erlaubt.")

    run = await start(sc, agent_flow([tool]))

    assert run["status"] == "succeeded", run["error"]
    told = json.loads(tool_messages(llm.requests[1])[0]["content"])
    assert told["code"] == "mcp_not_allowed"


async def test_a_changing_call_is_journaled_so_a_resumed_loop_never_makes_it_twice(
    sc: Scenario, mcp_v1: McpProcess, mcp_loopback: McpService
) -> None:
    server = await register(sc, mcp_v1.url)
    tool = await mcp_tool(sc, server["name"], "create_ticket")
    before = len(mcp_v1.calls)
    call = McpCall(
        server=server["name"],
        tool="create_ticket",
        arguments={"title": "Nur einmal"},
        input_schema=tool["input_schema"],
        idempotency_key=f"run-{server['name']}:agent:1.0-abc",
    )

    # In the app's event loop, whose database connections the service uses (asyncpg's
    # belong to the loop that opened them).
    portal = sc.api.client.blocking_portal
    first = portal.call(mcp_loopback.call, call)
    again = portal.call(mcp_loopback.call, call)  # as a loop resumed after a crash would

    assert first == again == McpAnswer(text="Ticket angelegt: Nur einmal", is_error=False)
    assert mcp_v1.calls[before:] == ["Nur einmal"]


async def test_changes_and_removal_are_audited_without_the_token(
    sc: Scenario, mcp_v1: McpProcess, mcp_loopback: McpService
) -> None:
    server = await register(sc, mcp_v1.url)
    name = server["name"]
    changed = expect(
        await sc.as_("admin").request(
            "PATCH", f"/api/mcp-servers/{name}", json={"read_only_tools": ["create_ticket"]}
        ),
        200,
    )
    assert (changed["read_only_tools"], changed["has_bearer_token"]) == (["create_ticket"], True)
    expect(await sc.as_("admin").request("DELETE", f"/api/mcp-servers/{name}"), 200)
    assert (await sc.as_("admin").post(f"/api/mcp-servers/{name}/test")).status_code == 404

    trail = await sc.as_("admin").get("/api/audit", params={"resource_type": "mcp_server"})
    actions = [entry["action"] for entry in expect(trail, 200) if entry["detail"].get("name") == name]
    assert sorted(actions) == ["mcp_server.registered", "mcp_server.removed", "mcp_server.updated"]
    assert TOKEN not in trail.text
