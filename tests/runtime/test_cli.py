"""The `dirigent` command line: users, flows, audit, the demo setup of `up`, and `serve`."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, update

from runtime.cli import cli
from runtime.cli.server import run_worker
from runtime.db.database import Database
from runtime.db.models import AuditEntry, Flow, User, Workspace
from runtime.demo import PEOPLE, load_starters, read_passwords, setup_demo
from runtime.engine.validation import validate_document
from runtime.settings import Settings
from tests.support.messages_api_double import MessagesApiDouble

STARTERS = Path(__file__).resolve().parents[2] / "starters"
PASSWORD = "correct-horse-battery"

HELLO = {
    "schema": "dirigent.flow/v1",
    "name": "Begrüßung",
    "inputs": {"name": {"type": "string", "required": True}},
    "nodes": [
        {"id": "start", "type": "input"},
        {"id": "greet", "type": "template", "config": {"template": "Guten Tag, {{ inputs.name }}!"}},
        {"id": "end", "type": "output"},
    ],
    "edges": [{"from": "start", "to": "greet"}, {"from": "greet", "to": "end"}],
    "outputs": {"text": "{{ greet.text }}"},
    "card": {"purpose": "Begrüßt Besucher", "risk": "minimal", "owner": "Empfang"},
}

CYCLIC = {
    "schema": "dirigent.flow/v1",
    "name": "Kreis",
    "nodes": [
        {"id": "start", "type": "input"},
        {"id": "a", "type": "template", "config": {"template": "a"}},
        {"id": "b", "type": "template", "config": {"template": "b"}},
    ],
    "edges": [{"from": "start", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "a"}],
}


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str | None]:
    """The environment of a CLI call: a data dir and database of this test, no LLM."""
    return {
        "DIRIGENT_DATA_DIR": str(tmp_path / "data"),
        "DIRIGENT_DATABASE_URL": database_url,
        "DIRIGENT_LLM_URL": None,
        "DIRIGENT_JWT_SECRET": None,
    }


def dirigent(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def write(path: Path, document: Any) -> str:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return str(path)


# -- users ----------------------------------------------------------------------------
def test_user_add_list_remove(env: dict[str, str | None]) -> None:
    added = dirigent(
        env, "user", "add", "kim", "--password", PASSWORD, "--role", "champion", "--workspace", "sales"
    )
    assert added.exit_code == 0, added.output
    assert "created workspace 'sales'" in added.stdout
    assert "created user 'kim' with role champion in workspace 'sales'" in added.stdout
    assert dirigent(env, "user", "add", "bo", "--password", PASSWORD, "--role", "board").exit_code == 0
    again = dirigent(env, "user", "add", "kim", "--password", PASSWORD, "--role", "admin")
    assert again.exit_code == 0 and "updated user 'kim'" in again.stdout

    listed = dirigent(env, "user", "list")
    assert listed.exit_code == 0
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert set(lines) == {"bo", "kim"}
    assert "admin, champion@sales" in lines["kim"] and "active" in lines["kim"]
    assert "board" in lines["bo"]

    removed = dirigent(env, "user", "remove", "bo")
    assert removed.exit_code == 0 and "removed user 'bo'" in removed.stdout
    assert "removed" in next(
        line for line in dirigent(env, "user", "list").stdout.splitlines() if line.startswith("bo ")
    )


def test_user_errors_are_messages_without_traceback(env: dict[str, str | None]) -> None:
    board = dirigent(env, "user", "add", "bo", "--password", PASSWORD, "--role", "board", "--workspace", "x")
    assert board.exit_code == 1
    assert board.stderr.strip() == "Error: 'board' is a global role; give no workspace"
    short = dirigent(env, "user", "add", "kim", "--password", "short", "--role", "admin")
    assert short.exit_code == 1 and "at least 8 characters" in short.stderr
    missing = dirigent(env, "user", "remove", "nobody")
    assert missing.exit_code == 1 and missing.stderr.strip() == "Error: no user 'nobody'"
    assert "Traceback" not in board.output + short.output + missing.output


# -- flow validate / run ----------------------------------------------------------------
@pytest.mark.parametrize("starter", load_starters(STARTERS), ids=lambda starter: starter.slug)
def test_starters_are_valid(starter: Any, env: dict[str, str | None]) -> None:
    report = validate_document(starter.document)
    assert report.valid, report.errors
    assert starter.language == "de" and starter.description and starter.slug == starter.path.parent.name
    result = dirigent(env, "flow", "validate", str(starter.path))
    assert result.exit_code == 0
    assert f"content hash: {report.content_hash}" in result.stdout


def test_the_starters_are_there() -> None:
    slugs = {starter.slug for starter in load_starters(STARTERS)}
    assert {"faq-assistant", "approval-demo"} <= slugs


def test_flow_validate_reports_every_error(tmp_path: Path, env: dict[str, str | None]) -> None:
    good = dirigent(env, "flow", "validate", write(tmp_path / "hello.json", HELLO))
    assert good.exit_code == 0
    assert good.stdout.splitlines() == [
        "valid: Begrüßung",
        f"content hash: {validate_document(HELLO).content_hash}",
    ]

    bad = dirigent(env, "flow", "validate", write(tmp_path / "cyclic.json", CYCLIC))
    assert bad.exit_code == 1
    assert bad.stdout.splitlines() == [
        "a: the flow has a cycle: a → b → a",
        "b: the flow has a cycle: a → b → a",
    ]

    broken = dict(
        HELLO,
        nodes=[*HELLO["nodes"][:1], {"id": "greet", "type": "template", "config": {}}, HELLO["nodes"][2]],
    )
    fields = dirigent(env, "flow", "validate", write(tmp_path / "broken.json", broken))
    assert fields.exit_code == 1 and "greet.config.template: Field required" in fields.stdout

    (tmp_path / "not.json").write_text("{nope")
    garbage = dirigent(env, "flow", "validate", str(tmp_path / "not.json"))
    assert garbage.exit_code == 1 and "is not JSON" in garbage.stderr


def test_flow_run_template_only_prints_steps_and_outputs(tmp_path: Path, env: dict[str, str | None]) -> None:
    result = dirigent(
        env, "flow", "run", write(tmp_path / "hello.json", HELLO), "--inputs", '{"name": "Frau Müller"}'
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"text": "Guten Tag, Frau Müller!"}
    assert "✔ greet (template) succeeded" in result.stderr
    assert "greet.text = Guten Tag, Frau Müller!" in result.stderr

    missing = dirigent(env, "flow", "run", str(tmp_path / "hello.json"), "--inputs", "{}")
    assert missing.exit_code == 1 and "'name' is required (string)" in missing.stderr


def test_flow_run_approval_waits_or_takes_fixed_decision(env: dict[str, str | None]) -> None:
    flow = str(STARTERS / "approval-demo" / "flow.json")
    inputs = json.dumps({"recipient": "Frau Müller", "topic": "Lieferung"})
    waiting = dirigent(env, "flow", "run", flow, "--inputs", inputs)
    assert waiting.exit_code == 3 and "check needs a person's decision" in waiting.stderr

    decision = {
        "check": {
            "decision": "approved",
            "comment": "",
            "payload": "Geänderter Text",
            "decided_by": ["kim"],
            "branch": "approved",
        }
    }
    approved = dirigent(env, "flow", "run", flow, "--inputs", inputs, "--fixed", json.dumps(decision))
    assert approved.exit_code == 0, approved.output
    outputs = json.loads(approved.stdout)
    assert outputs["decision"] == "approved"
    assert outputs["result"] == "Freigegeben und versendet an Frau Müller:\n\nGeänderter Text"
    assert "notify (template) skipped" in approved.stderr


def test_flow_run_streams_the_llm(env: dict[str, str | None], messages_api: MessagesApiDouble) -> None:
    messages_api.reply(
        "Urlaub beantragen Sie im Personalportal.", usage={"prompt_tokens": 30, "completion_tokens": 6}
    )
    result = dirigent(
        {**env, "DIRIGENT_LLM_URL": messages_api.url},
        "flow",
        "run",
        str(STARTERS / "faq-assistant" / "flow.json"),
        "--inputs",
        '{"question": "Wie beantrage ich Urlaub?"}',
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"answer": "Urlaub beantragen Sie im Personalportal."}
    assert "answer ▸ Urlaub beantragen Sie im Personalportal." in result.stderr  # the streamed tokens
    assert "✔ answer (llm) succeeded" in result.stderr and "36 tokens" in result.stderr
    request = messages_api.last_request
    assert request["stream"] is True
    assert request["messages"][0]["role"] == "system" and "Deutsch" in request["messages"][0]["content"]
    assert "Wie beantrage ich Urlaub?" in request["messages"][1]["content"]


def test_flow_run_without_llm_says_so(env: dict[str, str | None]) -> None:
    result = dirigent(
        env,
        "flow",
        "run",
        str(STARTERS / "faq-assistant" / "flow.json"),
        "--inputs",
        '{"question": "Wie beantrage ich Urlaub?"}',
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert (
        "Error: the run failed at node 'answer' (llm): there is no model endpoint named 'default' "
        "(known endpoints: none); set DIRIGENT_LLM_URL or register an endpoint"
    ) in result.stderr
    assert "Traceback" not in result.output


# -- flow import / export ---------------------------------------------------------------
def test_flow_import_and_export(tmp_path: Path, env: dict[str, str | None]) -> None:
    path = write(tmp_path / "hello.json", HELLO)
    assert (
        dirigent(env, "flow", "import", path, "--workspace", "sales", "--slug", "hello").stderr
        == "Error: no workspace 'sales'\n"
    )
    for name in ("zoe", "champion"):
        dirigent(
            env, "user", "add", name, "--password", PASSWORD, "--role", "champion", "--workspace", "sales"
        )
    dirigent(env, "user", "add", "ulla", "--password", PASSWORD, "--role", "user", "--workspace", "sales")

    created = dirigent(env, "flow", "import", path, "--workspace", "sales", "--slug", "hello")
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("created flow 'hello' in 'sales' as champion: version 1")
    same = dirigent(env, "flow", "import", path, "--workspace", "sales", "--slug", "hello", "--as", "zoe")
    assert same.exit_code == 0 and same.stdout.startswith("unchanged: version 1")
    changed = dict(HELLO, outputs={"text": "{{ greet.text }} Willkommen."})
    saved = dirigent(
        env,
        "flow",
        "import",
        write(tmp_path / "v2.json", changed),
        "--workspace",
        "sales",
        "--slug",
        "hello",
        "--as",
        "zoe",
    )
    assert saved.exit_code == 0 and saved.stdout.startswith("saved version 2 of 'hello' as zoe")

    denied = dirigent(env, "flow", "import", path, "--workspace", "sales", "--slug", "other", "--as", "ulla")
    assert denied.exit_code == 1 and denied.stderr.startswith("Error: ")
    invalid = dirigent(
        env, "flow", "import", write(tmp_path / "c.json", CYCLIC), "--workspace", "sales", "--slug", "kreis"
    )
    assert invalid.exit_code == 1
    assert "Error: the flow document has 2 errors\n  a: the flow has a cycle" in invalid.stderr

    latest = dirigent(env, "flow", "export", "hello")
    assert latest.exit_code == 0 and json.loads(latest.stdout)["outputs"] == changed["outputs"]
    target = tmp_path / "v1.json"
    first = dirigent(env, "flow", "export", "hello", "--version", "1", "-o", str(target))
    assert first.exit_code == 0 and "exported version 1 (draft)" in first.stderr
    exported = validate_document(json.loads(target.read_text()))
    assert exported.content_hash == validate_document(HELLO).content_hash
    missing = dirigent(env, "flow", "export", "hello", "--version", "7")
    assert missing.exit_code == 1 and missing.stderr == "Error: flow 'hello' has no version 7\n"
    assert dirigent(env, "flow", "export", "nope").exit_code == 1


# -- audit ------------------------------------------------------------------------------
def test_audit_verify_and_export(tmp_path: Path, env: dict[str, str | None], database_url: str) -> None:
    dirigent(env, "user", "add", "kim", "--password", PASSWORD, "--role", "champion", "--workspace", "sales")
    verified = dirigent(env, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    # user.created, workspace.created, user.role_granted
    assert verified.stdout.splitlines()[0] == "chain intact: 3 entries"

    target = tmp_path / "audit.jsonl"
    exported = dirigent(env, "audit", "export", "-o", str(target))
    assert exported.exit_code == 0 and "exported 3 entries" in exported.stderr
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [line["action"] for line in lines] == ["user.created", "workspace.created", "user.role_granted"]
    assert dirigent(env, "audit", "export").stdout == target.read_text()

    async def tamper() -> None:
        db = Database(database_url)
        async with db.write() as session:
            await session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor="mallory"))
        await db.dispose()

    asyncio.run(tamper())
    broken = dirigent(env, "audit", "verify")
    assert broken.exit_code == 2
    assert "chain BROKEN at entry 2: entry 2 was altered" in broken.stderr


# -- up: the demo setup -----------------------------------------------------------------
async def _audit_count(db: Database) -> int:
    async with db.read() as session:
        return (await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one()


async def test_demo_setup_is_idempotent(db: Database, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = await setup_demo(db, data_dir, STARTERS)
    assert first.changed
    assert first.created_workspaces == ["demo", "hr"]
    assert first.created_users == list(PEOPLE)
    assert sorted(first.imported) == sorted(starter.slug for starter in load_starters(STARTERS))
    assert all(first.passwords.values())
    password_file = data_dir / "demo-passwords.txt"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert read_passwords(password_file) == first.passwords
    entries = await _audit_count(db)

    second = await setup_demo(db, data_dir, STARTERS)
    assert not second.changed
    assert second.passwords == first.passwords
    assert sorted(second.present) == sorted(first.imported) and not second.notes
    assert await _audit_count(db) == entries  # nothing at all was written

    async with db.read() as session:
        users = {user.username: user for user in (await session.execute(select(User))).scalars()}
        flows = (await session.execute(select(Flow.slug))).scalars().all()
    assert set(users) == set(PEOPLE)
    assert users["board1"].global_roles == ["board"] and users["admin"].global_roles == ["admin"]
    assert sorted(flows) == sorted(first.imported)

    # Without the password file the users stay as they are; their passwords are unknown.
    password_file.unlink()
    third = await setup_demo(db, data_dir, STARTERS)
    assert not third.changed and set(third.passwords.values()) == {None} and len(third.notes) == len(PEOPLE)
    assert await _audit_count(db) == entries


async def test_demo_passwords_log_in(db: Database, tmp_path: Path) -> None:
    from runtime.users.service import authenticate

    setup = await setup_demo(db, tmp_path / "data", STARTERS)
    async with db.write() as session:
        for name, password in setup.passwords.items():
            assert password is not None
            assert (await authenticate(session, name, password)).username == name


async def test_the_demo_has_someone_other_than_the_champion_to_decide_the_champions_tasks(
    db: Database, tmp_path: Path
) -> None:
    """Four eyes on tasks: the demo's champion starts approval-demo (its task goes to
    role:champion) but may not decide it; the demo's reviewer may."""
    from runtime.policy.authorizer import Authorizer
    from runtime.policy.resources import ApprovalTask
    from runtime.users.service import load_actor

    await setup_demo(db, tmp_path / "data", STARTERS)
    [demo] = [starter for starter in load_starters(STARTERS) if starter.slug == "approval-demo"]
    [check] = [node for node in demo.document["nodes"] if node["type"] == "approval"]
    async with db.read() as session:
        ids = dict((await session.execute(select(User.username, User.id))).tuples().all())
        champion = await load_actor(session, ids["champion"])
        reviewer = await load_actor(session, ids["reviewer"])
        demo_workspace = select(Workspace.id).where(Workspace.slug == "demo")
        workspace_id = (await session.execute(demo_workspace)).scalar_one()
    assert champion is not None and reviewer is not None
    task = ApprovalTask(
        id="t1",
        workspace_id=workspace_id,
        assignees=tuple(check["config"]["assignees"]),
        status="open",
        requested_by=champion.id,
        requester_may_decide=bool(check["config"].get("requester_may_decide")),
        risk=demo.document["card"]["risk"],
    )
    authz = Authorizer()
    assert not authz.is_allowed(champion, "decide", task)
    assert authz.is_allowed(reviewer, "decide", task)


# -- worker -----------------------------------------------------------------------------
async def test_worker_sweeps_until_stopped(tmp_path: Path, database_url: str) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, sweep_interval_s=0.05)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, migrate_first=True, stop=stop))
    await asyncio.sleep(0.5)
    assert not worker.done()
    stop.set()
    await asyncio.wait_for(worker, 10)


async def test_a_worker_serves_its_metrics_under_the_same_rule_as_serve(
    tmp_path: Path, database_url: str
) -> None:
    """`dirigent worker --metrics-port`: /metrics with the worker's counters and the
    shared-state gauges; the metrics token is required as at `serve`; nothing else."""
    token = "worker-metrics-" + "t" * 24
    settings = Settings(
        data_dir=tmp_path / "data", database_url=database_url, sweep_interval_s=0.05, metrics_token=token
    )
    port = _free_port()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, migrate_first=True, stop=stop, metrics_port=port))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for _ in range(200):  # until the worker has started its server
                try:
                    refused = await client.get("/metrics")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            assert refused.status_code == 401 and refused.json()["error"] == "metrics_token_required"
            answer = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, answer.text
            assert "dirigent_runs_total" in answer.text and "dirigent_state_up 1.0" in answer.text
            assert (await client.get("/health")).status_code == 404  # the API is not served here
    finally:
        stop.set()
        await asyncio.wait_for(worker, 10)
    with pytest.raises(httpx.ConnectError):  # the server stopped with the worker
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


# -- serve, for real ----------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dirigent_command() -> list[str]:
    script = Path(sys.executable).with_name("dirigent")
    if script.exists():
        return [str(script)]
    found = shutil.which("dirigent")
    return [found] if found else [sys.executable, "-m", "runtime.cli"]


@pytest.mark.slow
def test_serve_answers_and_stops_on_sigterm(env: dict[str, str | None]) -> None:
    added = dirigent(
        env, "user", "add", "kim", "--password", PASSWORD, "--role", "champion", "--workspace", "sales"
    )
    assert added.exit_code == 0, added.output
    port = _free_port()
    process_env = {key: value for key, value in os.environ.items() if not key.startswith("DIRIGENT_")}
    process_env.update({key: value for key, value in env.items() if value is not None})
    process = subprocess.Popen(
        [*_dirigent_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()
            try:
                health = httpx.get(f"{url}/health", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "dirigent serve did not answer /health within 60 s"
            time.sleep(0.2)
        assert health.json()["status"] == "ok"
        login = httpx.post(
            f"{url}/api/auth/login", json={"username": "kim", "password": PASSWORD}, timeout=10
        )
        assert login.status_code == 200, login.text
        token = login.json()["token"]
        me = httpx.get(f"{url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert me.json()["workspaces"][0]["slug"] == "sales"
        assert httpx.get(f"{url}/schema/openapi.json", timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            pytest.fail(f"dirigent serve did not stop on SIGTERM: {stderr}")
    # uvicorn shuts the app down, then re-raises the signal it caught, so that whoever
    # started it sees "terminated by SIGTERM"; a crash would exit 1 or 3.
    assert process.returncode in (0, -signal.SIGTERM), stderr
    assert "Application shutdown complete" in stderr and "Finished server process" in stderr
    assert f"Dirigent runtime on {url}" in stdout
