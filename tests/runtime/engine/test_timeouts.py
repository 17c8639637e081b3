"""`run_with_timeout`: the engine's per-node timeout, armed only when a node suspends.

A node's coroutine is stepped once by hand; what follows must behave exactly like
`async with asyncio.timeout(t): await coroutine` — results, errors, cancellation, and
timeouts the node sets itself (which bind to the current task)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from runtime.engine.executor import run_with_timeout


async def quick() -> str:
    return "done"


async def napping(seconds: float, result: Any = "done") -> Any:
    await asyncio.sleep(seconds)
    return result


async def failing_after_a_nap() -> None:
    await asyncio.sleep(0)
    raise ValueError("bad")


async def test_a_coroutine_that_never_waits_arms_no_timer() -> None:
    loop = asyncio.get_running_loop()
    before = len(loop._scheduled)  # type: ignore[attr-defined]
    assert await run_with_timeout(quick(), 0.01) == "done"
    assert len(loop._scheduled) == before  # type: ignore[attr-defined]


async def test_a_coroutine_that_waits_gets_its_result() -> None:
    assert await run_with_timeout(napping(0.01, {"value": 1}), 5) == {"value": 1}


async def test_the_deadline_counts_from_the_start() -> None:
    began = time.perf_counter()
    with pytest.raises(TimeoutError):
        await run_with_timeout(napping(5), 0.05)
    assert time.perf_counter() - began < 1


async def test_errors_after_a_suspension_come_through() -> None:
    with pytest.raises(ValueError, match="bad"):
        await run_with_timeout(failing_after_a_nap(), 5)


async def test_a_timeout_the_node_sets_itself_strikes_the_node_only() -> None:
    async def careful() -> str:
        try:
            async with asyncio.timeout(0.02):  # binds to the current task, as aiohttp's and anyio's do
                await asyncio.sleep(5)
        except TimeoutError:
            return "gave up in time"
        return "slept"

    assert await run_with_timeout(careful(), 5) == "gave up in time"
    await asyncio.sleep(0.05)  # and nothing is left to cancel this task later


async def test_cancelling_the_task_cancels_the_node_and_runs_its_cleanup() -> None:
    cleaned: list[str] = []

    async def holding() -> None:
        try:
            await asyncio.sleep(5)
        finally:
            cleaned.append("yes")

    task = asyncio.create_task(run_with_timeout(holding(), 10))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["yes"]


async def test_a_node_that_swallows_the_cancellation_ends_as_under_asyncio_timeout() -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            await asyncio.sleep(0)
            return "swallowed"
        return "slept"

    async def plain() -> Any:
        async with asyncio.timeout(0.02):
            return await stubborn()

    async def outcome(awaitable: Any) -> tuple[str, Any]:
        try:
            return "returned", await awaitable
        except BaseException as error:  # comparing outcomes, whatever they are
            return "raised", type(error)

    assert await outcome(run_with_timeout(stubborn(), 0.02)) == await outcome(plain())


async def test_other_awaitables_take_the_plain_way() -> None:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.01, future.set_result, "set")
    assert await run_with_timeout(future, 5) == "set"
