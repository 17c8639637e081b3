"""Real runtime processes for crash tests, started in a fraction of a second.

    python -m tests.support.runtime_process      (a "zygote"; tests use `RuntimeProcesses`)

Importing the runtime takes seconds on a busy machine, and a test that kills ten runtimes in
a row would spend most of its time on imports. So this process imports the runtime once,
then reads one JSON line per runtime wanted on stdin — `{"port": P, "env": {...}, "log":
PATH}` — and forks a child that serves the runtime (uvicorn with
`runtime.cli.server.make_app`: settings from the environment plus `env`) on 127.0.0.1:P,
or, for `{"worker": true, "env": ..., "log": ...}`, runs `dirigent worker` (no HTTP),
with its output in `log`; it answers `{"pid": ...}` on stdout. Nothing but imports happens
before the fork (no thread, no event loop, no connection), so each child is a runtime
process of its own — its database connections, its run manager and sweep, its writer
thread — and `kill -9` ends it the way a crash would. Children are reaped by the kernel
(SIGCHLD ignored); when stdin closes, the zygote kills the children still alive and exits.

`RuntimeProcesses` (async context manager) drives the zygote from a test::

    async with RuntimeProcesses(env) as runtimes:
        runtime = await runtimes.start(DIRIGENT_ORPHAN_AFTER_S="1")   # ready: /health answered
        ... requests to runtime.url ...
        runtime.kill()                                                 # SIGKILL, no clean-up
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0


# -- the zygote (this module run as a program) -------------------------------------------
def _serve_child(port: int, env: dict[str, str], log: str) -> None:
    """In the forked child: serve the runtime until killed."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ.update(env)
    output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    import uvicorn

    try:
        uvicorn.run(
            "runtime.cli.server:make_app", factory=True, host="127.0.0.1", port=port, log_level="warning"
        )
    finally:
        os._exit(0)


def _work_child(env: dict[str, str], log: str) -> None:
    """In the forked child: `dirigent worker` (the sweep without HTTP) until killed."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ.update(env)
    output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    import asyncio

    from runtime.cli.server import run_worker
    from runtime.settings import Settings

    try:
        asyncio.run(run_worker(Settings()))
    finally:
        os._exit(0)


def zygote() -> None:
    import uvicorn  # noqa: F401  (imported once, here, for every child)

    import runtime.cli.server  # noqa: F401

    for name in sys.argv[1:]:  # more to import once (e.g. the embedding model's libraries)
        importlib.import_module(name)

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    children: list[int] = []
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            order = json.loads(line)
            pid = os.fork()
            if pid == 0 and order.get("worker"):
                _work_child(dict(order.get("env") or {}), order["log"])
            elif pid == 0:
                _serve_child(int(order["port"]), dict(order.get("env") or {}), order["log"])
            children.append(pid)
            print(json.dumps({"pid": pid}), flush=True)
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# -- the test side --------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RuntimeProcess:
    pid: int
    url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL: the process ends at once, without shutdown, release or last heartbeat."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


class RuntimeProcesses:
    """Starts runtime processes through the zygote (see the module docstring)."""

    def __init__(self, env: dict[str, str], log_dir: Path, preload: tuple[str, ...] = ()) -> None:
        self.env = env
        self.log_dir = log_dir
        self.preload = preload
        self.started: list[RuntimeProcess] = []
        self._zygote: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> RuntimeProcesses:
        base = {key: value for key, value in os.environ.items() if not key.startswith("DIRIGENT_")}
        self._zygote = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.runtime_process",
            *self.preload,
            cwd=ROOT,
            env={**base, "PYTHONPATH": str(ROOT), **self.env},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return self

    async def start(self, **env: str) -> RuntimeProcess:
        """A new runtime process with `env` on top of the common environment, once it answers."""
        zygote = self._zygote
        assert zygote is not None and zygote.stdin is not None and zygote.stdout is not None
        port = free_port()
        log = self.log_dir / f"runtime-{len(self.started)}.log"
        zygote.stdin.write(json.dumps({"port": port, "env": env, "log": str(log)}).encode() + b"\n")
        await zygote.stdin.drain()
        line = await asyncio.wait_for(zygote.stdout.readline(), READY_TIMEOUT_S)
        assert line, "the runtime zygote ended"
        process = RuntimeProcess(json.loads(line)["pid"], f"http://127.0.0.1:{port}", log)
        self.started.append(process)
        await self._ready(process)
        return process

    async def start_worker(self, **env: str) -> RuntimeProcess:
        """A new `dirigent worker` process (no HTTP: its `url` is empty), once it says it works."""
        zygote = self._zygote
        assert zygote is not None and zygote.stdin is not None and zygote.stdout is not None
        log = self.log_dir / f"worker-{len(self.started)}.log"
        zygote.stdin.write(json.dumps({"worker": True, "env": env, "log": str(log)}).encode() + b"\n")
        await zygote.stdin.drain()
        line = await asyncio.wait_for(zygote.stdout.readline(), READY_TIMEOUT_S)
        assert line, "the runtime zygote ended"
        process = RuntimeProcess(json.loads(line)["pid"], "", log)
        self.started.append(process)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "resuming runs" not in process.output():
            assert process.alive(), f"the worker process ended: {process.output()}"
            assert time.monotonic() < deadline, f"the worker did not start: {process.output()}"
            await asyncio.sleep(0.05)
        return process

    @staticmethod
    async def _ready(process: RuntimeProcess) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                assert process.alive(), f"the runtime process ended: {process.output()}"
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{process.url}/health")).status_code == 200:
                        return
                assert time.monotonic() < deadline, (
                    f"no answer within {READY_TIMEOUT_S} s: {process.output()}"
                )
                await asyncio.sleep(0.05)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for process in self.started:
            process.kill()
        if self._zygote is not None:
            if self._zygote.stdin is not None:
                self._zygote.stdin.close()
            try:
                await asyncio.wait_for(self._zygote.wait(), 10)
            except TimeoutError:
                self._zygote.kill()
                await self._zygote.wait()


if __name__ == "__main__":
    zygote()
