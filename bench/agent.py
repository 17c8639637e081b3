"""Agent loop overhead per tool call, against a direct call of the same tool.

Prints figures; asserts nothing. One run, both paths, the same tool:

    direct   `nodes.agent_tools.call_tool` for a connection tool (GET /tasks/{id}), one
             call after the other: the `connections` service looks the connection up in
             a migrated SQLite file, checks it, calls a local HTTP server on 127.0.0.1
             and writes its audit line — what any call of that tool costs
    agent    `AgentNode.run` with the same tool: the model (the Messages API TEST DOUBLE,
             `tests/support/messages_api_double.py`, answering at once, through the real
             `HFChatModel`, streamed) asks for the calls turn by turn, then answers

The loop's overhead is its wall time minus the time spent inside the model's and the
tool's calls (the union of their intervals: calls of one turn overlap); per tool call it
is that divided by the calls, and it is also given as a share of the loop's wall time.
Goal (issue 13): ≤ 1 ms per call and ≤ 5 % of a 100-call loop's wall time.

Two loops: 49 turns with one call each (`max_steps` is at most 50: the 50th turn answers)
and 25 turns with four calls each (100 calls). Each figure is the median of `--repeats` (3)
loops (after one warm-up loop).

    .venv/bin/python bench/agent.py            # table
    .venv/bin/python bench/agent.py --json     # one JSON object
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from nodes.agent import AgentNode  # noqa: E402
from nodes.agent_tools import ConnectionTool, call_tool  # noqa: E402
from nodes.base import NodeContext  # noqa: E402
from nodes.services import ChatRequest, ChatResult, TokenSink  # noqa: E402
from runtime.connections.egress import EgressGuard, EgressPolicy  # noqa: E402
from runtime.connections.secrets import SecretBox  # noqa: E402
from runtime.connections.service import ConnectionService  # noqa: E402
from runtime.db.database import Database  # noqa: E402
from runtime.db.migrate import upgrade  # noqa: E402
from runtime.db.models import Membership, User  # noqa: E402
from runtime.llm import HFChatModel, ModelEndpoints  # noqa: E402
from runtime.policy.authorizer import Authorizer  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.users.service import get_or_create_workspace, load_actor  # noqa: E402
from tests.runtime.connections.servers import HttpTarget  # noqa: E402
from tests.support.messages_api_double import MessagesApiDouble, Reply, tool_call  # noqa: E402

GOAL_MS_PER_CALL = 1.0
GOAL_SHARE = 0.05
TOOL = {
    "kind": "connection",
    "name": "read_task",
    "description": "Liest eine Aufgabe",
    "connection": "crm",
    "method": "GET",
    "path": "/tasks/{id}",
    "parameters": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
}
LOOPS = {"49 calls, 1 per turn": (49, 1), "100 calls, 4 per turn": (25, 4)}


class Timed:
    """The model and the connections service, each call's interval noted."""

    def __init__(self, model: Any, connections: Any) -> None:
        self.model, self.connections = model, connections
        self.intervals: list[tuple[float, float]] = []

    async def chat(self, request: ChatRequest, on_token: TokenSink | None = None) -> ChatResult:
        began = time.perf_counter()
        try:
            return await self.model.chat(request, on_token)  # type: ignore[no-any-return]
        finally:
            self.intervals.append((began, time.perf_counter()))

    async def call(self, request: Any) -> Any:
        began = time.perf_counter()
        try:
            return await self.connections.call(request)
        finally:
            self.intervals.append((began, time.perf_counter()))

    def busy_s(self) -> float:
        """Length of the union of the intervals."""
        total, end = 0.0, float("-inf")
        for start, stop in sorted(self.intervals):
            if stop <= end:
                continue
            total += stop - max(start, end)
            end = stop
        return total


def script(turns: int, per_turn: int) -> Any:
    """The model double's answer to a request: more calls until `turns` turns asked, then text."""

    def answer(body: dict[str, Any]) -> Reply:
        asked = sum(1 for message in body["messages"] if message.get("tool_calls"))
        if asked >= turns:
            return Reply("Alle Aufgaben gelesen.")
        return Reply(
            tool_calls=[tool_call("read_task", {"id": asked * per_turn + n}) for n in range(per_turn)]
        )

    return answer


async def measure(repeats: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as directory,
        HttpTarget() as server,
        MessagesApiDouble(keep_requests=False) as double,
    ):
        settings = Settings(data_dir=Path(directory), jwt_secret="bench-" + "x" * 32, worker_id="bench")
        db = Database(settings.resolved_database_url())
        await upgrade(db.write_engine)
        guard = EgressGuard(EgressPolicy.parse("127.0.0.1"))
        connections = ConnectionService(
            settings, db, guard=guard, box=SecretBox(Fernet.generate_key()), authz=Authorizer()
        )
        async with db.write() as session:
            workspace = await get_or_create_workspace(session, "bench")
            admin = User(username="admin", display_name="admin", password_hash="!", global_roles=["admin"])
            session.add(admin)
            await session.flush()
            session.add(Membership(user_id=admin.id, workspace_id=workspace.id, role="champion"))
            await session.flush()
            actor = await load_actor(session, admin.id)
            workspace_id = workspace.id
        await connections.create(
            actor,
            "bench",
            "crm",
            "http",
            {"base_url": server.url + "/api", "allowed_methods": ["GET"], "allowed_paths": ["/tasks"]},
            {},
        )
        model = HFChatModel(ModelEndpoints([("default", double.url, "tiny-chat", None)]), guard=guard)
        runs = iter(range(10**9))

        def context(timed: Timed) -> NodeContext:
            return NodeContext(
                run_id=f"bench-{next(runs)}",
                node_id="agent",
                node_type="agent",
                flow_inputs={},
                services={"llm": timed, "connections": timed},
                workspace_id=workspace_id,
            )

        tool = ConnectionTool.model_validate(TOOL)
        results: dict[str, Any] = {}
        try:
            direct: list[float] = []
            for _ in range(repeats + 1):
                ctx = context(Timed(model, connections))
                began = time.perf_counter()
                for number in range(100):
                    await call_tool(ctx, tool, {"id": number}, f"direct-{number}")
                direct.append((time.perf_counter() - began) * 1000 / 100)
            results["direct_ms_per_call"] = statistics.median(direct[1:])
            for name, (turns, per_turn) in LOOPS.items():
                double.respond_with(script(turns, per_turn))
                node = AgentNode(
                    "agent",
                    AgentNode.Config.model_validate(
                        {"prompt": "Lies alle Aufgaben.", "tools": [TOOL], "max_steps": 50,
                         "max_tokens": 10**6, "timeout_s": 3600}
                    ),
                )  # fmt: skip
                samples = []
                for _ in range(repeats + 1):
                    timed = Timed(model, connections)
                    began = time.perf_counter()
                    outputs = await node.run(context(timed), {"inputs": {}})
                    wall = time.perf_counter() - began
                    assert isinstance(outputs, dict) and outputs["text"] == "Alle Aufgaben gelesen."
                    calls = turns * per_turn
                    overhead = wall - timed.busy_s()
                    samples.append(
                        {
                            "wall_ms_per_call": wall * 1000 / calls,
                            "overhead_ms_per_call": overhead * 1000 / calls,
                            "overhead_share": overhead / wall,
                        }
                    )
                results[name] = {
                    key: statistics.median(sample[key] for sample in samples[1:]) for key in samples[0]
                }
        finally:
            await model.aclose()
            await db.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--repeats", type=int, default=3, help="timed loops per figure (3)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    results = asyncio.run(measure(args.repeats))
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"direct call of the tool:            {results['direct_ms_per_call']:.3f} ms per call")
    print(f"{'loop':26} {'wall/call ms':>13} {'overhead/call ms':>17} {'overhead share':>15}")
    for name in LOOPS:
        row = results[name]
        print(
            f"{name:26} {row['wall_ms_per_call']:13.3f} {row['overhead_ms_per_call']:17.3f} "
            f"{row['overhead_share']:14.1%}"
        )
    print(f"goal: overhead ≤ {GOAL_MS_PER_CALL:g} ms per call and ≤ {GOAL_SHARE:.0%} of a 100-call loop")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
