"""/metrics end to end: flows that succeed, fail and wait for a person change what a scrape
says; the token protects it (401 without, 403 with a wrong one); without a token only
loopback clients get an answer (a real uvicorn server on 127.0.0.1 for that)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import click
import httpx
import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from pydantic import ValidationError

from runtime.app import create_app
from runtime.cli.common import load_settings
from runtime.settings import Settings
from runtime.users import passwords
from tests.runtime.observability.scrape import samples, total, value
from tests.support.api import PEOPLE, ApiHarness, api_settings, seed_people
from tests.support.messages_api_double import MessagesApiDouble
from tests.support.scenario import CHEAP_HASHER, Scenario, approval_flow, qa_flow, template_flow

TOKEN = "metrics-token-" + "k" * 24
RUNS_ROUTE = "/api/assistants/{slug}/runs"


@pytest.fixture
async def metered(
    tmp_path: Path, database_url: str, messages_api: MessagesApiDouble, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Scenario]:
    """The app with DIRIGENT_METRICS_TOKEN set and the shared-state gauges read at every scrape."""
    monkeypatch.setattr(passwords, "_HASHER", CHEAP_HASHER)
    app = create_app(api_settings(tmp_path, database_url, llm_url=messages_api.url, metrics_token=TOKEN))
    app.state.metrics_state.ttl_s = 0.0
    async with AsyncTestClient(app=app) as client:
        await seed_people(database_url)
        harness = ApiHarness(client, app.state.composition.settings)
        for name in PEOPLE:
            await harness.login(name)
        yield Scenario(harness)


async def scrape(sc: Scenario) -> str:
    response = await sc.api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


async def test_runs_nodes_llm_approvals_and_requests_show_in_the_scrape(
    metered: Scenario, messages_api: MessagesApiDouble
) -> None:
    sc = metered
    greeting = await sc.live(template_flow(), "gruss-metrics")
    question = await sc.live(qa_flow(), "fragen-metrics")
    approval = await sc.live(approval_flow(), "freigabe-metrics")
    before = samples(await scrape(sc))

    run = await sc.invoke(greeting["slug"], {"name": "Ada"})
    assert run["status"] == "succeeded"
    messages_api.reply("Morgen.", usage={"prompt_tokens": 11, "completion_tokens": 3})
    assert (await sc.invoke(question["slug"], {"question": "Wann?"}))["status"] == "succeeded"
    messages_api.reply("kaputt", status=500)
    assert (await sc.invoke(question["slug"], {"question": "Wann?"}))["status"] == "failed"
    await sc.waiting_run(approval["slug"], customer="Müller GmbH")
    assert (await sc.as_(None).get("/api/runs")).status_code == 401  # refused by the authentication
    text = await scrape(sc)
    after = samples(text)

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    runs = "dirigent_runs_total"
    assert grew(runs, assistant="gruss-metrics", workspace="sales", status="succeeded", test="false") == 1
    assert grew(runs, assistant="fragen-metrics", status="succeeded") == 1
    assert grew(runs, assistant="fragen-metrics", status="failed") == 1
    assert grew(runs, assistant="freigabe-metrics", status="waiting") == 1
    assert grew("dirigent_run_duration_seconds_count", assistant="gruss-metrics", status="succeeded") == 1
    assert grew("dirigent_node_duration_seconds_count", node_type="template", status="succeeded") >= 1
    assert grew("dirigent_node_duration_seconds_count", node_type="llm", status="failed") == 1
    assert grew("dirigent_node_duration_seconds_count", node_type="approval", status="waiting") == 1

    assert grew("dirigent_llm_tokens_total", model="default", kind="prompt") == 11
    assert grew("dirigent_llm_tokens_total", model="default", kind="completion") == 3
    assert grew("dirigent_llm_request_duration_seconds_count", model="default", outcome="ok") == 1
    assert grew("dirigent_llm_request_duration_seconds_count", model="default", outcome="error") == 1
    assert grew("dirigent_llm_time_to_first_token_seconds_count", model="default") == 1

    # Shared state, read from the database: the waiting run and its open task.
    assert value(after, "dirigent_state_up") == 1
    assert value(after, "dirigent_approvals_waiting", workspace="sales") == 1
    assert value(after, "dirigent_approvals_oldest_age_seconds", workspace="sales") >= 0
    assert value(after, "dirigent_runs_in_progress", workspace="sales", status="waiting") == 1
    assert value(after, "dirigent_ingestion_jobs", status="queued") == 0
    assert value(after, "dirigent_ingestion_files_pending") == 0

    # HTTP requests by route template: never the raw path with a slug in it.
    assert grew("dirigent_http_requests_total", method="POST", route=RUNS_ROUTE, status="200") == 4
    assert grew("dirigent_http_requests_total", method="GET", route="/api/runs", status="401") == 1
    assert grew("dirigent_http_request_duration_seconds_count", method="POST", route=RUNS_ROUTE) == 4
    routes = {dict(labels).get("route") for (name, labels) in after if name == "dirigent_http_requests_total"}
    assert not any(slug in str(route) for route in routes for slug in ("gruss-metrics", "freigabe-metrics"))
    # Nothing personal in any label: no user names, no inputs.
    assert "Müller" not in text and "Ada" not in text and 'user="' not in text


async def test_the_token_is_required_and_checked(metered: Scenario) -> None:
    client = metered.api.client
    missing = await client.get("/metrics")
    assert missing.status_code == 401 and missing.json()["error"] == "metrics_token_required"
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
    assert wrong.status_code == 403 and wrong.json()["error"] == "metrics_token_invalid"
    # A person's session token is not the metrics token, whoever it belongs to.
    session = await client.get("/metrics", headers={"Authorization": f"Bearer {metered.api.tokens['admin']}"})
    assert session.status_code == 403 and session.json()["error"] == "metrics_token_invalid"
    assert "dirigent_" not in missing.text + wrong.text + session.text
    # Refusals are not policy denials: a scraper must not fill the audit trail.
    entries = (await metered.as_("board1").get("/api/audit", params={"action": "policy.denied"})).json()
    assert not [entry for entry in entries if "/metrics" in str(entry.get("detail"))]


async def test_the_state_gauges_are_read_once_per_ttl(metered: Scenario) -> None:
    """Scrapes within the TTL share one reading of the database."""
    state = metered.api.client.app.state.metrics_state
    state.ttl_s = 60.0
    await scrape(metered)
    flow = await metered.live(approval_flow(), "freigabe-ttl")
    await metered.waiting_run(flow["slug"])
    cached = samples(await scrape(metered))
    state.ttl_s = 0.0
    fresh = samples(await scrape(metered))
    assert value(fresh, "dirigent_approvals_waiting", workspace="sales") == (
        value(cached, "dirigent_approvals_waiting", workspace="sales") + 1
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_without_a_token_only_loopback_clients_are_answered(tmp_path: Path, database_url: str) -> None:
    app = create_app(api_settings(tmp_path, database_url))
    # The test client's address is "testclient": not loopback.
    async with AsyncTestClient(app=app) as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 403 and refused.json()["error"] == "metrics_loopback_only"

    # A real server on 127.0.0.1, asked from 127.0.0.1.
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(api_settings(tmp_path, database_url)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            answer = await http.get("/metrics")
            assert answer.status_code == 200, answer.text
            assert "dirigent_state_up 1.0" in answer.text
            assert "dirigent_runs_total" in answer.text or "# TYPE dirigent_runs_total" in answer.text
            # The middleware counted the scrape itself, by its route.
            again = samples((await http.get("/metrics")).text)
            assert total(again, "dirigent_http_requests_total", route="/metrics", status="200") >= 1
    finally:
        server.should_exit = True
        await serving


def test_a_short_metrics_token_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError):
        Settings(metrics_token="short")
    monkeypatch.setenv("DIRIGENT_METRICS_TOKEN", "short")
    with pytest.raises(click.ClickException) as refused:
        load_settings()
    assert "DIRIGENT_METRICS_TOKEN" in refused.value.message
