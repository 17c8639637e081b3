"""Side effects exactly once, or a person decides: runtime processes are killed with
SIGKILL *during* a call — after the call journal wrote it `in_flight`, before the answer
came — and the process that adopts the run must not repeat the call blindly.

The window is hit honestly, without hooks: the receiving servers are slow. The local SMTP
server holds the first message open before it answers (having delivered it already, or
delivering only after the hold), the local HTTP server holds the first request open; the
test kills the runtime process the moment the server has the call. Every runtime is a
separate process (`tests.runtime.connections.worker`) on the test's database (SQLite, or
PostgreSQL with DIRIGENT_TEST_DATABASE_URL); deliveries are counted at the servers.

    ask    (default) the adopting process raises a task "Wurde das bereits gesendet?";
           yes → the step completes without calling; no → called once more
    fail   the step fails with side_effect_uncertain; nothing is repeated
    retry  called again with the same Idempotency-Key (for receivers that deduplicate)
    PUT    idempotent: made again, nobody is asked
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
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
from tests.runtime.connections.servers import QUIET_AUTH_WARNING, HttpTarget, SmtpTarget
from tests.runtime.connections.test_email import mail_flow

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(QUIET_AUTH_WARNING)]
ROOT = Path(__file__).resolve().parents[3]
KEY = Fernet.generate_key().decode()
SMTP_PASSWORD = "inflight-smtp-pw-5b2d"
HTTP_TOKEN = "inflight-token-9e4f-GEHEIM"
HOLD_S = 20.0


def post_flow(connection: str, method: str = "POST") -> dict[str, Any]:
    """input → approval → connector (HTTP) → output."""
    document = mail_flow(connection)
    document["name"] = "Aufgabe anlegen"
    document["nodes"][2] = {
        "id": "mail",
        "type": "connector",
        "config": {
            "connection": connection,
            "action": "create_task",
            "method": method,
            "path": "/tasks",
            "body": '{"title": {{ check.payload.subject | json }}, "to": {{ check.payload.to | json }}}',
        },
    }
    return document


class World:
    """One workspace with connections to the slow servers, and published flows using them."""

    def __init__(self, db: Database, database_url: str, tmp_path: Path) -> None:
        self.db, self.database_url, self.tmp_path = db, database_url, tmp_path
        self.workspace_id = ""
        self.actors: dict[str, Any] = {}
        self.service: ConnectionService | None = None

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
        self.service = ConnectionService(
            Settings(data_dir=self.tmp_path, database_url=self.database_url),
            self.db,
            guard=EgressGuard(EgressPolicy.parse("127.0.0.1")),
            box=SecretBox(KEY.encode()),
            authz=Authorizer(),
        )

    async def mail_connection(self, name: str, smtp: SmtpTarget, **settings: Any) -> None:
        assert self.service is not None
        await self.service.create(
            self.actors["admin"],
            "sales",
            name,
            "email",
            {
                "host": "127.0.0.1",
                "port": smtp.port,
                "security": "none",
                "username": "mailer",
                "sender": "vertrieb@firma.de",
                "allowed_domains": ["kunde.de"],
                "timeout_s": 60,
                **settings,
            },
            {"password": SMTP_PASSWORD},
        )

    async def http_connection(self, name: str, http: HttpTarget, **settings: Any) -> None:
        assert self.service is not None
        await self.service.create(
            self.actors["admin"],
            "sales",
            name,
            "http",
            {
                "base_url": http.url + "/api",
                "auth": {"type": "bearer"},
                "allowed_methods": ["POST", "PUT"],
                "allowed_paths": ["/tasks"],
                "timeout_s": 60,
                **settings,
            },
            {"token": HTTP_TOKEN},
        )

    async def publish(self, document: dict[str, Any], slug: str) -> str:
        report = validate_document(document)
        assert report.valid and report.document is not None and report.content_hash, report.errors
        async with self.db.write() as session:
            flow = Flow(
                workspace_id=self.workspace_id, name=slug, slug=slug, created_by=self.actors["author"].id
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
            return version.id

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

    async def run_to_end(self, *actions: str, **env: str) -> list[dict[str, Any]]:
        process = await self.spawn(*actions, **env)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
        assert process.returncode == 0, stderr.decode()[-3000:]
        return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]

    async def approved_run(self, version_id: str) -> str:
        """A run that waited for its approval, approved; the process that started it is gone."""
        process = await self.spawn(f"start:{version_id}")
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line, (await process.stderr.read()).decode()[-3000:] if process.stderr else "no output"
        said = json.loads(line)
        assert said["action"] == "waiting"
        run_id: str = said["run_id"]
        [task] = await self.tasks(run_id)
        async with self.db.write() as session:
            await decide(session, Authorizer(), self.actors["champion2"], task.id, "approve", "raus damit")
        process.send_signal(signal.SIGKILL)
        await process.wait()
        return run_id

    async def killed_mid_call(self, run_id: str, arrived: Callable[[], bool]) -> ConnectionCall:
        """Another process resumes the run and makes the call; it is killed (SIGKILL) once the
        slow server has the call and before the answer. Returns the journal entry then."""
        process = await self.spawn("sweep")
        for _ in range(600):
            if arrived():
                break
            if process.returncode is not None:
                raise AssertionError((await process.stderr.read()).decode()[-3000:] if process.stderr else "")
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the call never reached the server")
        process.send_signal(signal.SIGKILL)
        await process.wait()
        [entry] = await self.journal(run_id)
        return entry

    async def adopt(self, run_id: str) -> None:
        """A third process adopts the orphaned run (its worker stopped sending heartbeats)."""
        await asyncio.sleep(1.0)
        [result] = await self.run_to_end("sweep", DIRIGENT_ORPHAN_AFTER_S="0.5")
        assert result["resumed"] == [run_id], result

    async def resume_decided(self, run_id: str) -> None:
        [result] = await self.run_to_end("sweep")
        assert result["resumed"] == [run_id], result

    async def run(self, run_id: str) -> Run:
        async with self.db.read() as session:
            run = await session.get(Run, run_id)
            assert run is not None
            return run

    async def tasks(self, run_id: str) -> list[ApprovalTask]:
        async with self.db.read() as session:
            return list(
                (
                    await session.execute(
                        select(ApprovalTask)
                        .where(ApprovalTask.run_id == run_id)
                        .order_by(ApprovalTask.created_at)
                    )
                ).scalars()
            )

    async def journal(self, run_id: str) -> list[ConnectionCall]:
        async with self.db.read() as session:
            return list(
                (
                    await session.execute(select(ConnectionCall).where(ConnectionCall.run_id == run_id))
                ).scalars()
            )

    async def step(self, run_id: str, node_id: str) -> RunStep:
        async with self.db.read() as session:
            return (
                await session.execute(
                    select(RunStep).where(RunStep.run_id == run_id, RunStep.node_id == node_id)
                )
            ).scalar_one()

    async def answer(self, run_id: str, decision: str) -> ApprovalTask:
        """Answer the "was this already sent?" task as the connection's admin."""
        tasks = await self.tasks(run_id)
        [question] = [task for task in tasks if task.node_id == "mail"]
        assert question.status == "open"
        async with self.db.write() as session:
            await decide(session, Authorizer(), self.actors["admin"], question.id, decision, "geprüft")
        return question

    async def audit_ok(self) -> None:
        async with self.db.read() as session:
            assert (await verify(session)).ok


@pytest.fixture
async def world(db: Database, database_url: str, tmp_path: Path) -> World:
    world = World(db, database_url, tmp_path)
    await world.setup()
    return world


@pytest.fixture
def smtp_delivered_then_held() -> Iterator[SmtpTarget]:
    """Delivers the first message, then holds the connection: the client never hears back."""
    with SmtpTarget(
        username="mailer", password=SMTP_PASSWORD, hold_s=HOLD_S, hold_count=1, deliver_before_hold=True
    ) as server:
        yield server


@pytest.fixture
def smtp_held_then_delivered() -> Iterator[SmtpTarget]:
    """Holds the first message before delivering it: a client that dies meanwhile sent nothing."""
    with SmtpTarget(
        username="mailer", password=SMTP_PASSWORD, hold_s=HOLD_S, hold_count=1, deliver_before_hold=False
    ) as server:
        yield server


@pytest.fixture
def slow_http() -> Iterator[HttpTarget]:
    """Has the first request (recorded on arrival) and holds the answer; then answers at once."""
    with HttpTarget() as server:
        server.route("/api/tasks", status=201, json_body={"id": 1}, delay_s=HOLD_S, times=1)
        server.route("/api/tasks", status=201, json_body={"id": 2})
        yield server


def mail_ids(smtp: SmtpTarget) -> list[str]:
    return [str(message["Message-ID"]) for message in smtp.messages]


# -- e-mail: ask (the default) ---------------------------------------------------------------
async def test_killed_mid_send_the_mail_that_arrived_is_not_sent_again(
    world: World, smtp_delivered_then_held: SmtpTarget
) -> None:
    smtp = smtp_delivered_then_held
    await world.mail_connection("mailer", smtp)
    version_id = await world.publish(mail_flow("mailer"), "mail")
    run_id = await world.approved_run(version_id)

    entry = await world.killed_mid_call(run_id, lambda: len(smtp.messages) == 1)
    # written down before the call: the adopting process knows a call was under way
    assert (entry.status, entry.attempts) == ("in_flight", 1)
    assert (
        entry.summary is not None and "einkauf@kunde.de" in entry.summary and "Ihr Angebot" in entry.summary
    )
    assert entry.request_digest is not None and len(entry.request_digest) == 64

    await world.adopt(run_id)
    run = await world.run(run_id)
    assert run.status == "waiting", run.error
    assert len(smtp.data_received) == 1  # the adopting process did not send again
    [_, question] = await world.tasks(run_id)
    assert question.node_id == "mail" and question.title.startswith("Wurde das bereits gesendet?")
    assert question.assignees == ["role:admin", "user:admin"]  # the workspace's admins, the owner
    payload = question.request["payload"]
    assert payload["connection"] == "mailer" and payload["call"]["to"] == ["einkauf@kunde.de"]
    assert SMTP_PASSWORD not in json.dumps(question.request)
    assert (await world.journal(run_id))[0].status == "uncertain"

    await world.answer(run_id, "approve")  # "yes, it was sent"
    await world.resume_decided(run_id)
    run = await world.run(run_id)
    assert run.status == "succeeded", run.error
    assert run.outputs == {"decision": "approved", "sent": "sent"}
    assert mail_ids(smtp) == [f"<{run_id}.mail@firma.de>"]  # one e-mail, no duplicate
    assert len(smtp.data_received) == 1
    [entry] = await world.journal(run_id)
    assert (entry.status, entry.attempts) == ("done", 1) and entry.outputs is not None
    assert entry.outputs["response"]["confirmed"] is True
    await world.audit_ok()


async def test_killed_mid_send_a_mail_that_did_not_arrive_is_sent_once_after_a_no(
    world: World, smtp_held_then_delivered: SmtpTarget
) -> None:
    smtp = smtp_held_then_delivered
    await world.mail_connection("mailer", smtp)
    version_id = await world.publish(mail_flow("mailer"), "mail")
    run_id = await world.approved_run(version_id)

    entry = await world.killed_mid_call(run_id, lambda: len(smtp.data_received) == 1)
    assert entry.status == "in_flight"
    await asyncio.sleep(0.3)
    assert smtp.messages == []  # the server dropped it when the client died

    await world.adopt(run_id)
    assert (await world.run(run_id)).status == "waiting"
    await world.answer(run_id, "reject")  # "no, it did not arrive"
    await world.resume_decided(run_id)
    run = await world.run(run_id)
    assert run.status == "succeeded", run.error
    assert run.outputs == {"decision": "approved", "sent": "sent"}
    assert mail_ids(smtp) == [f"<{run_id}.mail@firma.de>"]  # exactly one, same Message-ID
    [entry] = await world.journal(run_id)
    assert (entry.status, entry.attempts) == ("done", 2)
    await world.audit_ok()


# -- HTTP: ask, fail, retry, and an idempotent PUT ---------------------------------------------
async def test_killed_mid_post_the_request_is_not_repeated_until_a_person_answers(
    world: World, slow_http: HttpTarget
) -> None:
    await world.http_connection("crm", slow_http)
    version_id = await world.publish(post_flow("crm"), "crm")
    run_id = await world.approved_run(version_id)

    entry = await world.killed_mid_call(run_id, lambda: len(slow_http.requests) == 1)
    assert entry.status == "in_flight" and entry.summary == "POST 127.0.0.1/api/tasks (JSON 50 B)"
    await world.adopt(run_id)
    assert (await world.run(run_id)).status == "waiting"
    assert len(slow_http.requests) == 1

    await world.answer(run_id, "approve")
    await world.resume_decided(run_id)
    run = await world.run(run_id)
    assert run.status == "succeeded", run.error
    assert run.outputs == {"decision": "approved", "sent": "confirmed"}
    assert len(slow_http.requests) == 1  # 0 duplicates
    assert slow_http.requests[0].headers["idempotency-key"] == f"{run_id}:mail"
    await world.audit_ok()


async def test_on_uncertain_fail_fails_the_step_with_a_clear_code(
    world: World, slow_http: HttpTarget
) -> None:
    await world.http_connection("crm", slow_http, on_uncertain="fail")
    version_id = await world.publish(post_flow("crm"), "crm")
    run_id = await world.approved_run(version_id)

    await world.killed_mid_call(run_id, lambda: len(slow_http.requests) == 1)
    await world.adopt(run_id)
    run = await world.run(run_id)
    assert run.status == "failed"
    assert (
        run.error is not None and run.error["code"] == "side_effect_uncertain" and run.error["node"] == "mail"
    )
    assert "may or may not have arrived" in run.error["message"]
    assert len(slow_http.requests) == 1
    assert [task.node_id for task in await world.tasks(run_id)] == ["check"]  # nobody is asked
    [entry] = await world.journal(run_id)
    assert (entry.status, entry.attempts) == ("uncertain", 1)


async def test_on_uncertain_retry_calls_again_with_the_same_idempotency_key(
    world: World, slow_http: HttpTarget
) -> None:
    await world.http_connection("crm", slow_http, on_uncertain="retry")
    version_id = await world.publish(post_flow("crm"), "crm")
    run_id = await world.approved_run(version_id)

    await world.killed_mid_call(run_id, lambda: len(slow_http.requests) == 1)
    await world.adopt(run_id)
    run = await world.run(run_id)
    assert run.status == "succeeded", run.error
    keys = [request.headers["idempotency-key"] for request in slow_http.requests]
    assert keys == [f"{run_id}:mail", f"{run_id}:mail"]  # the receiver can tell it is the same call
    [entry] = await world.journal(run_id)
    assert (entry.status, entry.attempts) == ("done", 2)


async def test_an_interrupted_put_is_made_again_without_asking(world: World, slow_http: HttpTarget) -> None:
    await world.http_connection("crm", slow_http)  # on_uncertain: ask — but a PUT is idempotent
    version_id = await world.publish(post_flow("crm", method="PUT"), "crm")
    run_id = await world.approved_run(version_id)

    await world.killed_mid_call(run_id, lambda: len(slow_http.requests) == 1)
    await world.adopt(run_id)
    run = await world.run(run_id)
    assert run.status == "succeeded", run.error
    # PUT is idempotent by HTTP's definition: the same PUT twice leaves the same state
    assert [request.method for request in slow_http.requests] == ["PUT", "PUT"]
    assert slow_http.requests[0].body == slow_http.requests[1].body
    [entry] = await world.journal(run_id)
    assert (entry.status, entry.attempts) == ("done", 2)
