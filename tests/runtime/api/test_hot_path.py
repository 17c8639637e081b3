"""What every answer costs: no hop through the thread pool for the app's own hooks.

Litestar runs a plain-function `before_send` hook in its thread pool, for every message
sent (an answer's start, its body, each SSE event): two thread hops for a JSON answer,
dozens for a streamed run, each costing more CPU than the hook itself."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.api import ApiHarness
from tests.support.scenario import (  # noqa: F401 (fixtures scenario, fast_passwords)
    Scenario,
    fast_passwords,
    qa_flow,
    scenario_fixture,
)


async def test_answers_put_no_work_into_the_thread_pool(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    anyone = api.as_(None)
    await anyone.get("/health")  # whatever is made once per process (e.g. the first connection)
    hops: list[Any] = []
    real = asyncio.BaseEventLoop.run_in_executor

    def counting(self: asyncio.BaseEventLoop, executor: Any, func: Any, *args: Any) -> Any:
        hops.append(func)
        return real(self, executor, func, *args)

    monkeypatch.setattr(asyncio.BaseEventLoop, "run_in_executor", counting)
    for _ in range(3):
        assert (await anyone.get("/health")).status_code == 200
        assert (await anyone.request("OPTIONS", "/api/flows")).status_code in (200, 204)
        assert (await api.as_("user").get("/api/flows")).status_code == 200

    assert hops == []


async def test_a_streamed_run_puts_no_work_into_the_thread_pool(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before its first event, Litestar's `ServerSentEvent` took one hop per stream."""
    flow = await scenario.live(qa_flow())
    path = f"/api/assistants/{flow['slug']}/runs"
    first = await scenario.as_("user").post(path, json={"inputs": {"question": "Wann?"}, "stream": True})
    assert first.status_code == 200
    hops: list[Any] = []
    real = asyncio.BaseEventLoop.run_in_executor

    def counting(self: asyncio.BaseEventLoop, executor: Any, func: Any, *args: Any) -> Any:
        hops.append(func)
        return real(self, executor, func, *args)

    monkeypatch.setattr(asyncio.BaseEventLoop, "run_in_executor", counting)
    response = await scenario.as_("user").post(path, json={"inputs": {"question": "Wann?"}, "stream": True})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.text.startswith('event: run\r\ndata: {"type": "started", "run_id": ')
    token = 'event: token\r\ndata: {"node": "answer", "type": "token", "text": "Hello "}\r\n\r\n'
    assert "\r\n\r\n" + token in response.text  # the encoding Litestar's ServerSentEvent had
    assert hops == []
