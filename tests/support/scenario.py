"""Building blocks for API tests: flow documents, and a `Scenario` that walks the lifecycle.

    fast_passwords   fixture: Argon2 with minimal cost while the test seeds and logs in
                     users (the `api` fixture hashes and verifies nine passwords; at the
                     production cost that is seconds per test)
    scenario         fixture: a `Scenario` on the `api` harness (a new app per test)
    shared_app, sc, llm
                     a module-scoped app (one per test module, people logged in once),
                     its `Scenario` and its LLM double; see below

    flow = await scenario.create(qa_flow())                     # draft v1 by champion
    await scenario.live(qa_flow(), "fragen")                    # created, submitted, approved, published
    run = await scenario.invoke("fragen", {"question": "?"})   # as `user`

Documents: `qa_flow` (input → llm → output), `template_flow` (no LLM: fast runs),
`approval_flow` (input → approval → template → output; the task goes to champion2).
Each carries a small real test case (the LLM's answer fixed), since only versions whose
test cases passed can be submitted: `Scenario.submit` runs them first.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient
from litestar.testing.transport import TestClientTransport
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.app import create_app
from runtime.db import models
from runtime.users import passwords
from runtime.users.service import add_user
from tests.support.api import PASSWORD, PEOPLE, ApiHarness, api_settings, seed_people
from tests.support.db import ENV_VAR, _create_database, _drop_database, _postgres_url, _run_in_thread
from tests.support.messages_api_double import MessagesApiDouble

# --------------------------------------------------------------------------- documents


def qa_flow(
    prompt: str = "Beantworte: {{ inputs.question }}",
    *,
    risk: str = "limited",
    name: str = "Fragen",
    audience: list[str] | None = None,
) -> dict[str, Any]:
    """input → llm → output; `answer` is the LLM's text. Its test case fixes the LLM's answer."""
    document: dict[str, Any] = {
        "schema": "dirigent.flow/v1",
        "name": name,
        "inputs": {"question": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "answer", "type": "llm", "config": {"prompt": prompt, "max_tokens": 64}},
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "answer"}, {"from": "answer", "to": "end"}],
        "outputs": {"answer": "{{ answer.text }}"},
        "card": {"purpose": "Fragen beantworten", "risk": risk, "owner": "Vertrieb"},
        "tests": [
            {
                "name": "beantwortet die Frage",
                "inputs": {"question": "Wann liefern Sie?"},
                "fixed": {"answer": {"text": "Morgen."}},
                "expect": [
                    {"check": "equals", "output": "answer", "value": "Morgen."},
                    {"check": "no_connector_call"},
                ],
            }
        ],
        "layout": {"start": {"x": 0, "y": 0}},
    }
    if audience is not None:
        document["audience"] = audience
    return document


def template_flow(
    template: str = "Hallo {{ inputs.name }}",
    *,
    risk: str = "limited",
    audience: list[str] | None = None,
    marker: str = "",
) -> dict[str, Any]:
    """input → template → output, no LLM: runs finish in milliseconds.

    `marker` goes into the description, so that two otherwise equal documents differ. Its test
    case expects the run to succeed for `name: Ada` (whatever `template` says)."""
    document: dict[str, Any] = {
        "schema": "dirigent.flow/v1",
        "name": "Gruss",
        "description": f"Grüßt {marker}".strip(),
        "inputs": {
            "name": {"type": "string", "required": True},
            "times": {"type": "integer", "required": False},
        },
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "greet", "type": "template", "config": {"template": template}},
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "greet"}, {"from": "greet", "to": "end"}],
        "outputs": {"text": "{{ greet.text }}"},
        "card": {"purpose": "Grüßen", "risk": risk, "owner": "Vertrieb"},
        "tests": [
            {
                "name": "grüßt Ada",
                "inputs": {"name": "Ada"},
                "expect": [{"check": "status", "value": "succeeded"}],
            }
        ],
        "layout": {"start": {"x": 10, "y": 20}, "greet": {"x": 200, "y": 20}},
    }
    if audience is not None:
        document["audience"] = audience
    return document


def approval_flow(
    *, assignees: tuple[str, ...] = ("user:champion2",), editable: bool = True, with_llm: bool = False
) -> dict[str, Any]:
    """input → [llm →] approval (editable JSON payload) → template → output.

    Outputs: `decision` and `sent` (the payload after the decision, as the template saw it).
    Its test case approves (the LLM's draft fixed)."""
    upstream = "draft" if with_llm else "start"
    payload = (
        '{"to": "{{ inputs.customer }}", "text": {{ draft.text | json }}}'
        if with_llm
        else '{"to": "{{ inputs.customer }}", "text": "Angebot folgt"}'
    )
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "input"}]
    edges: list[dict[str, Any]] = []
    if with_llm:
        nodes.append(
            {
                "id": "draft",
                "type": "llm",
                "config": {"prompt": "Schreibe an {{ inputs.customer }}", "max_tokens": 32},
            }
        )
        edges.append({"from": "start", "to": "draft"})
    nodes += [
        {
            "id": "check",
            "type": "approval",
            "config": {
                "assignees": list(assignees),
                "editable": editable,
                "title": "Mail an {{ inputs.customer }}",
                "instructions": "Bitte prüfen",
                "payload": payload,
            },
        },
        {"id": "send", "type": "template", "config": {"template": "{{ check.payload | json }}"}},
        {"id": "end", "type": "output"},
    ]
    edges += [
        {"from": upstream, "to": "check"},
        {"from": "check", "to": "send", "when": "approved"},
        {"from": "send", "to": "end"},
    ]
    return {
        "schema": "dirigent.flow/v1",
        "name": "Freigabe",
        "inputs": {"customer": {"type": "string", "required": True}},
        "nodes": nodes,
        "edges": edges,
        "outputs": {"decision": "{{ check.decision }}", "sent": "{{ send.text }}"},
        "card": {"purpose": "Mails mit Freigabe", "risk": "limited", "owner": "Vertrieb"},
        "tests": [
            {
                "name": "freigegeben",
                "inputs": {"customer": "Müller GmbH"},
                "fixed": {"draft": {"text": "Guten Tag"}} if with_llm else {},
                "decisions": {"check": {"decision": "approve", "comment": "passt"}},
                "expect": [
                    {"check": "approval_raised", "node": "check"},
                    {"check": "equals", "output": "decision", "value": "approved"},
                    {"check": "contains", "output": "sent", "value": "Müller GmbH"},
                ],
            }
        ],
    }


# --------------------------------------------------------------------------- scenario

T = TypeVar("T")
_slugs = itertools.count(1)


def unique_slug(prefix: str = "flow") -> str:
    return f"{prefix}-{next(_slugs)}"


def expect(response: httpx.Response, status: int) -> Any:
    """The JSON body, after checking the status (the body is in the failure message)."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: "
        f"expected {status}, got {response.status_code}: {response.text}"
    )
    return response.json() if response.content else None


@dataclass
class Scenario:
    api: ApiHarness
    flows: dict[str, str] = field(default_factory=dict)  # slug -> flow id

    def as_(self, username: str | None) -> Any:
        return self.api.as_(username)

    async def create(
        self,
        document: dict[str, Any],
        slug: str | None = None,
        *,
        by: str = "champion",
        workspace: str = "sales",
    ) -> dict[str, Any]:
        slug = slug or unique_slug()
        body = expect(
            await self.as_(by).post(
                f"/api/workspaces/{workspace}/flows",
                json={"name": document.get("name", slug), "slug": slug, "document": document},
            ),
            201,
        )
        self.flows[slug] = body["id"]
        return body

    async def save(
        self, flow_id: str, document: dict[str, Any], *, by: str = "champion", status: int | None = None
    ) -> dict[str, Any]:
        response = await self.as_(by).post(f"/api/flows/{flow_id}/versions", json={"document": document})
        if status is not None:
            return expect(response, status)  # type: ignore[no-any-return]
        assert response.status_code in (200, 201), response.text
        return response.json()  # type: ignore[no-any-return]

    async def act(
        self,
        flow_id: str,
        number: int,
        action: str,
        *,
        by: str,
        status: int = 200,
        comment: str | None = None,
    ) -> Any:
        kwargs: dict[str, Any] = {}
        if comment is not None:
            kwargs["json"] = {"comment": comment}
        return expect(
            await self.as_(by).post(f"/api/flows/{flow_id}/versions/{number}/{action}", **kwargs), status
        )

    async def run_tests(
        self,
        flow_id: str,
        number: int = 1,
        *,
        by: str = "champion",
        live: bool = False,
        passed: bool | None = True,
    ) -> dict[str, Any]:
        """Run the version's test cases (POST .../test); the stored report."""
        report = expect(
            await self.as_(by).post(f"/api/flows/{flow_id}/versions/{number}/test", json={"live": live}), 201
        )
        if passed is not None:
            assert report["passed"] is passed, report
        return report  # type: ignore[no-any-return]

    async def submit(self, flow_id: str, number: int = 1, *, by: str = "champion") -> Any:
        """Run the version's test cases (they must pass), then submit it."""
        await self.run_tests(flow_id, number, by=by)
        return await self.act(flow_id, number, "submit", by=by)

    async def approve(self, flow_id: str, number: int = 1, *, by: str = "board1") -> Any:
        return await self.act(flow_id, number, "approve", by=by, comment="passt")

    async def publish(self, flow_id: str, number: int = 1, *, by: str = "champion") -> Any:
        return await self.act(flow_id, number, "publish", by=by)

    async def approved(self, flow_id: str, number: int = 1) -> Any:
        """Submit and approve (enough board members for the version's risk)."""
        await self.submit(flow_id, number)
        state = await self.approve(flow_id, number, by="board1")
        if state["state"] == "submitted":
            state = await self.approve(flow_id, number, by="board2")
        assert state["state"] == "approved", state
        return state

    async def live(self, document: dict[str, Any], slug: str | None = None) -> dict[str, Any]:
        """A flow whose version 1 is published; returns the created flow."""
        flow = await self.create(document, slug)
        await self.approved(flow["id"], 1)
        await self.publish(flow["id"], 1)
        return flow

    async def invoke(
        self, slug: str, inputs: dict[str, Any], *, by: str = "user", status: int = 200, **options: Any
    ) -> Any:
        return expect(
            await self.as_(by).post(f"/api/assistants/{slug}/runs", json={"inputs": inputs, **options}),
            status,
        )

    async def waiting_run(
        self, slug: str, *, by: str = "user", customer: str = "Müller GmbH"
    ) -> dict[str, Any]:
        """Invoke an approval flow; the run waits, with one open task."""
        run = await self.invoke(slug, {"customer": customer}, by=by)
        assert run["status"] == "waiting", run
        assert len(run["tasks"]) == 1 and run["tasks"][0]["status"] == "open", run["tasks"]
        return run  # type: ignore[no-any-return]

    async def race(self, *calls: tuple[Any, ...]) -> list[httpx.Response]:
        """Send (who, method, path[, json body]) requests at the same moment, each from a thread.

        The test client's transport blocks its caller until the app has answered, so
        `asyncio.gather` of its requests would send them one after the other; from threads
        they reach the app's loop together and really interleave."""
        barrier = threading.Barrier(len(calls))
        transport = TestClientTransport(client=self.api.client)  # type: ignore[arg-type]

        def send(who: str | None, method: str, path: str, body: Any = None) -> httpx.Response:
            request = httpx.Request(
                method,
                str(self.api.client.base_url).rstrip("/") + path,
                headers=self.as_(who)._headers(),
                json=body,
            )
            barrier.wait(timeout=10)
            response = transport.handle_request(request)
            response.read()
            return response

        return list(await asyncio.gather(*(asyncio.to_thread(send, *call) for call in calls)))

    async def audit_ok(self) -> dict[str, Any]:
        result = expect(await self.as_("board1").get("/api/audit/verify"), 200)
        assert result["ok"] is True, result
        return result  # type: ignore[no-any-return]

    async def versions(self, flow_id: str) -> list[dict[str, Any]]:
        return expect(await self.as_("champion").get(f"/api/flows/{flow_id}/versions"), 200)  # type: ignore[no-any-return]

    async def audit_count(self) -> int:
        return int((await self.audit_ok())["entries"])

    def in_app(self, work: Callable[[AsyncSession], Awaitable[T]], *, write: bool = False) -> T:
        """`await work(session)` on the app's event loop, in a transaction of the app's database.

        The test client runs the app (and its connection pool) in a loop of its own, in another
        thread; PostgreSQL connections must not be used from the test's loop."""

        async def job() -> T:
            database = self.api.runtime.db
            async with database.write() if write else database.read() as session:
                return await work(session)

        return self.api.client.blocking_portal.call(job)  # type: ignore[no-any-return]

    async def counts(self) -> dict[str, int]:
        """Rows per table that a failed write must not touch (audit entries aside)."""
        tables = (
            models.Workspace,
            models.Flow,
            models.FlowVersion,
            models.VersionReview,
            models.Run,
            models.ApprovalTask,
            models.TaskDecision,
        )

        async def count(session: AsyncSession) -> dict[str, int]:
            return {
                table.__tablename__: (
                    await session.execute(select(func.count()).select_from(table))
                ).scalar_one()
                for table in tables
            }

        return self.in_app(count)

    async def add_person(self, username: str, *roles: tuple[str, str | None]) -> str:
        """Create a user with the given (role, workspace) pairs, log them in; the token."""

        async def add(session: AsyncSession) -> None:
            for role, workspace in roles:
                await add_user(session, username, PASSWORD, role, workspace)

        self.in_app(add, write=True)
        return await self.api.login(username)


# --------------------------------------------------------------------------- fixtures

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Cheap Argon2 parameters for users created in the test (verify reads them from the hash)."""
    monkeypatch.setattr(passwords, "_HASHER", CHEAP_HASHER)
    yield


@pytest.fixture(name="scenario")
async def scenario_fixture(fast_passwords: None, api: ApiHarness) -> AsyncIterator[Scenario]:
    yield Scenario(api)


@contextlib.contextmanager
def _module_database(tmp_dir: Path) -> Iterator[str]:
    """Like `tests.support.db.database_url`, for a fixture that outlives one test."""
    server = _postgres_url(os.environ.get(ENV_VAR, "") or "sqlite://")
    if server is None:
        yield f"sqlite+aiosqlite:///{tmp_dir / 'dirigent.db'}"
        return
    name = f"dirigent_test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    _run_in_thread(lambda: _create_database(server, name))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(Exception):
            _run_in_thread(lambda: _drop_database(server, name))


@contextlib.asynccontextmanager
async def shared_scenario(tmp_dir: Path) -> AsyncIterator[tuple[Scenario, MessagesApiDouble]]:
    """An app, its people and an LLM double that several tests share (module-scoped fixtures).

    Tests on it must not depend on each other's data: give every flow its own slug."""
    with (
        pytest.MonkeyPatch.context() as patch,
        MessagesApiDouble() as double,
        _module_database(tmp_dir) as url,
    ):
        patch.setattr(passwords, "_HASHER", CHEAP_HASHER)
        app = create_app(api_settings(tmp_dir, url, llm_url=double.url))
        async with AsyncTestClient(app=app) as client:
            await seed_people(url)
            harness = ApiHarness(client, app.state.composition.settings)
            for name in PEOPLE:
                await harness.login(name)
            yield Scenario(harness), double


# Module-scoped: a test module imports `shared_app_fixture, sc_fixture, llm_fixture` (the
# fixtures `shared_app`, `sc`, `llm`) and marks its tests
# `pytestmark = pytest.mark.asyncio(loop_scope="module")`; each module gets an app of its own.


@pytest_asyncio.fixture(scope="module", loop_scope="module", name="shared_app")
async def shared_app_fixture(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Scenario, MessagesApiDouble]]:
    async with shared_scenario(tmp_path_factory.mktemp("api")) as pair:
        yield pair


@pytest_asyncio.fixture(loop_scope="module", name="sc")
async def sc_fixture(shared_app: tuple[Scenario, MessagesApiDouble]) -> AsyncIterator[Scenario]:
    """The module's `Scenario`; after each test the audit chain must verify."""
    scenario, double = shared_app
    double.reply("Antwort vom Modell.")
    double.requests.clear()
    yield scenario
    await scenario.audit_ok()


@pytest.fixture(name="llm")
def llm_fixture(shared_app: tuple[Scenario, MessagesApiDouble]) -> MessagesApiDouble:
    """The module's LLM double (answers are reset before each test by `sc`)."""
    return shared_app[1]
