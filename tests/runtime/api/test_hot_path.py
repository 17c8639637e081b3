"""What every answer costs: no hop through the thread pool for the app's own hooks.

Litestar runs a plain-function `before_send` hook in its thread pool, for every message
sent (an answer's start, its body, each SSE event): two thread hops for a JSON answer,
dozens for a streamed run, each costing more CPU than the hook itself."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.api import ApiHarness


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
