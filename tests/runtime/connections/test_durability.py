"""An approval-gated "send e-mail" flow sends exactly one e-mail after approval, even when
the runtime is killed and restarted between approval and send — and even when it dies in
the worst moment, right after the mail went out and before the step was recorded.

Every runtime here is a separate process (`tests.runtime.connections.worker`) on the same
database (the test's SQLite file, or its PostgreSQL database); the SMTP server is aiosmtpd
in this process, reached by the workers over 127.0.0.1 (allow-listed for them).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from runtime.approvals.service import decide
from runtime.audit.service import list_entries, verify
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.connections.models import ConnectionCall
from runtime.connections.secrets import SecretBox
from runtime.connections.service import ConnectionService
from runtime.db.database import Database
from runtime.db.models import ApprovalTask, Flow, FlowVersion, Membership, Run, User
from runtime.engine.validation import validate_document
from runtime.policy.authorizer import Authorizer
from runtime.settings import Settings
from runtime.users.service import get_or_create_workspace, load_actor
from tests.runtime.connections.servers import QUIET_AUTH_WARNING, SmtpTarget
from tests.runtime.connections.test_email import mail_flow

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(QUIET_AUTH_WARNING)]
ROOT = Path(__file__).resolve().parents[3]
KEY = Fernet.generate_key().decode()
SMTP_PASSWORD = "durable-smtp-pw-8c1e"


@pytest.fixture
def smtp() -> Iterator[SmtpTarget]:
    with SmtpTarget(username="mailer", password=SMTP_PASSWORD) as server:
        yield server


class World:
    def __init__(self, db: Database, database_url: str, tmp_path: Path, smtp: SmtpTarget) -> None:
        self.db, self.database_url, self.tmp_path, self.smtp = db, database_url, tmp_path, smtp
        self.workspace_id = ""
        self.version_id = ""
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
            "mailer",
            "email",
            {
                "host": "127.0.0.1",
                "port": self.smtp.port,
                "security": "none",
                "username": "mailer",
                "sender": "vertrieb@firma.de",
                "allowed_domains": ["kunde.de"],
            },
            {"password": SMTP_PASSWORD},
        )
        report = validate_document(mail_flow("mailer"))
        assert report.valid and report.document is not None and report.content_hash, report.errors
        async with self.db.write() as session:
            flow = Flow(
                workspace_id=self.workspace_id, name="Mail", slug="mail", created_by=self.actors["author"].id
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
                "DIRIGENT_TEST_WORKSPACE_ID": self.workspace_id,
                "DIRIGENT_TEST_INPUTS": json.dumps({"to": "einkauf@kunde.de", "customer": "Kunde GmbH"}),
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
            "tests.runtime.connections.worker",
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
        """Process 1 starts the run, which waits; the task is approved; process 1 is killed."""
        process = await self.spawn(f"start:{self.version_id}")
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line, (await process.stderr.read()).decode()[-3000:] if process.stderr else "no output"
        said = json.loads(line)
        assert said["action"] == "waiting"
        run_id: str = said["run_id"]
        run, task = await self.state(run_id)
        assert run.status == "waiting" and task.status == "open"
        async with self.db.write() as session:
            await decide(session, Authorizer(), self.actors["champion2"], task.id, "approve", "raus damit")
        process.send_signal(signal.SIGKILL)
        await process.wait()
        assert self.smtp.messages == []  # killed between approval and send
        return run_id

    async def state(self, run_id: str) -> tuple[Run, ApprovalTask]:
        async with self.db.read() as session:
            run = await session.get(Run, run_id)
            task = (
                await session.execute(select(ApprovalTask).where(ApprovalTask.run_id == run_id))
            ).scalar_one()
            assert run is not None
            return run, task

    async def journal(self, run_id: str) -> list[ConnectionCall]:
        async with self.db.read() as session:
            return list(
                (
                    await session.execute(select(ConnectionCall).where(ConnectionCall.run_id == run_id))
                ).scalars()
            )


@pytest.fixture
async def world(db: Database, database_url: str, tmp_path: Path, smtp: SmtpTarget) -> World:
    world = World(db, database_url, tmp_path, smtp)
    await world.setup()
    return world


async def test_killed_between_approval_and_send_a_restarted_runtime_sends_once(world: World) -> None:
    run_id = await world.waiting_run_in_a_process_that_is_then_killed()

    [result] = await world.run_to_end("sweep")  # the restarted runtime
    assert result["resumed"] == [run_id]
    run, task = await world.state(run_id)
    assert run.status == "succeeded", run.error
    assert run.outputs == {"decision": "approved", "sent": "sent"}
    assert task.status == "approved"
    [message] = world.smtp.messages
    assert message["To"] == "einkauf@kunde.de" and message["Message-ID"] == f"<{run_id}.mail@firma.de>"

    [result] = await world.run_to_end("sweep")  # and yet another one finds nothing to do
    assert result["resumed"] == []
    assert len(world.smtp.messages) == 1
    [journaled] = await world.journal(run_id)
    assert (journaled.status, journaled.attempts) == ("done", 1)
    async with world.db.read() as session:
        assert (await verify(session)).ok


async def test_killed_right_after_the_send_the_adopting_runtime_does_not_send_again(world: World) -> None:
    run_id = await world.waiting_run_in_a_process_that_is_then_killed()

    # Process 2 resumes, sends, journals — and dies before the engine records the step.
    lines = await world.run_to_end("sweep", expect_code=9, DIRIGENT_TEST_CRASH_AFTER_SEND="1")
    assert lines == [{"action": "crash", "after": "mail"}]
    assert len(world.smtp.messages) == 1
    run, _ = await world.state(run_id)
    assert run.status == "running"  # claimed by a process that is gone

    # Process 3 adopts the orphan and runs the rest of the flow: the journal answers the send.
    await asyncio.sleep(1.0)
    [result] = await world.run_to_end("sweep", DIRIGENT_ORPHAN_AFTER_S="0.5")
    assert result["resumed"] == [run_id]
    run, _ = await world.state(run_id)
    assert run.status == "succeeded", run.error
    assert run.outputs == {"decision": "approved", "sent": "sent"}
    assert len(world.smtp.messages) == 1
    [journaled] = await world.journal(run_id)
    assert (journaled.status, journaled.attempts) == ("done", 1)
    async with world.db.read() as session:
        calls = [entry.detail for entry in await list_entries(session, action="connection.called", limit=10)]
        assert (await verify(session)).ok
    assert sorted(bool(detail.get("replayed")) for detail in calls) == [False, True]


async def test_two_runtime_processes_fire_each_due_schedule_once(world: World) -> None:
    """Two processes poll the same due schedules at the same moment; each fires once."""
    from datetime import timedelta

    from runtime.connections.models import Trigger
    from runtime.db.models import utcnow

    document = {
        "schema": "dirigent.flow/v1",
        "name": "Morgens",
        "inputs": {"n": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "say", "type": "template", "config": {"template": "Guten Morgen {{ inputs.n }}"}},
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "say"}, {"from": "say", "to": "end"}],
        "outputs": {"text": "{{ say.text }}"},
    }
    report = validate_document(document)
    assert report.valid and report.document is not None and report.content_hash, report.errors
    async with world.db.write() as session:
        flow = Flow(
            workspace_id=world.workspace_id,
            name="Morgens",
            slug="morgens",
            created_by=world.actors["author"].id,
        )
        session.add(flow)
        await session.flush()
        version = FlowVersion(
            flow_id=flow.id,
            number=1,
            content_hash=report.content_hash,
            document=report.document.as_json(),
            state="published",
            author_id=world.actors["author"].id,
        )
        session.add(version)
        await session.flush()
        flow.live_version_id = version.id
        due = utcnow() - timedelta(seconds=30)
        for n in range(12):
            session.add(
                Trigger(
                    flow_id=flow.id,
                    workspace_id=world.workspace_id,
                    kind="schedule",
                    cron="*/5 * * * *",
                    timezone="Europe/Berlin",
                    inputs={"n": str(n)},
                    enabled=True,
                    next_fire_at=due,
                    created_by=world.actors["author"].id,
                )
            )
        flow_id = flow.id

    at = str(time.time() + 4)  # both processes are up by then, and go at once
    first, second = await asyncio.gather(
        world.run_to_end("fire", DIRIGENT_TEST_FIRE_AT=at), world.run_to_end("fire", DIRIGENT_TEST_FIRE_AT=at)
    )
    started = first[0]["started"] + second[0]["started"]
    assert first[0]["pid"] != second[0]["pid"]
    assert len(started) == len(set(started)) == 12, (first, second)
    async with world.db.read() as session:
        runs = (await session.execute(select(Run).where(Run.flow_id == flow_id))).scalars().all()
        triggers = (await session.execute(select(Trigger).where(Trigger.flow_id == flow_id))).scalars().all()
    assert sorted(run.inputs["n"] for run in runs) == sorted(str(n) for n in range(12))
    assert all(run.status == "succeeded" for run in runs)
    assert all(trigger.next_fire_at is not None and trigger.next_fire_at > utcnow() for trigger in triggers)
