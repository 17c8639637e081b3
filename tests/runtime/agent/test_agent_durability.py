"""An agent's call that waits for approval survives the death of its process: another
runtime process resumes the loop from the stored state and makes the call exactly once —
even when the process that made it dies before the loop went on.

Every runtime here is a separate process (`tests.runtime.agent.worker`) on the test's
database; the HTTP server and the Messages API double run in this process, reached over
127.0.0.1 (allow-listed for the workers).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from runtime.approvals.service import decide
from runtime.audit.service import verify
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.connections.models import ConnectionCall
from runtime.connections.secrets import SecretBox
from runtime.connections.service import ConnectionService
from runtime.db.database import Database
from runtime.db.models import ApprovalTask, Flow, FlowVersion, Membership, Run, RunStep, User
from runtime.engine.validation import validate_document
from runtime.policy.authorizer import Authorizer
from runtime.settings import Settings
from runtime.users.service import get_or_create_workspace, load_actor
from tests.runtime.agent.test_agent_runs import agent_flow, crm_tool
from tests.runtime.connections.servers import HttpTarget
from tests.support.messages_api_double import MessagesApiDouble, Reply, tool_call

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
KEY = Fernet.generate_key().decode()


@pytest.fixture
def http() -> Iterator[HttpTarget]:
    with HttpTarget() as server:
        server.route("/api/tasks/9", status=201, json_body={"id": 9})
        yield server


class World:
    def __init__(
        self, db: Database, database_url: str, tmp_path: Path, http: HttpTarget, llm: MessagesApiDouble
    ) -> None:
        self.db, self.database_url, self.tmp_path, self.http, self.llm = db, database_url, tmp_path, http, llm
        self.workspace_id = self.version_id = ""
        self.actors: dict[str, Any] = {}

    async def setup(self) -> None:
        async with self.db.write() as session:
            workspace = await get_or_create_workspace(session, "sales")
            self.workspace_id = workspace.id
            for name, global_roles in (("admin", ["admin"]), ("author", []), ("champion2", [])):
                user = User(username=name, display_name=name, password_hash="!", global_roles=global_roles)
                session.add(user)
                await session.flush()
                session.add(Membership(user_id=user.id, workspace_id=workspace.id, role="champion"))
                await session.flush()
                self.actors[name] = await load_actor(session, user.id)
        service = ConnectionService(
            Settings(data_dir=self.tmp_path, database_url=self.database_url),
            self.db,
            guard=EgressGuard(EgressPolicy.parse("127.0.0.1")),
            box=SecretBox(KEY.encode()),
            authz=Authorizer(),
        )
        await service.create(
            self.actors["admin"],
            "sales",
            "crm",
            "http",
            {
                "base_url": self.http.url + "/api",
                "allowed_methods": ["GET", "POST"],
                "allowed_paths": ["/tasks"],
            },
            {},
        )
        report = validate_document(agent_flow([crm_tool("crm", "note_task", "POST")]))
        assert report.valid and report.document is not None and report.content_hash, report.errors
        async with self.db.write() as session:
            flow = Flow(
                workspace_id=self.workspace_id,
                name="Agent",
                slug="agent",
                created_by=self.actors["author"].id,
            )
            session.add(flow)
            await session.flush()
            version = FlowVersion(
                flow_id=flow.id,
                number=1,
                content_hash=report.content_hash,
                document=report.document.as_json(),
                state="published",
                author_id=self.actors["author"].id,
            )
            session.add(version)
            await session.flush()
            self.version_id = version.id

    def env(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("DIRIGENT_")}
        env.update(
            {
                "DIRIGENT_DATABASE_URL": self.database_url,
                "DIRIGENT_DATA_DIR": str(self.tmp_path / "worker"),
                "DIRIGENT_SECRET_KEY": KEY,
                "DIRIGENT_EGRESS_ALLOW": "127.0.0.1",
                "DIRIGENT_LLM_URL": self.llm.url,
                "DIRIGENT_TEST_WORKSPACE_ID": self.workspace_id,
                "DIRIGENT_TEST_INPUTS": json.dumps({"question": "Notiere einen Rückruf bei Aufgabe 9"}),
                "DIRIGENT_SWEEP_INTERVAL_S": "3600",
                "PYTHONPATH": str(ROOT),
                **extra,
            }
        )
        return env

    async def spawn(self, *actions: str, **env: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.runtime.agent.worker",
            *actions,
            cwd=ROOT,
            env=self.env(**env),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def run_to_end(self, *actions: str, expect_code: int = 0, **env: str) -> list[dict[str, Any]]:
        process = await self.spawn(*actions, **env)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == expect_code, stderr.decode()[-3000:]
        return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]

    async def waiting_run_in_a_process_that_is_then_killed(self) -> str:
        """Process 1 runs the loop up to the POST, which waits; it is approved; process 1 is killed."""
        process = await self.spawn(f"start:{self.version_id}")
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line, (await process.stderr.read()).decode()[-3000:] if process.stderr else "no output"
        said = json.loads(line)
        assert said["action"] == "waiting"
        run_id: str = said["run_id"]
        run, [task] = await self.state(run_id)
        assert run.status == "waiting" and task.status == "open"
        async with self.db.write() as session:
            await decide(session, Authorizer(), self.actors["champion2"], task.id, "approve", "ja")
        process.send_signal(signal.SIGKILL)
        await process.wait()
        assert self.http.requests == []  # killed between approval and the call
        return run_id

    async def state(self, run_id: str) -> tuple[Run, list[ApprovalTask]]:
        async with self.db.read() as session:
            run = await session.get(Run, run_id)
            tasks = list(
                (await session.execute(select(ApprovalTask).where(ApprovalTask.run_id == run_id))).scalars()
            )
            assert run is not None
            return run, tasks

    async def agent_outputs(self, run_id: str) -> dict[str, Any]:
        async with self.db.read() as session:
            step = (
                await session.execute(
                    select(RunStep).where(RunStep.run_id == run_id, RunStep.node_id == "agent")
                )
            ).scalar_one()
            return step.outputs or {}

    async def journal(self, run_id: str) -> list[ConnectionCall]:
        async with self.db.read() as session:
            return list(
                (
                    await session.execute(select(ConnectionCall).where(ConnectionCall.run_id == run_id))
                ).scalars()
            )


@pytest.fixture
async def world(
    db: Database, database_url: str, tmp_path: Path, http: HttpTarget, messages_api: MessagesApiDouble
) -> World:
    messages_api.script(
        Reply(tool_calls=[tool_call("note_task", {"id": 9, "note": "Rückruf"})]), "Rückruf notiert."
    )
    world = World(db, database_url, tmp_path, http, messages_api)
    await world.setup()
    return world


async def test_killed_while_the_call_waits_another_process_resumes_the_loop_and_calls_once(
    world: World,
) -> None:
    run_id = await world.waiting_run_in_a_process_that_is_then_killed()

    [result] = await world.run_to_end("sweep")  # the restarted runtime
    assert result["resumed"] == [run_id]
    run, [task] = await world.state(run_id)
    assert run.status == "succeeded", run.error
    assert run.outputs == {"answer": "Rückruf notiert."}
    assert task.status == "approved"
    [request] = world.http.requests
    assert (request.method, request.path, request.json()) == ("POST", "/api/tasks/9", {"note": "Rückruf"})
    # The second model turn saw the first one's messages (from the stored state) and the result.
    first, second = world.llm.requests
    assert second["messages"][: len(first["messages"])] == first["messages"]
    assert second["messages"][-1]["role"] == "tool"

    [result] = await world.run_to_end("sweep")  # and yet another one finds nothing to do
    assert result["resumed"] == []
    assert len(world.http.requests) == 1
    [journaled] = await world.journal(run_id)
    assert (journaled.status, journaled.attempts) == ("done", 1)
    async with world.db.read() as session:
        assert (await verify(session)).ok


async def test_killed_right_after_the_call_the_adopting_process_does_not_call_again(world: World) -> None:
    run_id = await world.waiting_run_in_a_process_that_is_then_killed()

    # Process 2 resumes, makes the POST, journals it — and dies before the loop goes on.
    lines = await world.run_to_end("sweep", expect_code=9, DIRIGENT_TEST_CRASH_AFTER_SEND="1")
    assert lines == [{"action": "crash", "after": "note_task"}]
    assert len(world.http.requests) == 1
    run, _ = await world.state(run_id)
    assert run.status == "running"  # claimed by a process that is gone

    # Process 3 adopts the orphan: the loop resumes from the stored state, the journal
    # answers the POST, the model gets its result.
    await asyncio.sleep(1.0)
    [result] = await world.run_to_end("sweep", DIRIGENT_ORPHAN_AFTER_S="0.5")
    assert result["resumed"] == [run_id]
    run, _ = await world.state(run_id)
    assert run.status == "succeeded", run.error
    assert len(world.http.requests) == 1
    [journaled] = await world.journal(run_id)
    assert (journaled.status, journaled.attempts) == ("done", 1)
    tools = [step for step in (await world.agent_outputs(run_id))["steps"] if step["kind"] == "tool"]
    assert [(step["tool"], step["status"]) for step in tools] == [("note_task", "succeeded")]
