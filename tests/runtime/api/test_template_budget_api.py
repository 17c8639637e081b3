"""/health answers while a champion's hostile template is rendered in a draft test run.

The real app (its lifespan, its event loop in the test client's thread) runs a draft
version (no board involved) whose template node holds each of `HOSTILE_TEMPLATES`. While
the test run is in flight, /health is called again and again from another thread, each
call with a short timeout: were the template rendered on the app's event loop, /health
would wait for it (lipsum(999999) took 58 s). Twice: under the default budget (the
template is refused with `template_budget_exceeded`), and with the static limits lifted,
where the worker process renders until its hard stop (CPU time, wall clock, memory).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from litestar.testing import transport as test_transport

from nodes.rendering.budget import TemplateLimits
from nodes.rendering.workers import ProcessLimits, Templates
from runtime.app import create_app
from tests.nodes.hostile_templates import HOSTILE_TEMPLATES, Hostile
from tests.support.api import ApiHarness, api_settings, seed_people
from tests.support.scenario import fast_passwords, template_flow  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("fast_passwords")

HEALTH_TIMEOUT_S = 0.5
NO_STATIC_LIMITS = TemplateLimits(**{field.name: 10**18 for field in dataclasses.fields(TemplateLimits)})


@dataclasses.dataclass
class Watched:
    run: dict[str, Any]  # the test run's answer
    run_s: float  # how long the test run took
    health_s: list[float]  # how long each /health took (all within HEALTH_TIMEOUT_S)
    during_run: int  # /health calls that began and ended while the test run was in flight


class App:
    """The app of one test and a champion's token; requests from threads, as a browser would."""

    def __init__(self, harness: ApiHarness) -> None:
        self.harness = harness
        self.transport = test_transport.TestClientTransport(client=harness.client)  # type: ignore[arg-type]

    def _send(self, method: str, path: str, body: Any = None, *, token: bool = True) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.harness.tokens['champion']}"} if token else {}
        request = httpx.Request(
            method, str(self.harness.client.base_url).rstrip("/") + path, headers=headers, json=body
        )
        response = self.transport.handle_request(request)
        response.read()
        return response

    async def draft_flow(self, template: str) -> str:
        response = await asyncio.to_thread(
            self._send,
            "POST",
            "/api/workspaces/sales/flows",
            {
                "name": "Feindlich",
                "slug": f"hostile-{time.monotonic_ns()}",
                "document": template_flow(template),
            },
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def health(self) -> float:
        began = time.perf_counter()
        response = await asyncio.wait_for(
            asyncio.to_thread(self._send, "GET", "/health", token=False), HEALTH_TIMEOUT_S
        )
        assert response.status_code == 200 and response.json()["status"] == "ok", response.text
        return time.perf_counter() - began

    async def test_run_watching_health(self, flow_id: str) -> Watched:
        path = f"/api/flows/{flow_id}/versions/1/runs"
        began = time.perf_counter()
        run = asyncio.ensure_future(
            asyncio.to_thread(self._send, "POST", path, {"inputs": {"name": "Ada"}, "wait_s": 60})
        )
        health_s: list[float] = []
        during_run = 0
        while True:
            took = await self.health()  # raises TimeoutError when /health does not answer in time
            health_s.append(took)
            if run.done():
                break
            during_run += 1
            await asyncio.sleep(0.02)
        response = await run
        assert response.status_code == 200, response.text
        return Watched(response.json(), time.perf_counter() - began, health_s, during_run)


@asynccontextmanager
async def running_app(tmp_path: Path, database_url: str, templates: Templates | None) -> AsyncIterator[App]:
    settings = api_settings(tmp_path, database_url)
    app = create_app(settings, services={"templates": templates} if templates is not None else None)
    async with AsyncTestClient(app=app) as client:
        await seed_people(database_url)
        harness = ApiHarness(client, settings)
        await harness.login("champion")
        yield App(harness)


@pytest.fixture
def watch(tmp_path: Path, database_url: str) -> Callable[..., Any]:
    return lambda templates=None: running_app(tmp_path, database_url, templates)


async def _watch_each(app: App, hostiles: list[Hostile]) -> dict[str, Watched]:
    watched = {}
    for hostile in hostiles:
        flow_id = await app.draft_flow(hostile.template)
        watched[hostile.name] = await app.test_run_watching_health(flow_id)
    return watched


@pytest.mark.timing  # /health within 0.5 s: not beside other tests on 2 cores
async def test_health_answers_while_the_budget_refuses_each_hostile_template(watch: Any) -> None:
    async with watch() as app:
        watched = await _watch_each(app, HOSTILE_TEMPLATES)
    for hostile in HOSTILE_TEMPLATES:
        result = watched[hostile.name]
        error = result.run["error"]
        assert result.run["status"] == "failed", (hostile.name, result.run)
        assert error["node"] == "greet" and error["code"] == "template_budget_exceeded", (hostile.name, error)
        assert error["limit"] in hostile.limits, (hostile.name, error)
        assert max(result.health_s) < HEALTH_TIMEOUT_S, (hostile.name, result)
        assert result.run_s < 10, (hostile.name, result.run_s)


@pytest.mark.timing  # /health within 0.5 s: not beside other tests on 2 cores
@pytest.mark.slow
async def test_health_answers_while_a_worker_renders_each_hostile_template_up_to_its_hard_stop(
    watch: Any,
) -> None:
    templates = Templates(
        NO_STATIC_LIMITS, ProcessLimits(workers=1, cpu_seconds=0.5, wall_seconds=1.0, memory_mb=40)
    )
    async with watch(templates) as app:
        watched = await _watch_each(app, HOSTILE_TEMPLATES)
    busy = 0
    for hostile in HOSTILE_TEMPLATES:
        result = watched[hostile.name]
        assert result.run["status"] == "failed", (hostile.name, result.run)
        assert result.run["error"]["node"] == "greet", (hostile.name, result.run["error"])
        assert max(result.health_s) < HEALTH_TIMEOUT_S, (hostile.name, result)
        assert result.run_s < 10, (hostile.name, result.run_s)
        busy += result.during_run >= 3
    # Most of them keep their worker busy for a good part of a second: /health was asked
    # (and answered) several times while they ran.
    assert busy >= len(HOSTILE_TEMPLATES) // 2, {name: result.during_run for name, result in watched.items()}


# -- validating big templates ----------------------------------------------------------------
def _big_template(characters: int) -> str:
    """A template that only the parser can read (filters, conditions), `characters` long."""
    piece = "{% if inputs.name %}{{ inputs.name|upper|trim }}{% endif %} "
    return (piece * (characters // len(piece) + 1))[:characters].rsplit("{%", 1)[0]


async def test_a_template_too_long_to_write_by_hand_is_refused_before_it_is_parsed(watch: Any) -> None:
    async with watch() as app:
        response = await asyncio.to_thread(
            app._send, "POST", "/api/flows/validate", {"document": template_flow("x" * 100_001)}
        )
    assert response.status_code == 200, response.text
    problems = [error for error in response.json()["errors"] if error["field"] == "config.template"]
    assert problems and "100,001 characters; at most 100,000" in problems[0]["message"], problems


async def test_health_answers_while_a_document_full_of_big_templates_is_validated(watch: Any) -> None:
    """Parsing ~0.9 MB of Jinja takes seconds of CPU: before, on the event loop, so /health
    waited for all of it. Compared relative to the validation's own duration, so that a
    busy machine (slower at both) does not decide the outcome."""
    document = template_flow(_big_template(90_000))
    greet = next(node for node in document["nodes"] if node["type"] == "template")
    for number in range(9):  # ten template nodes in a row, each with its own big template
        clone = {**greet, "id": f"greet{number}", "config": {"template": _big_template(90_000 - number)}}
        document["nodes"].append(clone)
    async with watch() as app:
        began = time.perf_counter()
        validating = asyncio.ensure_future(
            asyncio.to_thread(app._send, "POST", "/api/flows/validate", {"document": document})
        )
        health_s = []
        while not validating.done():
            asked = time.perf_counter()
            health = await asyncio.to_thread(app._send, "GET", "/health", token=False)
            assert health.status_code == 200, health.text
            health_s.append(time.perf_counter() - asked)
            await asyncio.sleep(0.02)
        response = await validating
        took = time.perf_counter() - began
    assert response.status_code == 200, response.text
    # /health was answered again and again while the document was checked, each time in a
    # small part of the validation's duration (on the event loop: one answer, after it all).
    assert len(health_s) >= 3, (health_s, took)
    assert max(health_s) < took / 3, (health_s, took)
