"""Time to first token: straight from the model server vs through a published assistant.

Prints figures; asserts nothing. One run, both paths, against the same model server:

    direct    POST {model}/v1/chat/completions with "stream": true; time until the
              first SSE chunk with content
    through   POST /api/assistants/bench-stream/runs with "stream": true (input -> llm ->
              output, published, a user's Bearer token); time until the first `token`
              event (the run's own events before it: `run`, the input node's steps)

The model server is the Messages API TEST DOUBLE (`tests/support/messages_api_double.py`,
its own process, TCP_NODELAY as TGI; 8 chunks per answer, `--chunk-delay-ms` apart).
Dirigent runs as `python -m runtime.cli serve` (1 worker, SQLite in a temp data dir,
`DIRIGENT_LLM_URL` pointing at the double). Both paths use the same client: httpx with
keep-alive connections, `--concurrency` calls at once, alternating rounds of direct and
through calls so that both see the same machine load. Only successful calls count
(direct: 200 and content; through: the run's final event says `succeeded`).

The double counts the TCP connections it accepted; the count over the through rounds is
what Dirigent opened to the model server (the direct client keeps its own alive).

    .venv/bin/python bench/stream.py                  # table
    .venv/bin/python bench/stream.py --calls 960 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import PASSWORD, ROOT, dirigent_env, dirigent_serve, http_json, prepare_dirigent

SLUG = "bench-stream"
GOAL_ADDED_P50_MS = 2.0
GOAL_ADDED_P99_MS = 5.0
FLOW = {
    "schema": "dirigent.flow/v1",
    "name": "Bench stream",
    "description": "input -> llm -> output",
    "inputs": {"question": {"type": "string", "required": True}},
    "nodes": [
        {"id": "start", "type": "input"},
        {"id": "answer", "type": "llm", "config": {"prompt": "{{ inputs.question }}", "max_tokens": 64}},
        {"id": "finish", "type": "output"},
    ],
    "edges": [{"from": "start", "to": "answer"}, {"from": "answer", "to": "finish"}],
    "outputs": {"answer": "{{ answer.text }}"},
    "card": {"purpose": "benchmark", "risk": "minimal", "owner": "bench"},
    "tests": [
        {
            "name": "answers",
            "inputs": {"question": "Wie spät?"},
            "fixed": {"answer": {"text": "Zwölf."}},
            "expect": [{"check": "contains", "output": "answer", "value": "Zwölf"}],
        }
    ],
}
QUESTION = {"role": "user", "content": "Wie spät ist es?"}


@dataclass
class Series:
    name: str
    first_token_ms: list[float] = field(default_factory=list)
    failed: int = 0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.first_token_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    def as_json(self) -> dict[str, Any]:
        return {
            "p50_ms": round(self.quantile(0.5), 3),
            "p99_ms": round(self.quantile(0.99), 3),
            "mean_ms": round(statistics.fmean(self.first_token_ms), 3),
            "ok": len(self.first_token_ms),
            "failed": self.failed,
        }


async def direct_call(client: httpx.AsyncClient, url: str) -> float | None:
    body = {"model": "tgi", "messages": [QUESTION], "max_tokens": 64, "stream": True}
    began = time.perf_counter()
    first: float | None = None
    async with client.stream("POST", url + "/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            return None
        async for line in response.aiter_lines():
            if first is None and line.startswith("data: {"):
                choices = json.loads(line[6:]).get("choices") or []
                if choices and (choices[0].get("delta") or {}).get("content"):
                    first = time.perf_counter() - began
    return first


async def through_call(client: httpx.AsyncClient, url: str, token: str) -> float | None:
    body = {"inputs": {"question": QUESTION["content"]}, "stream": True}
    headers = {"Authorization": f"Bearer {token}"}
    began = time.perf_counter()
    first: float | None = None
    event = ""
    succeeded = False
    async with client.stream("POST", url, json=body, headers=headers) as response:
        if response.status_code != 200:
            return None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
                if event == "token" and first is None:
                    first = time.perf_counter() - began
            elif line.startswith("data:") and event == "run":
                succeeded = json.loads(line[5:]).get("status") == "succeeded" or succeeded
    return first if succeeded else None


async def measure(
    model_url: str, runs_url: str, token: str, calls: int, concurrency: int, rounds: int
) -> tuple[Series, Series, int]:
    direct, through = Series("direct"), Series("through")
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    dirigent_connections = 0
    async with (
        httpx.AsyncClient(limits=limits, timeout=30) as model_client,
        httpx.AsyncClient(limits=limits, timeout=30) as dirigent_client,
    ):

        async def batch(path: Series, call: Any, count: int) -> None:
            remaining = count

            async def worker() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    try:
                        seconds = await call()
                    except httpx.HTTPError:
                        seconds = None
                    if seconds is None:
                        path.failed += 1
                    else:
                        path.first_token_ms.append(seconds * 1e3)

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        async def connections() -> int:
            return int((await model_client.get(model_url + "/stats")).json()["connections"])

        # Warm-up (connections, caches, the first runs): not in the times, but in the connections.
        await batch(Series("warm"), lambda: direct_call(model_client, model_url), 2 * concurrency)
        before = await connections()
        await batch(Series("warm"), lambda: through_call(dirigent_client, runs_url, token), 2 * concurrency)
        dirigent_connections += await connections() - before
        per_round = max(1, calls // rounds)
        for _ in range(rounds):
            await batch(direct, lambda: direct_call(model_client, model_url), per_round)
            before = await connections()
            await batch(through, lambda: through_call(dirigent_client, runs_url, token), per_round)
            dirigent_connections += await connections() - before
    return direct, through, dirigent_connections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=960, help="calls per path (960)")
    parser.add_argument("--concurrency", type=int, default=4, help="calls at once (4)")
    parser.add_argument("--rounds", type=int, default=8, help="alternating rounds of direct/through (8)")
    parser.add_argument("--chunk-delay-ms", type=float, default=1.0, help="between the double's chunks (1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    logging.getLogger().setLevel(logging.WARNING)  # httpx and the migration would log every step
    warm_calls = 2 * args.concurrency

    def log(line: str) -> None:
        if not args.json:
            print(line, flush=True)

    log(
        f"{args.calls} calls per path, {args.concurrency} at once, {args.rounds} alternating rounds; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    double = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.messages_api_double",
            "--chunks",
            "8",
            "--chunk-delay-ms",
            str(args.chunk_delay_ms),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert double.stdout is not None
        model_url = double.stdout.readline().strip()
        with tempfile.TemporaryDirectory(prefix="dirigent-bench-stream-") as tmp:
            tmp_path = Path(tmp)
            data_dir = tmp_path / "data"
            asyncio.run(prepare_dirigent(data_dir, FLOW, SLUG))
            env = {**dirigent_env(data_dir), "DIRIGENT_LLM_URL": model_url, "DIRIGENT_LLM_MODEL": "tgi"}
            with dirigent_serve(env, tmp_path / "serve.log") as (base, _ready_s):
                credentials = {"username": "user", "password": PASSWORD}
                _, login = http_json("POST", base + "/api/auth/login", credentials)
                runs_url = f"{base}/api/assistants/{SLUG}/runs"
                direct, through, connections = asyncio.run(
                    measure(model_url, runs_url, login["token"], args.calls, args.concurrency, args.rounds)
                )
    finally:
        double.terminate()
        double.wait(10)

    added_p50 = through.quantile(0.5) - direct.quantile(0.5)
    added_p99 = through.quantile(0.99) - direct.quantile(0.99)
    if args.json:
        print(
            json.dumps(
                {
                    "direct": direct.as_json(),
                    "through": through.as_json(),
                    "added_p50_ms": round(added_p50, 3),
                    "added_p99_ms": round(added_p99, 3),
                    "connections_to_model_server": connections,
                    "calls_through": len(through.first_token_ms) + through.failed + warm_calls,
                    "load_average": round(os.getloadavg()[0], 2),
                }
            )
        )
        return 0
    print()
    print(f"{'first token':<12}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}{'ok':>7}{'failed':>8}")
    for path in (direct, through):
        figures = path.as_json()
        print(
            f"{path.name:<12}{figures['p50_ms']:>10.2f}{figures['p99_ms']:>10.2f}{figures['mean_ms']:>10.2f}"
            f"{figures['ok']:>7}{figures['failed']:>8}"
        )
    print()
    print(
        f"added by Dirigent: p50 {added_p50:.2f} ms (goal ≤ {GOAL_ADDED_P50_MS:g}), "
        f"p99 {added_p99:.2f} ms (goal ≤ {GOAL_ADDED_P99_MS:g})   "
        f"{'met' if added_p50 <= GOAL_ADDED_P50_MS and added_p99 <= GOAL_ADDED_P99_MS else 'MISSED'}"
    )
    print(
        f"TCP connections Dirigent opened to the model server: {connections} for "
        f"{len(through.first_token_ms) + through.failed + warm_calls} streamed calls (warm-up included)"
    )
    print("goals printed, not asserted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
