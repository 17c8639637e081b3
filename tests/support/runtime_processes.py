"""Real runtime processes for tests that need more than one: `dirigent serve` on 127.0.0.1.

    with RuntimeProcess(env) as a, RuntimeProcess(env) as b:
        httpx.post(f"{a.url}/api/auth/login", ...)

Each is its own operating-system process with its own memory (caches, event loop), on the
database and settings `env` names (`DIRIGENT_DATABASE_URL`, `DIRIGENT_JWT_SECRET`, ...),
the way two replicas behind a load balancer run. The process migrates the database when
it starts; start the second after the first answers (`__enter__` waits for `/health`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dirigent_command() -> list[str]:
    script = Path(sys.executable).with_name("dirigent")
    if script.exists():
        return [str(script)]
    found = shutil.which("dirigent")
    return [found] if found else [sys.executable, "-m", "runtime.cli"]


class RuntimeProcess:
    def __init__(
        self,
        env: Mapping[str, str],
        *,
        port: int | None = None,
        workers: int = 1,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        self.port = port or free_port()
        self.workers = workers
        self.start_timeout_s = start_timeout_s
        self.url = f"http://127.0.0.1:{self.port}"
        # Only the test's DIRIGENT_* settings: none of the caller's environment leaks in.
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("DIRIGENT_")}
        self.env.update(env)
        self.process: subprocess.Popen[str] | None = None
        self.output = ""

    def __enter__(self) -> RuntimeProcess:
        self.process = subprocess.Popen(
            [
                *dirigent_command(),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            if self.process.poll() is not None:
                self.output = self.process.communicate()[0]
                raise RuntimeError(f"dirigent serve on port {self.port} ended:\n{self.output[-4000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(
                    f"dirigent serve did not answer within {self.start_timeout_s:g} s:\n{self.output}"
                )
            time.sleep(0.2)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.output = self.process.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.output = self.process.communicate()[0]
        self.process = None
