"""Rendering off the event loop: plain lookups here, everything else in worker processes.

`Templates` is what the engine renders with (`ctx.render`, `ctx.evaluate`, the flow's
outputs). A template that is text with `{{ name.field }}` lookups (the common case) is
rendered in the calling thread: its cost is the size of its text. Anything else goes
through Jinja's general machinery, which a hostile template could keep busy for hours;
it is sent to one of a few worker processes (`python -m nodes.rendering.worker`), each
rendering under

* the static budget of `nodes.rendering.budget` (a clear refusal, usually in microseconds),
* a CPU-time limit (`SIGPROF` after `cpu_seconds` of the worker's CPU: a clean refusal),
* a memory limit (`RLIMIT_AS` at its idle size + `memory_mb`: `MemoryError`, refused,
  and the worker is replaced),
* a wall-clock limit kept by this process: a worker that has not answered after
  `wall_seconds` (stuck in one long C call, where no signal handler runs) is killed with
  SIGKILL and replaced.

A worker needs only the template's source and the entries of the scope it names (plain
JSON-like data; found by their names in the text, the runtime process never parses a
template it does not render itself): the request is a pickle, the answer JSON — a worker runs hostile
templates, so nothing it sends back is unpickled here.

The pool is process-local: each runtime process has its own, and nothing in it outlives
a render, so several processes on one database need nothing shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import json
import os
import pickle
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodes.errors import TemplateBudgetExceeded, TemplateError
from nodes.rendering.budget import DEFAULT_LIMITS, TemplateLimits, refuse
from nodes.rendering.templating import MISSING, evaluate_plain, render_plain

_FRAME_HEADER = 4  # every message is its length (4 bytes, big-endian), then the bytes
_MAX_ANSWER = 64 * 1024 * 1024
_PIPE_BYTES = 1024 * 1024  # Linux allows this much per pipe without privileges


@dataclass(frozen=True)
class ProcessLimits:
    """The hard stop: what one render in a worker may take, and how many workers there are."""

    workers: int = 2
    cpu_seconds: float = 0.5
    # Generous: on a busy machine a render waits for a core; the CPU limit bounds the work.
    wall_seconds: float = 5.0
    memory_mb: int = 128
    start_timeout_s: float = 60.0  # a worker's start (imports Jinja), not part of any render


@dataclass(frozen=True)
class RenderUsage:
    """What one render in a worker took: its CPU time and how far its resident memory grew
    above where it was when the render began. `stopped`: the worker was killed at the limit."""

    cpu_seconds: float
    memory_growth_bytes: int
    stopped: bool = False


UsageObserver = Callable[[RenderUsage], None]


class Templates:
    """Renders a flow's templates under the budget: see the module docstring."""

    def __init__(
        self,
        limits: TemplateLimits = DEFAULT_LIMITS,
        process: ProcessLimits | None = None,
        *,
        on_usage: UsageObserver | None = None,
    ) -> None:
        self.limits = limits
        self.process = process or ProcessLimits()
        self._pool = _WorkerPool(limits, self.process, on_usage)

    async def render(self, template: str, scope: Mapping[str, Any]) -> str:
        text = render_plain(template, scope, self.limits)
        if text is not None:
            return text
        result: str = await self._pool.run("render", template, _entries(scope, template))
        return result

    async def evaluate(self, expression: str, scope: Mapping[str, Any]) -> Any:
        value = evaluate_plain(expression, scope)
        if value is not MISSING:
            return value
        return await self._pool.run("evaluate", expression, _entries(scope, expression))

    def worker_pids(self) -> list[int]:
        """The pids of the live workers (for tests and monitoring)."""
        return self._pool.pids()

    async def close(self) -> None:
        """Stop the workers; a later render starts new ones."""
        await self._pool.close()


def _entries(scope: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The scope entries `source` can read: those whose name it spells. A template reads a
    name only by writing it, so this is all it needs — found without parsing it here."""
    return {name: value for name, value in scope.items() if name in source}


_shared: Templates | None = None


def shared_templates() -> Templates:
    """The process's default `Templates` (default limits), for engines built without one."""
    global _shared
    if _shared is None:
        _shared = Templates()
    return _shared


# -- one worker ------------------------------------------------------------------------------
class _Worker:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.pid = process.pid
        self.writes = process.stdin.fileno()
        self.reads = process.stdout.fileno()
        os.set_blocking(self.writes, False)
        os.set_blocking(self.reads, False)
        for descriptor in (self.writes, self.reads):  # a 100 KB scope in one write, not two turns
            with contextlib.suppress(OSError, AttributeError):
                fcntl.fcntl(descriptor, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        # What the worker said about itself in its last answer: CPU seconds used so far and
        # resident memory (bytes) — the baseline for what a render that is killed took.
        self.cpu_seconds = 0.0
        self.resident_bytes = 0

    @classmethod
    def command(cls, limits: TemplateLimits, process: ProcessLimits) -> list[str]:
        config = json.dumps({"limits": dataclasses.asdict(limits), "process": dataclasses.asdict(process)})
        return [sys.executable, "-m", "nodes.rendering.worker", config]

    async def send(self, message: bytes) -> None:
        data = memoryview(len(message).to_bytes(_FRAME_HEADER, "big") + message)
        while data:
            try:
                written = os.write(self.writes, data)
            except BlockingIOError:
                await _ready(self.writes, writing=True)
                continue
            data = data[written:]

    async def receive(self) -> bytes:
        buffer = bytearray()
        while True:
            if len(buffer) >= _FRAME_HEADER:
                size = int.from_bytes(buffer[:_FRAME_HEADER], "big")
                if size > _MAX_ANSWER:
                    raise EOFError("answer too large")
                if len(buffer) >= _FRAME_HEADER + size:
                    return bytes(buffer[_FRAME_HEADER : _FRAME_HEADER + size])
            try:
                chunk = os.read(self.reads, 1 << 20)
            except BlockingIOError:
                await _ready(self.reads, writing=False)
                continue
            if not chunk:
                raise EOFError("the worker closed its end")
            buffer += chunk

    def usage_now(self) -> RenderUsage:
        """CPU and peak memory since the last request, read from /proc (just before a kill;
        the worker starts its peak afresh with each request)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            status = Path(f"/proc/{self.pid}/status").read_text().splitlines()
            peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
        except (OSError, StopIteration, IndexError, ValueError):
            return RenderUsage(0.0, 0, stopped=True)
        return RenderUsage(max(cpu - self.cpu_seconds, 0.0), max(peak - self.resident_bytes, 0), stopped=True)

    def kill(self) -> None:
        """SIGKILL now; its exit status is collected off the event loop."""
        with contextlib.suppress(OSError):
            self.process.kill()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]
        try:
            asyncio.get_running_loop().run_in_executor(None, self.process.wait)
        except RuntimeError:  # no event loop: collect it here
            self.process.wait()


async def _ready(descriptor: int, *, writing: bool) -> None:
    """Wait (on whichever loop is running) until `descriptor` can be written or read."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    if writing:
        loop.add_writer(descriptor, wake)
    else:
        loop.add_reader(descriptor, wake)
    try:
        await ready
    finally:
        if writing:
            loop.remove_writer(descriptor)
        else:
            loop.remove_reader(descriptor)


def _error_of(answer: dict[str, Any]) -> TemplateError:
    error = answer.get("error") or {}
    if error.get("limit"):
        return TemplateBudgetExceeded(
            str(error["limit"]), error.get("limit_value", 0), str(error.get("what", ""))
        )
    message = str(error.get("message") or "the template could not be rendered")
    if not error.get("code"):
        return TemplateError(message, code="template_failed", detail=message)
    params = error.get("params")
    return TemplateError(message, code=str(error["code"]), **(params if isinstance(params, dict) else {}))


def _worker_environment() -> dict[str, str]:
    """What a worker inherits: enough to start Python and import `nodes` — none of the
    runtime's secrets (database URL, keys), should a template ever get out of the sandbox."""
    package_root = str(Path(__file__).resolve().parent.parent)
    kept = {name: value for name, value in os.environ.items() if name in _KEPT_ENVIRONMENT}
    kept["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    return kept


_KEPT_ENVIRONMENT = frozenset(
    {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONHASHSEED"}
)


# -- the pool --------------------------------------------------------------------------------
class _WorkerPool:
    def __init__(
        self, limits: TemplateLimits, process: ProcessLimits, on_usage: UsageObserver | None
    ) -> None:
        self.limits = limits
        self.process = process
        self.on_usage = on_usage
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    def pids(self) -> list[int]:
        return [worker.pid for worker in (*self._idle, *self._busy)]

    async def run(self, kind: str, source: str, scope: dict[str, Any]) -> Any:
        try:
            request = pickle.dumps((kind, source, scope), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a node handed in something that is not plain data
            raise TemplateError(
                f"the template's data cannot be sent to a rendering process: {exc}",
                code="template_data_not_sendable",
                detail=str(exc),
            ) from None
        worker = await self._acquire()
        try:
            answer = await self._exchange(worker, request)
        except BaseException:  # a limit, a crash, a cancellation: this worker may be busy still
            self._discard(worker)
            raise
        if self.on_usage is not None:
            usage = answer.get("usage") or [0.0, 0]
            self.on_usage(RenderUsage(float(usage[0]), int(usage[1])))
        if answer.get("retire"):  # it ran out of memory: its heap may stay big, start afresh
            self._discard(worker)
        else:
            self._release(worker)
        if answer.get("status") != "ok":
            raise _error_of(answer)
        return answer.get("value")

    async def _exchange(self, worker: _Worker, request: bytes) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self.process.wall_seconds):
                await worker.send(request)
                answer = json.loads(await worker.receive())
        except TimeoutError:
            usage = worker.usage_now()
            if self.on_usage is not None:
                self.on_usage(usage)
            raise refuse("wall_seconds", self.process.wall_seconds) from None
        except (EOFError, OSError, ValueError):
            await asyncio.sleep(0)  # let the exit status arrive
            status = worker.process.poll()
            raise TemplateError(
                f"the process rendering the template stopped unexpectedly (exit code {status})",
                code="template_process_failed",
            ) from None
        if not isinstance(answer, dict):
            raise TemplateError(
                "the process rendering the template answered nonsense", code="template_process_failed"
            )
        worker.cpu_seconds = float(answer.get("cpu_total", 0.0))
        worker.resident_bytes = int(answer.get("resident", 0))
        return answer

    async def _acquire(self) -> _Worker:
        while True:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.poll() is None:
                    self._busy.add(worker)
                    return worker
                worker.kill()
            if len(self._busy) + self._starting < self.process.workers:
                self._starting += 1
                try:
                    worker = await self._start()
                finally:
                    self._starting -= 1
                self._busy.add(worker)
                return worker
            # Every worker is busy: wait until one is handed back (or discarded).
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # this turn was ours: pass it on
                raise

    def _release(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        self._idle.append(worker)
        self._wake_one()

    def _discard(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        worker.kill()
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_result(None)
                return

    async def _start(self) -> _Worker:
        process = await asyncio.to_thread(
            subprocess.Popen,
            _Worker.command(self.limits, self.process),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_worker_environment(),
            close_fds=True,
        )
        worker = _Worker(process)
        try:
            async with asyncio.timeout(self.process.start_timeout_s):
                hello = json.loads(await worker.receive())
        except BaseException:
            worker.kill()
            raise
        worker.cpu_seconds = float(hello.get("cpu_total", 0.0))
        worker.resident_bytes = int(hello.get("resident", 0))
        return worker

    async def close(self) -> None:
        workers = [*self._idle, *self._busy]
        self._idle.clear()
        self._busy.clear()
        for worker in workers:
            worker.kill()
        for worker in workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(worker.process.wait, 5)
        self._wake_one()
