"""Load: many concurrent chat sessions against two runtime processes on one PostgreSQL.

Prints figures; asserts nothing (the exit status is 1 when any request failed). Not part of
`make test` nor of `make bench` (it runs for minutes): `make load`, or

    .venv/bin/python bench/load.py                            # 200 sessions, 10 minutes
    .venv/bin/python bench/load.py --minutes 2 --sessions 50  # shorter, on a busy machine
    .venv/bin/python bench/load.py --json                     # one JSON object at the end

What runs, all on 127.0.0.1 and thrown away afterwards:

    PostgreSQL      a fresh cluster (`scripts/postgres-test-server.sh`), or `--database-url`
    LLM server      TEST DOUBLE: `tests/support/messages_api_double.py` (a TGI Messages API
                    stand-in; a GPU server cannot run here) in a process of its own,
                    streaming a `--reply-words` answer word by word, `--token-delay-s` apart
    two runtimes    `dirigent serve` twice (different ports), same database and secret, as
                    two replicas behind a load balancer; the first migrates the database
    the assistant   `chat` (input -> llm -> output), created, tested, submitted, approved
                    by a board member and published through the service layer

`--sessions` sessions (each an asyncio task in this process, with its own person's token
out of eight) loop for `--minutes`: a streaming invocation (`POST
/api/assistants/chat/runs`, `"stream": true`, Server-Sent Events), read to its last event,
then a think time (uniform between 0.5 and 1.5 x `--think-s`). A session's requests go to
the two runtimes in turn. A request counts as succeeded only when the answer was 2xx and
the stream ended with the run's last event saying `succeeded` and carried the whole
answer; anything else — another status, a transport error, a stream that broke off or
ended otherwise — is an error (the first few are printed). Latency is from sending the
request to the run's last event; time to first token is to the first `token` event.

Memory: the resident set size (VmRSS) of each runtime process and of its children (the
template workers) is sampled every 10 s; printed at minute 1 and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from published import free_port, publish_assistant  # bench/published.py, beside this file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "load-password-123"
JWT_SECRET = "load-secret-" + "x" * 40
SLUG = "chat"
PEOPLE = [f"person{i}" for i in range(8)]
QUESTIONS = [
    "Wann liefern Sie?",
    "Was kostet die Wartung?",
    "Wie kündige ich den Vertrag?",
    "Gibt es Rabatt?",
]
FLOW: dict[str, Any] = {
    "schema": "dirigent.flow/v1",
    "name": "Chat",
    "description": "input -> llm -> output, streamed",
    "inputs": {"question": {"type": "string", "required": True}},
    "nodes": [
        {"id": "start", "type": "input"},
        {
            "id": "answer",
            "type": "llm",
            "config": {"prompt": "Beantworte: {{ inputs.question }}", "max_tokens": 64},
        },
        {"id": "end", "type": "output"},
    ],
    "edges": [{"from": "start", "to": "answer"}, {"from": "answer", "to": "end"}],
    "outputs": {"answer": "{{ answer.text }}"},
    "card": {"purpose": "Lasttest", "risk": "minimal", "owner": "bench"},
    "tests": [
        {
            "name": "antwortet",
            "inputs": {"question": "Wann liefern Sie?"},
            "fixed": {"answer": {"text": "Morgen."}},
            "expect": [{"check": "equals", "output": "answer", "value": "Morgen."}],
        }
    ],
}
RSS_EVERY_S = 10.0
START_TIMEOUT_S = 120.0

# The double runs in a process of its own, so its threads do not share this process's GIL
# with the sessions; it forgets what it received every second (it records every request).
DOUBLE_SCRIPT = """
import sys, threading, time
from tests.support.messages_api_double import MessagesApiDouble
words, delay = int(sys.argv[1]), float(sys.argv[2])
text = " ".join(f"Wort{i}" for i in range(words))
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
with MessagesApiDouble("double/load-chat") as double:
    double.reply(text, chunk_delay_s=delay)
    print(double.url, flush=True)
    while not done.wait(1.0):
        with double._lock:
            double.requests.clear()
            double.headers.clear()
"""


# -- the pieces -----------------------------------------------------------------------------
@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """The given URL, or a throwaway cluster's (stopped and deleted afterwards)."""
    if url:
        yield url
        return
    env = {**os.environ, "DIRIGENT_PG_DIR": tempfile.mktemp(prefix="dirigent-load-pg-")}
    script = str(ROOT / "scripts" / "postgres-test-server.sh")
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True, check=False)
    if started.returncode != 0:
        raise SystemExit(f"PostgreSQL did not start:\n{started.stderr}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, check=False)


@contextlib.contextmanager
def messages_api_double(words: int, delay_s: float) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", DOUBLE_SCRIPT, str(words), str(delay_s)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise SystemExit("the Messages API double did not start")
        yield url
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def prepare(url: str) -> None:
    """Migrate; people; the chat assistant tested, submitted, approved and published."""
    from runtime.settings import Settings

    settings = Settings(database_url=url, jwt_secret=JWT_SECRET)
    await publish_assistant(settings, FLOW, SLUG, PASSWORD, end_users=PEOPLE, comment="Lasttest")


@dataclass
class Runtime:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def rss_kib(self) -> tuple[int, int]:
        """(this process, this process and its children) resident set size in KiB."""
        own = rss_of(self.process.pid)
        return own, own + sum(rss_of(child) for child in children_of(self.process.pid))


def rss_of(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            for child in map(int, text):
                found += [child, *children_of(child)]
    return found


def start_runtime(env: dict[str, str], log: Path) -> Runtime:
    port = free_port()
    from tests.support.runtime_processes import dirigent_command

    with log.open("wb") as output:
        process = subprocess.Popen(
            [*dirigent_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    runtime = Runtime(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise SystemExit(f"dirigent serve ended:\n{log.read_text(errors='replace')[-4000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{runtime.url}/health", timeout=2).status_code == 200:
                return runtime
        if time.monotonic() > deadline:
            stop_runtime(runtime)
            raise SystemExit(f"dirigent serve did not answer within {START_TIMEOUT_S:g} s")
        time.sleep(0.3)


def stop_runtime(runtime: Runtime) -> None:
    if runtime.process.poll() is None:
        runtime.process.send_signal(signal.SIGTERM)
        try:
            runtime.process.wait(30)
        except subprocess.TimeoutExpired:
            runtime.process.kill()
            runtime.process.wait()


# -- the sessions ---------------------------------------------------------------------------
@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, succeeded requests
    first_tokens: list[float] = field(default_factory=list)
    requests: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    per_runtime: dict[str, int] = field(default_factory=dict)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(text[:300])


async def one_chat(client: httpx.AsyncClient, url: str, token: str, expected: str, tally: Tally) -> None:
    body = {"inputs": {"question": random.choice(QUESTIONS)}, "stream": True}
    headers = {"Authorization": f"Bearer {token}"}
    began = time.perf_counter()
    first_token: float | None = None
    final: dict[str, Any] | None = None
    text: list[str] = []
    tally.requests += 1
    tally.per_runtime[url] = tally.per_runtime.get(url, 0) + 1
    try:
        async with client.stream(
            "POST", f"{url}/api/assistants/{SLUG}/runs", json=body, headers=headers
        ) as answer:
            if not 200 <= answer.status_code < 300:
                await answer.aread()
                tally.error(f"{url}: HTTP {answer.status_code}: {answer.text}")
                return
            event = "message"
            async for line in answer.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data = json.loads(line[5:])
                    if event == "token":
                        if first_token is None:
                            first_token = time.perf_counter() - began
                        text.append(data.get("text", ""))
                    elif event == "run" and data.get("type") == "run":
                        final = data
                elif not line:
                    event = "message"
    except (httpx.HTTPError, json.JSONDecodeError) as error:
        tally.error(f"{url}: {type(error).__name__}: {error}")
        return
    if final is None:
        tally.error(f"{url}: the stream ended without the run's last event")
    elif final.get("status") != "succeeded":
        tally.error(f"{url}: run {final.get('status')}: {final.get('error')}")
    elif "".join(text) != expected:
        tally.error(f"{url}: streamed answer incomplete: {''.join(text)[:80]!r}")
    else:
        tally.latencies.append(time.perf_counter() - began)
        tally.first_tokens.append(first_token if first_token is not None else float("nan"))


async def session(
    number: int,
    client: httpx.AsyncClient,
    urls: list[str],
    token: str,
    expected: str,
    until: float,
    think_s: float,
    tally: Tally,
) -> None:
    await asyncio.sleep(random.uniform(0, min(5.0, think_s * 2)))  # do not all start at once
    turn = number
    while time.monotonic() < until:
        await one_chat(client, urls[turn % len(urls)], token, expected, tally)
        turn += 1
        await asyncio.sleep(random.uniform(0.5, 1.5) * think_s)


async def drive(args: argparse.Namespace, runtimes: list[Runtime], expected: str, log: Any) -> dict[str, Any]:
    urls = [runtime.url for runtime in runtimes]
    limits = httpx.Limits(max_connections=args.sessions + 16, max_keepalive_connections=args.sessions + 16)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits) as client:
        tokens = []
        for person in PEOPLE:
            answer = await client.post(
                f"{urls[0]}/api/auth/login", json={"username": person, "password": PASSWORD}
            )
            answer.raise_for_status()
            tokens.append(answer.json()["token"])
        tally = Tally()
        began = time.monotonic()
        until = began + args.minutes * 60
        rss: list[dict[str, Any]] = []

        async def sample_memory() -> None:
            while True:
                elapsed = time.monotonic() - began
                rss.append({"t_s": round(elapsed, 1), "runtimes": [list(r.rss_kib()) for r in runtimes]})
                done = len(tally.latencies)
                log(
                    f"  {elapsed:6.0f} s: {tally.requests} requests, {done} succeeded, "
                    f"{tally.errors} errors; "
                    "RSS MiB "
                    + ", ".join(
                        f"{own / 1024:.0f} (+children {total / 1024:.0f})"
                        for own, total in rss[-1]["runtimes"]
                    )
                )
                await asyncio.sleep(RSS_EVERY_S)

        sampler = asyncio.create_task(sample_memory())
        await asyncio.gather(
            *(
                session(i, client, urls, tokens[i % len(tokens)], expected, until, args.think_s, tally)
                for i in range(args.sessions)
            )
        )
        elapsed = time.monotonic() - began
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        rss.append({"t_s": round(elapsed, 1), "runtimes": [list(r.rss_kib()) for r in runtimes]})
    return summarise(args, tally, rss, elapsed)


def percentile_ms(values: list[float], q: float) -> float | None:
    ordered = sorted(v for v in values if v == v)  # NaN (no token seen) left out
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index] * 1000, 1)


def summarise(
    args: argparse.Namespace, tally: Tally, rss: list[dict[str, Any]], elapsed: float
) -> dict[str, Any]:
    minute_1 = min(rss, key=lambda sample: abs(sample["t_s"] - 60.0))
    end = rss[-1]
    return {
        "sessions": args.sessions,
        "minutes": args.minutes,
        "think_s": args.think_s,
        "elapsed_s": round(elapsed, 1),
        "requests": tally.requests,
        "succeeded": len(tally.latencies),
        "errors": tally.errors,
        "error_samples": tally.error_samples,
        "succeeded_per_s": round(len(tally.latencies) / elapsed, 1),
        "per_runtime": list(tally.per_runtime.values()),
        "latency_ms": {"p50": percentile_ms(tally.latencies, 50), "p99": percentile_ms(tally.latencies, 99)},
        "first_token_ms": {
            "p50": percentile_ms(tally.first_tokens, 50),
            "p99": percentile_ms(tally.first_tokens, 99),
        },
        "rss_mib": {
            "minute_1": {
                "t_s": minute_1["t_s"],
                "runtimes": [[round(v / 1024, 1) for v in r] for r in minute_1["runtimes"]],
            },
            "end": {
                "t_s": end["t_s"],
                "runtimes": [[round(v / 1024, 1) for v in r] for r in end["runtimes"]],
            },
        },
        "load_average": round(os.getloadavg()[0], 2),
    }


def report(result: dict[str, Any]) -> None:
    print()
    print(
        f"{result['sessions']} sessions for {result['elapsed_s']:.0f} s "
        f"(think time ~{result['think_s']:g} s), "
        f"two runtimes on PostgreSQL, streaming chat (SSE)"
    )
    print(
        f"  requests {result['requests']} (per runtime {', '.join(map(str, result['per_runtime']))}), "
        f"succeeded {result['succeeded']} ({result['succeeded_per_s']:.1f}/s), errors {result['errors']}"
    )
    for sample in result["error_samples"]:
        print(f"    error: {sample}")
    latency, first = result["latency_ms"], result["first_token_ms"]
    print(f"  latency (request to the run's last event): p50 {latency['p50']} ms, p99 {latency['p99']} ms")
    print(f"  time to first token:                       p50 {first['p50']} ms, p99 {first['p99']} ms")
    for label in ("minute_1", "end"):
        sample = result["rss_mib"][label]
        cells = ", ".join(
            f"runtime {n + 1}: {own:.0f} MiB (with its workers {total:.0f})"
            for n, (own, total) in enumerate(sample["runtimes"])
        )
        print(f"  RSS at {sample['t_s']:.0f} s ({label.replace('_', ' ')}): {cells}")
    print(f"  (load average at the end {result['load_average']:.2f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument(
        "--think-s", type=float, default=2.0, help="mean think time between a session's requests"
    )
    parser.add_argument("--reply-words", type=int, default=20, help="words in the LLM double's answer")
    parser.add_argument(
        "--token-delay-s", type=float, default=0.01, help="between the double's streamed words"
    )
    parser.add_argument(
        "--database-url", default=None, help="an existing PostgreSQL (asyncpg URL); default: a throwaway one"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        if not args.json:
            print(line, flush=True)

    expected = " ".join(f"Wort{i}" for i in range(args.reply_words))
    with tempfile.TemporaryDirectory(prefix="dirigent-load-") as tmp, postgres(args.database_url) as url:
        log(f"PostgreSQL {url}; preparing the assistant")
        asyncio.run(prepare(url))
        with messages_api_double(args.reply_words, args.token_delay_s) as llm_url:
            env = {key: value for key, value in os.environ.items() if not key.startswith("DIRIGENT_")}
            env.update(
                DIRIGENT_DATABASE_URL=url,
                DIRIGENT_DATA_DIR=str(Path(tmp) / "data"),
                DIRIGENT_JWT_SECRET=JWT_SECRET,
                DIRIGENT_LLM_URL=llm_url,
                DIRIGENT_EGRESS_ALLOW="127.0.0.1",
                PYTHONPATH=str(ROOT),
            )
            runtimes: list[Runtime] = []
            try:
                for number in (1, 2):
                    runtimes.append(start_runtime(env, Path(tmp) / f"runtime-{number}.log"))
                log(
                    f"runtimes {', '.join(r.url for r in runtimes)}; LLM double {llm_url}; "
                    f"{args.sessions} sessions for {args.minutes:g} min"
                )
                result = asyncio.run(drive(args, runtimes, expected, log))
            finally:
                for runtime in runtimes:
                    stop_runtime(runtime)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
