"""`Templates` (nodes/rendering/workers.py): plain lookups in this process, everything else in
worker processes — with the same results as rendering here, and the event loop free."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from nodes.errors import TemplateBudgetExceeded, TemplateError
from nodes.rendering.budget import TemplateLimits
from nodes.rendering.templating import evaluate, render
from nodes.rendering.workers import ProcessLimits, RenderUsage, Templates

SCOPE: dict[str, Any] = {
    "inputs": {"name": "Ada", "amount": 60_000, "tags": ["a", "b"], "text": "one two three four five"},
    "find": {"documents": [{"text": "one", "score": 0.9}, {"text": "two", "score": 0.5}]},
    "tree": {"children": [{"name": "a", "children": [{"name": "b", "children": []}]}]},
}
NO_STATIC_LIMITS = TemplateLimits(**{field.name: 10**18 for field in dataclasses.fields(TemplateLimits)})
SLOW = "{% for i in range(10 ** 12) %}{% endfor %}"  # only the hard stop ends it

# Templates that need Jinja's machinery: a worker must give exactly what this process gives.
JINJA_TEMPLATES = [
    "{{ inputs.name | upper }}",
    "{% for d in find.documents %}[{{ loop.index }}. {{ d.text }}]{% endfor %}",
    "{{ find.documents | map(attribute='text') | join(', ') }}",
    "{{ inputs.text | wordwrap(9) }}",
    "{{ inputs.text | indent(2, first=true) }}|{{ inputs.name | center(9) }}|{{ inputs.text | truncate(9) }}",
    "{{ '%05.1f' | format(3.14159) }} {{ '%s=%d' % ('n', 7) }} {{ '{:>6}|{:.2f}'.format('x', 2.5) }}",
    "{{ inputs.text | replace('o', '0') }} {{ 'ab' * 3 }} {{ [1, 2] + [3] }} {{ 'a' ~ 1 ~ none }}",
    "{% macro eur(x) %}{{ '{:,}'.format(x) }} €{% endmacro %}{{ eur(inputs.amount) }} {{ eur(5000000) }}",
    "{% set ns = namespace(total=0) %}{% for d in find.documents %}{% set ns.total = ns.total + d.score %}"
    "{% endfor %}{{ ns.total }}",
    "{% for node in tree.children recursive %}{{ node.name }}({{ loop(node.children) }}){% endfor %}",
    "{{ inputs | tojson }} {{ inputs.tags | json }} {{ find.documents[0] }}",
    "{% set x %}block {{ inputs.name }}{% endset %}{{ x | length }} {{ lipsum(1, false, 5, 6) | wordcount }}",
    "{{ [3, 1, 2] | sort | batch(2) | list }} {{ range(5) | slice(2) | list }} {{ inputs.tags | first }}",
    "{% filter upper %}shout {{ inputs.name }}{% endfilter %}",
]
EXPRESSIONS = [
    "inputs.amount > 50000",
    "inputs.name == 'Ada' and inputs.amount < 10",
    "inputs.tags | length",
    "find.documents | map(attribute='score') | list",
    "{'who': inputs.name, 'many': inputs.tags | length > 1}",
    "'big' if inputs.amount > 50000 else 'small'",
]


@pytest.fixture
async def templates() -> AsyncIterator[Templates]:
    rendering = Templates(process=ProcessLimits(workers=2))
    yield rendering
    await rendering.close()


async def test_plain_lookups_never_start_a_worker(templates: Templates) -> None:
    assert await templates.render("Hello {{ inputs.name }}, {{ find.documents }}", SCOPE) == (
        'Hello Ada, [{"text": "one", "score": 0.9}, {"text": "two", "score": 0.5}]'
    )
    assert await templates.render("no placeholders at all", SCOPE) == "no placeholders at all"
    assert await templates.evaluate("inputs.tags", SCOPE) == ["a", "b"]
    assert templates.worker_pids() == []


@pytest.mark.parametrize("template", JINJA_TEMPLATES)
async def test_a_worker_renders_what_this_process_renders(templates: Templates, template: str) -> None:
    assert await templates.render(template, SCOPE) == render(template, SCOPE)
    assert templates.worker_pids() and os.getpid() not in templates.worker_pids()


@pytest.mark.parametrize("expression", EXPRESSIONS)
async def test_a_worker_evaluates_what_this_process_evaluates(templates: Templates, expression: str) -> None:
    assert await templates.evaluate(expression, SCOPE) == evaluate(expression, SCOPE)
    assert templates.worker_pids()


async def test_values_that_are_not_data_come_back_as_their_text(templates: Templates) -> None:
    assert await templates.evaluate("range(3)", SCOPE) == "range(0, 3)"
    assert (await templates.evaluate("inputs.tags | map('upper')", SCOPE)).startswith("<generator object")
    assert await templates.evaluate("(1, 2)", SCOPE) == [1, 2]


async def test_errors_say_the_same_as_in_this_process(templates: Templates) -> None:
    for template, says in [
        ("{{ inputs.nope | upper }}", "refers to something that does not exist"),
        ("{{ ''.__class__.__mro__ | list }}", "sandbox forbids"),
        ("{% for x in %}", "template syntax error on line 1"),
    ]:
        with pytest.raises(TemplateError, match=says):
            await templates.render(template, SCOPE)
    with pytest.raises(TemplateError, match="does not exist"):
        await templates.evaluate("inputs.amout > 1", SCOPE)


async def test_only_the_names_a_template_reads_are_sent(templates: Templates) -> None:
    scope = {**SCOPE, "machinery": threading.Lock()}  # cannot be pickled
    assert await templates.render("{{ inputs.name | lower }}", scope) == "ada"
    with pytest.raises(TemplateError, match="cannot be sent to a rendering process"):
        await templates.render("{{ machinery | string }}", scope)


async def test_the_event_loop_turns_while_a_worker_is_stopped_at_its_limit() -> None:
    usages: list[RenderUsage] = []
    rendering = Templates(NO_STATIC_LIMITS, ProcessLimits(workers=1), on_usage=usages.append)
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    try:
        assert await rendering.render("{{ 1 | string }}", {}) == "1"
        began = time.perf_counter()
        with pytest.raises(TemplateBudgetExceeded) as stopped:
            await rendering.render(SLOW, {})
        took = time.perf_counter() - began
        assert stopped.value.limit in ("cpu_seconds", "wall_seconds")
        assert took < 3.0
        assert usages[-1].cpu_seconds <= 1.0
        assert await rendering.render("{{ 2 | string }}", {}) == "2"  # a worker is free again
    finally:
        ticking.cancel()
        await rendering.close()
    assert len(gaps) > 20 and max(gaps) < 0.25, max(gaps)


async def test_a_worker_stuck_past_the_wall_clock_is_killed_and_replaced() -> None:
    # One long C call: no signal handler runs inside it, so only the kill ends it.
    rendering = Templates(NO_STATIC_LIMITS, ProcessLimits(workers=1, cpu_seconds=30, wall_seconds=0.5))
    try:
        await rendering.render("{{ 0 | string }}", {})
        (stuck,) = rendering.worker_pids()
        with pytest.raises(TemplateBudgetExceeded) as stopped:
            await rendering.render("{{ range(10 ** 12) | sum }}", {})  # C's sum() never checks signals
        assert stopped.value.limit == "wall_seconds" and stopped.value.limit_value == 0.5
        assert await rendering.render("{{ 3 | string }}", {}) == "3"
        assert rendering.worker_pids() != [stuck]
    finally:
        await rendering.close()


async def test_renders_queue_for_the_workers_and_all_finish(templates: Templates) -> None:
    template = "{{ inputs.name | upper }}-{{ n }}"
    results = await asyncio.gather(*(templates.render(template, {**SCOPE, "n": n}) for n in range(12)))
    assert results == [f"ADA-{n}" for n in range(12)]
    assert 1 <= len(templates.worker_pids()) <= 2


async def test_a_cancelled_render_does_not_leave_a_busy_worker_behind() -> None:
    rendering = Templates(NO_STATIC_LIMITS, ProcessLimits(workers=1, cpu_seconds=30, wall_seconds=30))
    try:
        await rendering.render("{{ 0 | string }}", {})  # the worker is up
        (busy,) = rendering.worker_pids()
        task = asyncio.create_task(rendering.render(SLOW, {}))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert rendering.worker_pids() == []
        assert await rendering.render("{{ 4 | string }}", {}) == "4"
        assert rendering.worker_pids() != [busy]
    finally:
        await rendering.close()


async def test_a_worker_that_died_while_idle_is_replaced(templates: Templates) -> None:
    assert await templates.render("{{ 5 | string }}", {}) == "5"
    (dead,) = templates.worker_pids()
    os.kill(dead, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{dead}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":  # dead, not collected
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    assert await templates.render("{{ 6 | string }}", {}) == "6"
    assert dead not in templates.worker_pids()


async def test_a_worker_that_dies_during_a_render_is_a_clear_error_and_is_replaced() -> None:
    rendering = Templates(NO_STATIC_LIMITS, ProcessLimits(workers=1, cpu_seconds=30, wall_seconds=30))
    try:
        await rendering.render("{{ 0 | string }}", {})  # the worker is up
        (dying,) = rendering.worker_pids()
        task = asyncio.create_task(rendering.render(SLOW, {}))
        await asyncio.sleep(0.3)
        os.kill(dying, signal.SIGKILL)
        with pytest.raises(TemplateError, match="stopped unexpectedly"):
            await task
        assert await rendering.render("{{ 7 | string }}", {}) == "7"
        assert dying not in rendering.worker_pids()
    finally:
        await rendering.close()


@pytest.mark.parametrize(
    "template",
    [
        "{{ inputs.name }} " * 55_000,  # 1 MB of placeholders: parsing it takes seconds
        "{% if inputs %}" + "{{ inputs.name | upper }} " * 40_000 + "{% endif %}",
    ],
    ids=["placeholders", "jinja"],
)
async def test_a_megabyte_of_template_is_not_parsed_in_this_process(
    templates: Templates, template: str
) -> None:
    await templates.render("{{ 0 | string }}", {})  # the workers' start is not the point here
    began = time.process_time()
    try:
        text = await templates.render(template, SCOPE)
    except TemplateBudgetExceeded as refused:  # a worker may need longer than a second for it
        assert refused.limit in ("cpu_seconds", "wall_seconds")
    else:
        assert text.startswith("Ada ") or text.startswith("ADA ")
    assert time.process_time() - began < 0.3  # pickling a megabyte, not parsing it


async def test_a_worker_does_not_inherit_the_runtimes_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIRIGENT_SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("DIRIGENT_DATABASE_URL", "postgresql+asyncpg://u:secret@db/dirigent")
    rendering = Templates(process=ProcessLimits(workers=1))
    try:
        assert await rendering.render("{{ 8 | string }}", {}) == "8"
        (pid,) = rendering.worker_pids()
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    finally:
        await rendering.close()
    assert not [entry for entry in environment if entry.startswith(b"DIRIGENT_") or b"secret" in entry]
    assert any(entry.startswith(b"PYTHONPATH=") for entry in environment)
