"""Template rendering: what the hop to a worker process costs, per render, side by side.

Prints figures; asserts nothing. For each shape of template, the median time of one render

    in-process    `nodes.rendering.templating.render` / `evaluate` in this thread (the static budget
                  only: what every render cost before the worker processes)
    Templates     `nodes.rendering.workers.Templates.render` / `evaluate`, as the engine
                  calls them: plain lookups stay in this process, everything else is a
                  round trip to a worker (pickle of the named scope entries there, JSON back)

and the ratio of the two, wall-clock and CPU of this process (the worker's CPU is its
own). Shapes: plain text and `{{ a.b }}` lookups (the fast path, never a worker), a
filter, a loop, a macro, a router condition, and a template over a 100 KB document.
Then the throughput of 1, 2 and 4 concurrent callers on 2 workers (median and range of
repeated rounds after a warm-up).

    .venv/bin/python bench/templates.py            # table
    .venv/bin/python bench/templates.py --json     # one JSON object
    .venv/bin/python bench/templates.py --quick    # fewer samples (rougher figures)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nodes.rendering.templating import MISSING, evaluate, evaluate_plain, render, render_plain
from nodes.rendering.workers import ProcessLimits, Templates

DOCUMENT = " ".join(f"Absatz {i}: Lieferung, Angebot und Rechnung." for i in range(2500))  # ≈ 100 KB
SCOPE: dict[str, Any] = {
    "inputs": {"name": "Ada Lovelace", "amount": 60_000, "question": "Wann liefern Sie?"},
    "find": {
        "documents": [{"text": f"Dokument {i}", "score": 1 - i / 10} for i in range(5)],
        "context": DOCUMENT,
    },
    "answer": {"text": "Morgen um neun."},
}
# (name, kind, source): kind is "render" or "evaluate".
SHAPES: list[tuple[str, str, str]] = [
    ("plain text", "render", "Guten Tag, wie kann ich helfen?"),
    ("lookups", "render", "Frage von {{ inputs.name }}: {{ inputs.question }} Antwort: {{ answer.text }}"),
    ("bare lookup", "evaluate", "answer.text"),
    ("filter", "render", "Hallo {{ inputs.name | upper }}"),
    (
        "loop",
        "render",
        "{% for d in find.documents %}[{{ loop.index }}] {{ d.text }} ({{ d.score }})\n{% endfor %}",
    ),
    (
        "macro",
        "render",
        "{% macro eur(x) %}{{ '{:,.2f}'.format(x) }} €{% endmacro %}Summe: {{ eur(inputs.amount) }}",
    ),
    ("condition", "evaluate", "inputs.amount > 50000 and answer.text != ''"),
    (
        "100 KB document",
        "render",
        "Kontext:\n{{ find.context | truncate(100000) }}\nFrage: {{ inputs.question }}",
    ),
]


async def median_per_call(call: Callable[[], Awaitable[Any]], *, seconds: float) -> tuple[float, float, int]:
    """Median wall and CPU (this process) seconds per call, over batches of ≥ 2 ms."""
    for _ in range(5):
        await call()
    walls: list[float] = []
    cpus: list[float] = []
    deadline = time.perf_counter() + seconds
    batch = 1
    while len(walls) < 7 or time.perf_counter() < deadline:
        began, began_cpu = time.perf_counter(), time.process_time()
        for _ in range(batch):
            await call()
        wall = (time.perf_counter() - began) / batch
        walls.append(wall)
        cpus.append((time.process_time() - began_cpu) / batch)
        batch = max(1, int(0.002 / max(wall, 1e-7)))
    return statistics.median(walls), statistics.median(cpus), len(walls)


async def bench(quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    seconds = 0.4 if quick else 1.5
    templates = Templates(process=ProcessLimits(workers=2))
    result: dict[str, Any] = {"shapes": {}}
    try:
        for name, kind, source in SHAPES:
            local = render if kind == "render" else evaluate
            remote = templates.render if kind == "render" else templates.evaluate
            assert local(source, SCOPE) == await remote(source, SCOPE), name

            async def in_process(local: Any = local, source: str = source) -> Any:
                return local(source, SCOPE)

            async def through_templates(remote: Any = remote, source: str = source) -> Any:
                return await remote(source, SCOPE)

            here = await median_per_call(in_process, seconds=seconds)
            there = await median_per_call(through_templates, seconds=seconds)
            figures = {
                "in_process_us": round(here[0] * 1e6, 2),
                "templates_us": round(there[0] * 1e6, 2),
                "ratio": round(there[0] / here[0], 2),
                "in_process_cpu_us": round(here[1] * 1e6, 2),
                "templates_cpu_us": round(there[1] * 1e6, 2),
                "cpu_ratio": round(there[1] / max(here[1], 1e-9), 2),
                "worker": (render_plain(source, SCOPE) is None)
                if kind == "render"
                else evaluate_plain(source, SCOPE) is MISSING,
            }
            result["shapes"][name] = figures
            log(
                f"  {name:<16} in-process {figures['in_process_us']:>9.1f} µs   Templates "
                f"{figures['templates_us']:>9.1f} µs   x{figures['ratio']:<7} "
                f"(cpu here {figures['in_process_cpu_us']:.1f} / {figures['templates_cpu_us']:.1f} µs)"
            )

        source = SHAPES[3][2]  # the filter: one worker round trip each
        result["throughput_per_s"] = {}
        result["throughput_range_per_s"] = {}
        for callers in (1, 2, 4):
            count = 200 if quick else 1000

            async def caller(count: int = count, callers: int = callers) -> None:
                for _ in range(count // callers):
                    await templates.render(source, SCOPE)

            await caller(count // 5)  # warm-up
            rates = []
            for _ in range(3 if quick else 5):  # repeats: a busy machine swings a single one
                began = time.perf_counter()
                await asyncio.gather(*(caller() for _ in range(callers)))
                rates.append(count // callers * callers / (time.perf_counter() - began))
            result["throughput_per_s"][callers] = round(statistics.median(rates))
            result["throughput_range_per_s"][callers] = [round(min(rates)), round(max(rates))]
            log(
                f"  {callers} concurrent caller(s) on 2 workers: {statistics.median(rates):,.0f} renders/s "
                f"(median of {len(rates)}; {min(rates):,.0f}-{max(rates):,.0f})"
            )
    finally:
        await templates.close()
    return result


def report(result: dict[str, Any]) -> None:
    print()
    print("per render, median µs (wall); Templates/in-process ratio; CPU of this process in brackets")
    print(f"{'shape':<18}{'in-process':>12}{'Templates':>12}{'ratio':>9}   {'cpu here':>20}   via")
    for name, figures in result["shapes"].items():
        print(
            f"{name:<18}{figures['in_process_us']:>12.1f}{figures['templates_us']:>12.1f}"
            f"{figures['ratio']:>8.2f}x   "
            f"[{figures['in_process_cpu_us']:>7.1f} / {figures['templates_cpu_us']:>7.1f}]"
            f"   {'worker' if figures['worker'] else 'this process'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--quick", action="store_true", help="fewer samples, rougher figures")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        if not args.json:
            print(line, flush=True)

    log(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    result = asyncio.run(bench(args.quick, log))
    result["load_average"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
        print(f"\n(load average at the end {result['load_average']:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
