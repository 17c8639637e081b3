"""One template worker process: `python -m nodes.rendering.worker '<limits as JSON>'`.

Started and spoken to by `nodes.rendering.workers`. It reads requests (a pickle of
`(kind, source, scope)`, length-prefixed) on stdin and writes one answer per request
(JSON, length-prefixed) on stdout. Each render runs under the static budget, with a
CPU-time limit (SIGPROF) and the process under a memory limit (RLIMIT_AS); the parent
keeps the wall-clock limit and kills this process when it is over.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import resource
import signal
import sys
import time
from typing import Any

from nodes.errors import TemplateBudgetExceeded, TemplateError
from nodes.rendering.budget import TemplateLimits, refuse
from nodes.rendering.templating import evaluate, render

_MB = 1024 * 1024


class _OutOfCpu(BaseException):
    """Raised by the SIGPROF handler; a BaseException, so no `except Exception` swallows it."""


def _on_sigprof(signum: int, frame: Any) -> None:
    raise _OutOfCpu


def _statm(field: int) -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[field]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> None:
    """Start the peak resident size (VmHWM) afresh, so that it is this render's peak."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:  # an old kernel: the peak of the process's life, an over-estimate
        pass


def _resident_and_peak_bytes() -> tuple[int, int]:
    """Resident size now, and its peak since `_reset_peak` (one read of /proc/self/status)."""
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                found[line[:5]] = int(line.split()[1]) * 1024
    peak = found.get("VmHWM", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return found.get("VmRSS", 0), peak


def _read_exactly(descriptor: int, size: int) -> bytes | None:
    chunks, missing = [], size
    while missing:
        chunk = os.read(descriptor, missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _write(descriptor: int, payload: dict[str, Any]) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode()
    data = len(data).to_bytes(4, "big") + data
    while data:
        data = data[os.write(descriptor, data) :]


def _plain_value(value: Any) -> Any:
    """An expression's value as JSON data (what the run stores anyway): a generator, a range
    or a macro becomes its text, as `json.dumps(default=str)` would write it."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {
            key if type(key) in (str, int, float, bool) else str(key): _plain_value(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_plain_value(item) for item in value]
    return str(value)


def _error(exc: TemplateError) -> dict[str, Any]:
    if isinstance(exc, TemplateBudgetExceeded):
        return {"limit": exc.limit, "limit_value": exc.limit_value, "what": exc.what}
    return {"message": exc.message, "code": exc.code, "params": _plain_value(exc.parameters())}


def answer(
    kind: str, source: str, scope: dict[str, Any], limits: TemplateLimits, cpu_seconds: float, memory_mb: int
) -> dict[str, Any]:
    """Render or evaluate, under the CPU-time limit; the answer without its usage."""
    try:
        try:
            signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
            if kind == "render":
                return {"status": "ok", "value": render(source, scope, limits)}
            return {"status": "ok", "value": _plain_value(evaluate(source, scope, limits))}
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    except _OutOfCpu:
        return {"status": "error", "error": _error(refuse("cpu_seconds", cpu_seconds))}
    except MemoryError:  # its heap may stay big: the parent replaces this worker
        return {"status": "error", "retire": True, "error": _error(refuse("memory_mb", memory_mb))}
    except RecursionError:  # nested deeper than the sandbox's own checks saw
        return {"status": "error", "error": _error(refuse("recursion_depth", sys.getrecursionlimit()))}
    except TemplateError as exc:
        return {"status": "error", "error": _error(exc)}


def main(config: dict[str, Any]) -> None:
    limits = TemplateLimits(**config["limits"])
    process = config["process"]
    # The protocol owns stdout; anything printed by accident goes to stderr instead.
    requests, answers = 0, os.dup(1)
    os.dup2(2, 1)
    render("{% for x in [1] %}{{ x | string }}{% endfor %}", {}, limits)  # Jinja's lazy imports
    space = _statm(0) + int(process["memory_mb"]) * _MB
    resource.setrlimit(resource.RLIMIT_AS, (space, space))
    with contextlib.suppress(ValueError, OSError):  # no processes of its own (root ignores it)
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    signal.signal(signal.SIGPROF, _on_sigprof)
    _write(answers, {"status": "ready", "cpu_total": time.process_time(), "resident": _statm(1)})
    while True:
        header = _read_exactly(requests, 4)
        if header is None:
            return
        body = _read_exactly(requests, int.from_bytes(header, "big"))
        if body is None:
            return
        kind, source, scope = pickle.loads(body)
        _reset_peak()
        resident_before, cpu_before = _statm(1), time.process_time()
        reply = answer(kind, source, scope, limits, float(process["cpu_seconds"]), int(process["memory_mb"]))
        del scope, body  # measure what stays, not what the render held
        cpu_after = time.process_time()
        resident, peak = _resident_and_peak_bytes()
        reply["usage"] = [cpu_after - cpu_before, max(peak - resident_before, 0)]
        reply["cpu_total"], reply["resident"] = cpu_after, resident
        try:
            _write(answers, reply)
        except MemoryError:  # the answer itself does not fit: say so, and make way for a new worker
            reply = {
                **reply,
                "status": "error",
                "value": None,
                "retire": True,
                "error": _error(refuse("memory_mb", int(process["memory_mb"]))),
            }
            _write(answers, reply)
        if reply.get("retire"):
            return


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
