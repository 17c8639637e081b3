"""The extraction workers themselves (real child processes): reused between files, a
crashed or cancelled one replaced, and always running this checkout's code."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from runtime.knowledge.errors import ExtractionFailed
from runtime.knowledge.extraction_pool import ExtractionPool
from runtime.knowledge.limits import IngestLimits
from tests.runtime.knowledge import hostile

LIMITS = IngestLimits()


@pytest.fixture
def pool() -> ExtractionPool:  # type: ignore[misc]
    pool = ExtractionPool(LIMITS.memory_mb)
    yield pool
    pool.close()


def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "notiz.md"
    path.write_text("# Notiz\n\nDer Drucker im 2. OG ist repariert.\n", encoding="utf-8")
    return path


async def extract(pool: ExtractionPool, path: Path) -> tuple[str, list[object]]:
    media_type, chunks = await pool.extract(path.name, path, max_bytes=None, chunking={}, limits=LIMITS)
    return media_type, list(chunks)


async def test_workers_are_reused(pool: ExtractionPool, tmp_path: Path) -> None:
    path = small_file(tmp_path)
    media_type, chunks = await extract(pool, path)
    assert media_type == "text/markdown" and len(chunks) == 1
    [worker] = pool._idle
    for _ in range(5):
        await extract(pool, path)
    assert pool._idle == [worker] and worker.served == 6


async def test_a_crashed_worker_fails_its_file_alone(pool: ExtractionPool, tmp_path: Path) -> None:
    slow = tmp_path / "seite.html"
    slow.write_bytes(hostile.flat_paragraphs_html(90_000))  # seconds of work
    await extract(pool, small_file(tmp_path))  # a worker that is up
    task = asyncio.create_task(extract(pool, slow))
    while not pool.busy:
        await asyncio.sleep(0.01)
    [worker] = pool.busy
    await asyncio.sleep(0.3)
    os.kill(worker.process.pid, signal.SIGSEGV)  # what a parser's bug in C would do
    with pytest.raises(ExtractionFailed) as failed:
        await task
    assert failed.value.extra == {"reason": "SIGSEGV"}
    assert (await extract(pool, small_file(tmp_path)))[0] == "text/markdown"  # a new worker


async def test_cancelling_a_file_ends_its_worker_at_once(pool: ExtractionPool, tmp_path: Path) -> None:
    slow = tmp_path / "seite.html"
    slow.write_bytes(hostile.flat_paragraphs_html(90_000))
    await extract(pool, small_file(tmp_path))  # a worker that is up
    task = asyncio.create_task(extract(pool, slow))
    while not pool.busy:
        await asyncio.sleep(0.01)
    [worker] = pool.busy
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert worker.process.returncode == -signal.SIGKILL
    assert not pool.busy and not pool._idle


async def test_a_worker_runs_this_checkout_whatever_the_working_directory(
    pool: ExtractionPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another `runtime` package in the working directory (another checkout, say) must not
    # be what the worker imports: `python -m` would put the working directory first.
    other = tmp_path / "elsewhere" / "runtime"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("raise ImportError('the wrong checkout')\n")
    monkeypatch.chdir(other.parent)
    assert (await extract(pool, small_file(tmp_path)))[0] == "text/markdown"
