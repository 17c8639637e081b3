"""No template can stop the server: each of `HOSTILE_TEMPLATES` is refused or stopped
within 1 s of CPU and 50 MB.

Measured on the worker process that renders it, two ways:

* the worker's own account (`RenderUsage`: its CPU time for the request, and its peak
  resident size — VmHWM, reset at the start of each request — above where it started;
  for a worker killed at the limit, the same figures read from /proc just before the kill);
* the kernel's account: a fresh worker per template, its CPU time read from /proc before the
  template is sent, then `getrusage(RUSAGE_CHILDREN)` after it has been reaped — the
  difference is what the template cost, whoever counted it.

Twice: with the default budget (the static limits refuse each one, with the limit named),
and with the static limits lifted, where only the hard stop (CPU time, wall clock, memory
of the worker process) stands between the template and the machine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import resource
import time
from pathlib import Path

import pytest

from nodes.errors import TemplateBudgetExceeded, TemplateError
from nodes.rendering.budget import TemplateLimits
from nodes.rendering.templating import evaluate, render
from nodes.rendering.workers import ProcessLimits, RenderUsage, Templates
from tests.nodes.hostile_templates import HOSTILE_EXPRESSIONS, HOSTILE_TEMPLATES, Hostile

CPU_BUDGET_S = 1.0
MEMORY_BUDGET_BYTES = 50 * 1024 * 1024
HARD_STOPS = {"cpu_seconds", "wall_seconds", "memory_mb"}
# Every static limit lifted: what is left is the worker's hard stop.
NO_STATIC_LIMITS = TemplateLimits(**{field.name: 10**18 for field in dataclasses.fields(TemplateLimits)})
# The worker's memory limit is on its address space (RLIMIT_AS); its resident size can grow a
# few MB more, into space it had mapped but not touched before. 40 MB keeps it under 50.
HARD_STOP = ProcessLimits(workers=1, cpu_seconds=0.5, wall_seconds=1.0, memory_mb=40)
SCOPE = {"inputs": {"name": "Ada"}}


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _reaped(pid: int) -> None:
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists():  # a zombie keeps its entry until it is waited for
        assert time.monotonic() < deadline, f"worker {pid} was not collected"
        await asyncio.sleep(0.02)


@dataclasses.dataclass
class Measured:
    error: TemplateError
    usage: RenderUsage  # the worker's account
    kernel_cpu_s: float  # the kernel's account (RUSAGE_CHILDREN), the worker's start excluded


async def _measure(
    hostile: Hostile, limits: TemplateLimits, process: ProcessLimits, *, expression: bool
) -> Measured:
    usages: list[RenderUsage] = []
    templates = Templates(limits, process, on_usage=usages.append)
    try:
        assert await templates.render("{{ 'warm' | upper }}", {}) == "WARM"  # the worker is up
        (pid,) = templates.worker_pids()
        children_before, started = _children_cpu(), _cpu_of(pid)
        with pytest.raises(TemplateError) as caught:
            if expression:
                await templates.evaluate(hostile.template, SCOPE)
            else:
                await templates.render(hostile.template, SCOPE)
    finally:
        await templates.close()
    await _reaped(pid)
    return Measured(caught.value, usages[-1], _children_cpu() - children_before - started)


def _within_budget(measured: Measured) -> None:
    assert measured.usage.cpu_seconds <= CPU_BUDGET_S, measured
    assert measured.kernel_cpu_s <= CPU_BUDGET_S, measured
    assert measured.usage.memory_growth_bytes <= MEMORY_BUDGET_BYTES, measured


CASES = [pytest.param(hostile, False, id=hostile.name) for hostile in HOSTILE_TEMPLATES] + [
    pytest.param(hostile, True, id=hostile.name) for hostile in HOSTILE_EXPRESSIONS
]


@pytest.mark.parametrize(("hostile", "expression"), CASES)
async def test_the_budget_refuses_it_naming_the_limit_within_a_second_of_cpu_and_50_mb(
    hostile: Hostile, expression: bool
) -> None:
    measured = await _measure(hostile, TemplateLimits(), ProcessLimits(workers=1), expression=expression)
    assert isinstance(measured.error, TemplateBudgetExceeded), measured.error
    assert measured.error.limit in hostile.limits, measured.error.message
    assert measured.error.code == "template_budget_exceeded"
    if measured.error.limit != "recursion_depth":  # Python's own limit, not one of ours
        assert measured.error.parameters()["limit_value"] == getattr(TemplateLimits(), measured.error.limit)
    assert not measured.usage.stopped  # refused by the static budget, not killed
    _within_budget(measured)


@pytest.mark.parametrize(("hostile", "expression"), CASES)
async def test_without_static_limits_the_hard_stop_ends_it_within_a_second_of_cpu_and_50_mb(
    hostile: Hostile, expression: bool
) -> None:
    measured = await _measure(hostile, NO_STATIC_LIMITS, HARD_STOP, expression=expression)
    if isinstance(measured.error, TemplateBudgetExceeded):
        assert measured.error.limit in HARD_STOPS | {"recursion_depth"}, measured.error.message
    _within_budget(measured)


@pytest.mark.parametrize(("hostile", "expression"), CASES)
def test_the_static_budget_refuses_it_in_this_process_too(hostile: Hostile, expression: bool) -> None:
    """`render`/`evaluate` without a worker (what the worker itself calls) apply the same budget."""
    began = time.process_time()
    with pytest.raises(TemplateBudgetExceeded) as refused:
        (evaluate if expression else render)(hostile.template, SCOPE)
    assert refused.value.limit in hostile.limits
    assert time.process_time() - began <= CPU_BUDGET_S
