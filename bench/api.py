"""HTTP throughput: invoking a published 3-node assistant vs a bare Litestar endpoint.

Prints figures; asserts nothing. Loaded at 32 concurrent keep-alive connections for
`--duration` seconds after a `--warmup`, one target after the other:

    bare        GET  /bare            a trivial `@get` returning a small JSON object
    bare_post   POST /bare            the same with a small JSON body (as the invoke has)
    dirigent    POST /api/assistants/bench-echo/runs   input -> template -> output,
                with a Bearer token; SQLite in a temp data dir, prepared through the
                service layer (users, flow, submit, board approval, publish)
    dirigent_202  the same with `"wait_s": 0`: answered 202 with the run's id, once the
                run is stored (the run goes on after the answer)
    dirigent_w2 the synchronous invocation again, served by `dirigent serve --workers 2`

The bare app runs in its own uvicorn process (1 worker, `--log-level warning`, no access
log). Dirigent runs as an operator starts it: `python -m runtime.cli serve --workers N`
(it migrates, then uvicorn serves `runtime.cli.server:make_app` with its log level and
access log); `--workers 2` is uvicorn's own multi-process mode on the same port, the
kernel spreading connections over the processes. The time from starting `dirigent serve`
to its first 200 on /health is printed as `ready`.

Rates count only 2xx answers (`ok`); anything else is counted as an error.

Load generator: `wrk` (Debian package `wrk`) with a Lua script, or, when `wrk` is not
installed, an asyncio raw-socket client with keep-alive (it says which it used; the
Python client shares the machine's CPUs with the server and saturates earlier).

    .venv/bin/python bench/api.py                 # table
    .venv/bin/python bench/api.py --json          # one JSON object
    .venv/bin/python bench/api.py --duration 5 --warmup 1 --client python

The module also holds the bare app (`uvicorn --app-dir bench api:bare_app`), so keep
its top-level imports light: the bare server must not load Dirigent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Litestar, get, post
from published import free_port, publish_assistant  # bench/published.py, beside this file

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
PASSWORD = "bench-password-123"
JWT_SECRET = "bench-secret-" + "x" * 40
SLUG = "bench-echo"
GOAL_RATIO = 0.25  # of the bare POST's rate
GOAL_SCALING = 1.7  # --workers 2 against 1, on 2 cores
GOAL_READY_S = 1.0
INVOKE_BODY = {"inputs": {"name": "Ada"}}
ACCEPT_BODY = {"inputs": {"name": "Ada"}, "wait_s": 0}


# -- the bare app (served by uvicorn from this module) -----------------------------------------
@get("/bare")
async def bare_get() -> dict[str, Any]:
    return {"status": "ok", "value": 1}


@post("/bare", status_code=200)
async def bare_post(data: dict[str, Any]) -> dict[str, Any]:
    return {"status": "succeeded", "outputs": {"answer": f"Hello {data.get('inputs', {}).get('name')}"}}


bare_app = Litestar(route_handlers=[bare_get, bare_post])


# -- preparing Dirigent ---------------------------------------------------------------------
FLOW = {
    "schema": "dirigent.flow/v1",
    "name": "Bench echo",
    "description": "input -> template -> output",
    "inputs": {"name": {"type": "string", "required": True}},
    "nodes": [
        {"id": "start", "type": "input"},
        {"id": "greet", "type": "template", "config": {"template": "Hello {{ inputs.name }}"}},
        {"id": "finish", "type": "output"},
    ],
    "edges": [{"from": "start", "to": "greet"}, {"from": "greet", "to": "finish"}],
    "outputs": {"answer": "{{ greet.text }}"},
    "card": {"purpose": "benchmark", "risk": "minimal", "owner": "bench"},
    "tests": [
        {
            "name": "greets",
            "inputs": {"name": "Ada"},
            "expect": [{"check": "equals", "output": "answer", "value": "Hello Ada"}],
        }
    ],
}


def dirigent_env(data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DIRIGENT_")}
    env.update(DIRIGENT_DATA_DIR=str(data_dir), DIRIGENT_JWT_SECRET=JWT_SECRET)
    return env


async def prepare_dirigent(data_dir: Path, flow: dict[str, Any] = FLOW, slug: str = SLUG) -> None:
    """Users, a flow, tested and submitted by a champion, approved by a board member, published."""
    from runtime.settings import Settings

    data_dir.mkdir(parents=True, exist_ok=True)
    await publish_assistant(Settings(data_dir=data_dir, jwt_secret=JWT_SECRET), flow, slug, PASSWORD)


def stored_runs(data_dir: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(data_dir / "dirigent.db")) as connection:
        return dict(connection.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall())


# -- servers --------------------------------------------------------------------------------
def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def uvicorn_server(
    app: str,
    *,
    factory: bool = False,
    app_dir: Path | None = None,
    env: dict[str, str] | None = None,
    ready_path: str,
) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if factory:
        command.append("--factory")
    if app_dir is not None:
        command += ["--app-dir", str(app_dir)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env or dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                said = process.stderr.read() if process.stderr else ""
                raise RuntimeError(f"{app} exited with {process.returncode}: {said[-2000:]}")
            if _answers(base + ready_path):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not become ready in 60 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def dirigent_serve(env: dict[str, str], log_path: Path, *, workers: int = 1) -> Iterator[tuple[str, float]]:
    """`dirigent serve` on a free port; yields its base URL and the seconds until /health said 200."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "runtime.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with open(log_path, "w") as log_file:  # uvicorn's log; a pipe nobody reads would fill up and block it
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"dirigent serve exited with {process.returncode}: {log_path.read_text()[-2000:]}"
                )
            if _answers(base + "/health"):
                break
            if time.monotonic() - started > 60:
                raise RuntimeError("dirigent serve did not become ready in 60 s")
            time.sleep(0.01)
        ready_s = time.monotonic() - started
        log_path.with_suffix(".cpu").write_text(f"{process_cpu_s(process.pid):.3f}")
        yield base, ready_s
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux; NaN elsewhere).

    On a shared machine the wall-clock time to ready grows with the load; this does not."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_json(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read() or b"null")


# -- load generators ------------------------------------------------------------------------
@dataclass
class Target:
    name: str
    url: str
    method: str = "GET"
    body: dict[str, Any] | None = None
    token: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


@dataclass
class Result:
    requests: int  # answers received
    ok: int  # of them 2xx
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # answers that were not 2xx, and failed connections, reads, timeouts

    @property
    def rps(self) -> float:
        """2xx answers per second: an error answered fast must not count as throughput."""
        return self.ok / self.seconds

    def as_json(self) -> dict[str, Any]:
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
        }


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


WRK_COUNT = r"""
-- 2xx answers, counted in each thread; wrk's own error count has only status >= 400.
local threads = {}
function setup(thread) table.insert(threads, thread) end
ok = 0
others = 0
response = function(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else others = others + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  local good, bad = 0, 0
  for _, thread in ipairs(threads) do
    good = good + thread:get("ok")
    bad = bad + thread:get("others")
  end
  io.write(string.format(
    "WRK-RESULT {\"requests\": %d, \"ok\": %d, \"duration_us\": %d, \"p50_us\": %d, \"p99_us\": %d, "
    .. "\"errors\": %d}\n",
    summary.requests, good, summary.duration, latency:percentile(50), latency:percentile(99),
    bad + e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_run(target: Target, seconds: float, connections: int, script_dir: Path) -> Result:
    lines = [f"wrk.method = {_lua_string(target.method)}"]
    if target.body is not None:
        lines.append(f"wrk.body = {_lua_string(json.dumps(target.body))}")
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in target.headers().items()]
    script = script_dir / f"{target.name}.lua"
    script.write_text("\n".join(lines) + "\n" + WRK_COUNT)
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        target.url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    line = next((line for line in output.splitlines() if line.startswith("WRK-RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    data = json.loads(line.removeprefix("WRK-RESULT "))
    return Result(
        data["requests"],
        data["ok"],
        data["duration_us"] / 1e6,
        data["p50_us"] / 1e3,
        data["p99_us"] / 1e3,
        data["errors"],
    )


async def _python_load(target: Target, seconds: float, connections: int) -> Result:
    """Keep-alive HTTP/1.1 over raw asyncio streams; one request in flight per connection."""
    host_port, _, path = target.url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    body = json.dumps(target.body).encode() if target.body is not None else b""
    head = [f"{target.method} /{path} HTTP/1.1", f"Host: {host_port}", "Connection: keep-alive"]
    head += [f"{k}: {v}" for k, v in target.headers().items()]
    if target.body is not None:
        head.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < stop_at:
                began = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - began)
                if not status_line.split(b" ")[1].startswith(b"2"):
                    errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Result(
        len(ordered), len(ordered) - errors, elapsed, statistics.median(ordered) * 1e3, p99 * 1e3, errors
    )


def python_run(target: Target, seconds: float, connections: int, script_dir: Path) -> Result:
    return asyncio.run(_python_load(target, seconds, connections))


# -- driver ---------------------------------------------------------------------------------
def loop_ns_per_iteration() -> float:
    """How fast (and how busy) this machine is: an idle modern x86 core needs ≈ 30-50 ns."""
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        total = 0
        for i in range(200_000):
            total += i
        best = min(best, time.perf_counter() - began)
    return best / 200_000 * 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per target (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up load per target (2)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args(argv)
    # Creating the bare app above set Litestar's logging up (root at INFO); the migration of
    # the temp database would log every step of it here.
    logging.getLogger().setLevel(logging.WARNING)

    def log(line: str) -> None:
        if not args.json:
            print(line, flush=True)

    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    if client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install -y wrk)")
    load = wrk_run if client == "wrk" else python_run
    generator = (
        "wrk (1 thread)"
        if client == "wrk"
        else ("asyncio raw-socket client" + (" (wrk not found)" if args.client == "auto" else ""))
    )
    log(
        f"load generator: {generator}"
        f", {args.connections} connections, {args.warmup:g} s warm-up + {args.duration:g} s per target; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs, "
        f"plain loop {loop_ns_per_iteration():.0f} ns/iteration"
    )

    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix="dirigent-bench-api-") as tmp:
        tmp_path = Path(tmp)

        def measure(target: Target) -> None:
            if args.warmup > 0:
                load(target, args.warmup, args.connections, tmp_path)
            result = load(target, args.duration, args.connections, tmp_path)
            results[target.name] = result
            log(
                f"  {target.name:<12} {result.rps:>9.1f} 2xx/s   p50 {result.p50_ms:>8.3f} ms   "
                f"p99 {result.p99_ms:>8.3f} ms   ({result.ok} of {result.requests} answers 2xx, "
                f"{result.errors} errors)"
            )

        with uvicorn_server("api:bare_app", app_dir=BENCH_DIR, ready_path="/bare") as base:
            status, answer = http_json("POST", base + "/bare", INVOKE_BODY)
            assert status == 200 and answer["status"] == "succeeded", answer
            measure(Target("bare", base + "/bare"))
            measure(Target("bare_post", base + "/bare", "POST", INVOKE_BODY))

        data_dir = tmp_path / "data"
        asyncio.run(prepare_dirigent(data_dir))
        ready: dict[int, float] = {}
        ready_cpu: dict[int, float] = {}
        for workers in (1, 2):
            with dirigent_serve(
                dirigent_env(data_dir), tmp_path / f"serve-{workers}.log", workers=workers
            ) as (base, ready_s):
                ready[workers] = ready_s
                ready_cpu[workers] = float((tmp_path / f"serve-{workers}.cpu").read_text())
                log(
                    f"  dirigent serve --workers {workers}: first 200 on /health after {ready_s:.2f} s "
                    f"({ready_cpu[workers]:.2f} s of CPU in its main process)"
                )
                credentials = {"username": "user", "password": PASSWORD}
                _, login = http_json("POST", base + "/api/auth/login", credentials)
                token = login["token"]
                url = f"{base}/api/assistants/{SLUG}/runs"
                status, run = http_json("POST", url, INVOKE_BODY, token)
                if status != 200 or run["status"] != "succeeded" or run["outputs"] != {"answer": "Hello Ada"}:
                    raise RuntimeError(f"the assistant did not answer as expected: {status} {run}")
                if workers == 1:
                    measure(Target("dirigent", url, "POST", INVOKE_BODY, token))
                    measure(Target("dirigent_202", url, "POST", ACCEPT_BODY, token))
                else:
                    measure(Target("dirigent_w2", url, "POST", INVOKE_BODY, token))
        runs = stored_runs(data_dir)
        log(f"  runs stored: {runs}")

    ratio = results["dirigent"].rps / results["bare"].rps
    ratio_post = results["dirigent"].rps / results["bare_post"].rps
    scaling = results["dirigent_w2"].rps / results["dirigent"].rps
    if args.json:
        print(
            json.dumps(
                {
                    **{name: result.as_json() for name, result in results.items()},
                    "ratio": round(ratio, 4),
                    "ratio_post": round(ratio_post, 4),
                    "workers_2_vs_1": round(scaling, 3),
                    "ready_s": ready,
                    "ready_cpu_s": ready_cpu,
                    "client": client,
                    "machine": {"cpus": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2)},
                }
            )
        )
        return 0
    print()
    print(f"{'':<13}{'2xx/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, result in results.items():
        print(f"{name:<13}{result.rps:>10.1f}{result.p50_ms:>10.3f}{result.p99_ms:>10.3f}")
    print()
    print(
        f"dirigent / bare GET:  {ratio:.1%}   dirigent / bare POST: {ratio_post:.1%}   "
        f"(goal ≥ {GOAL_RATIO:.0%} of the bare POST: {'met' if ratio_post >= GOAL_RATIO else 'MISSED'})"
    )
    print(
        f"dirigent serve --workers 2 / --workers 1 (uvicorn's workers on one port): {scaling:.2f} times   "
        f"(goal ≥ {GOAL_SCALING:g}: {'met' if scaling >= GOAL_SCALING else 'MISSED'})"
    )
    ready_met = "met" if ready[1] <= GOAL_READY_S else "MISSED"
    print(
        f"ready after start (dirigent serve, first 200 on /health): {ready[1]:.2f} s with 1 worker "
        f"({ready_cpu[1]:.2f} s CPU), {ready[2]:.2f} s with 2   (goal ≤ {GOAL_READY_S:g} s: {ready_met})"
    )
    print("goals printed, not asserted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
