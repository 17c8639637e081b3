"""Schemathesis against the whole API: every operation, every check, as admin and as a user.

The real app is served by uvicorn on 127.0.0.1 (a thread of this process) on the demo data
of `dirigent up` (`setup_demo`, without filling the knowledge indexes, which loads the
embedding model for a minute), with the Messages-API test double as its LLM. Schemathesis
runs as its own process (`st run --checks all`), reads `/schema/openapi.json`, sends what
it generates for `DIRIGENT_SCHEMATHESIS_SECONDS` seconds per identity (default 25, so
that `make test` spends about a minute here; 300 for the long run the README describes)
and must find nothing: no server error, no undocumented status or content type, no
response that breaks its schema, no schema-valid request refused without a reason that
`schemathesis.toml` explains.

A share of the requests use the ids of the demo data (flows, versions, runs, connections,
indexes, workspaces, assistants), appended to the settings as schemathesis dictionaries.

    DIRIGENT_SCHEMATHESIS_SECONDS=300 .venv/bin/pytest tests/runtime/api/test_schemathesis.py -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from runtime.app import create_app
from runtime.cli.common import database
from runtime.demo import setup_demo
from runtime.settings import Settings
from tests.support.db import ENV_VAR, _create_database, _drop_database, _postgres_url, _run_in_thread
from tests.support.messages_api_double import MessagesApiDouble

pytestmark = pytest.mark.slow
pytest.importorskip("schemathesis", reason="schemathesis comes with the test extra: pip install -e '.[test]'")

SECONDS = int(os.environ.get("DIRIGENT_SCHEMATHESIS_SECONDS", "25"))
SETTINGS_FILE = Path(__file__).with_name("schemathesis.toml")


@dataclass
class DemoServer:
    url: str
    passwords: dict[str, str | None]
    ids: dict[str, list[Any]]

    def token(self, username: str) -> str:
        response = httpx.post(
            f"{self.url}/api/auth/login",
            json={"username": username, "password": self.passwords[username]},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["token"])


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """SQLite in `directory`, or a database of its own on the server of `DIRIGENT_TEST_DATABASE_URL`."""
    server = _postgres_url(os.environ.get(ENV_VAR, "") or "sqlite://")
    if server is None:
        yield f"sqlite+aiosqlite:///{directory / 'dirigent.db'}"
        return
    name = f"dirigent_st_{os.getpid()}_{int(time.time())}"
    _run_in_thread(lambda: _create_database(server, name))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _run_in_thread(lambda: _drop_database(server, name))


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """`app` on a free port of 127.0.0.1 until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="schemathesis-target", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the runtime did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)


def demo_ids(url: str, token: str) -> dict[str, list[Any]]:
    """Ids of the demo data, by the name of the parameter that takes them; a few things
    (a run, a webhook trigger) are made first, so that there is one of each."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:

        def get(path: str) -> Any:
            response = client.get(path)
            response.raise_for_status()
            return response.json()

        flows = get("/api/flows")
        (faq,) = [flow for flow in flows if flow["live_version"]]  # the demo's FAQ assistant
        run = client.post(f"/api/assistants/{faq['slug']}/runs", json={"inputs": {"question": "Urlaub?"}})
        trigger = client.post(f"/api/assistants/{faq['slug']}/triggers", json={"kind": "webhook"})
        run.raise_for_status()
        trigger.raise_for_status()
        return {
            "flow_id": [flow["id"] for flow in flows],
            "number": [1, 2],
            "slug": [faq["slug"]],
            "workspace": ["demo", "hr"],
            "run_id": [run.json()["id"]],
            "trigger_id": [trigger.json()["id"]],
            "report_id": [report["id"] for report in get(f"/api/flows/{faq['id']}/versions/1/test-reports")],
            "connection_id": [item["id"] for item in get("/api/workspaces/demo/connections")],
            "index_id": [item["id"] for item in get("/api/workspaces/demo/knowledge")],
            "name": ["default"],
        }


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    directory = tmp_path_factory.mktemp("schemathesis")
    with fresh_database(directory) as url, MessagesApiDouble() as llm:
        settings = Settings(
            data_dir=directory / "data", database_url=url, jwt_secret="st-" + "x" * 40, llm_url=llm.url
        )

        async def prepare() -> dict[str, str | None]:
            async with database(settings) as db:
                demo = await setup_demo(db, directory / "data", settings=settings, sample_documents=False)
            return demo.passwords

        passwords = _run_in_thread(prepare)
        with serve(create_app(settings)) as base_url:
            server = DemoServer(base_url, passwords, {})
            server.ids = demo_ids(base_url, server.token("champion"))
            yield server


def settings_with_ids(path: Path, ids: dict[str, list[Any]]) -> Path:
    """`schemathesis.toml` plus one dictionary per parameter name, drawn half of the time."""
    lines = [SETTINGS_FILE.read_text(encoding="utf-8"), ""]
    for name, values in ids.items():
        if values:
            lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for name, values in ids.items():
        if values:
            lines.append(f'"{name}" = {{ dictionary = "{name}", probability = 0.5 }}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("username", ["admin", "user"])
def test_schemathesis_finds_nothing(demo_server: DemoServer, username: str, tmp_path: Path) -> None:
    config = settings_with_ids(tmp_path / "schemathesis.toml", demo_server.ids)
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color", "run",
        f"{demo_server.url}/schema/openapi.json",
        "--checks", "all",
        # Signing out ends the session whose token the run sends: every later request would
        # be 401 (tests/runtime/api/test_sessions.py covers logout).
        "--exclude-name", "POST /api/auth/logout",
        "--header", f"Authorization: Bearer {demo_server.token(username)}",
        "--max-time", str(SECONDS),
        "--workers", "1",
        "--request-timeout", "60",
        "--report", "json", "--report-dir", str(tmp_path / "report"),
    ]  # fmt: skip
    finished = subprocess.run(  # in tmp_path: schemathesis keeps a cache in its working directory
        command, capture_output=True, text=True, timeout=SECONDS + 600, check=False, cwd=tmp_path
    )
    output = finished.stdout + finished.stderr
    (tmp_path / "schemathesis.log").write_text(output, encoding="utf-8")
    (report_file,) = (tmp_path / "report").glob("*.json")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    cases, operations = report["test_cases"], report["operations"]
    print(f"\nschemathesis as {username}: {cases['generated']} cases, "
          f"{operations['tested']} of {operations['total']} operations, "
          f"{cases['with_failures']} with failures, {len(report['errors'])} errors, "
          f"{report['running_time']:.0f} s")  # fmt: skip
    assert finished.returncode == 0 and not report["failures"] and not report["errors"], (
        f"{output[-20000:]}\n(the whole output: {tmp_path / 'schemathesis.log'})"
    )
