"""Extraction in worker processes: a file that is too much for its limits fails alone.

    ingestion job ──▶ ExtractionPool.extract(file) ──▶ idle worker (or a new one)
                                                        │ frame: request (JSON)
                                                        ▼
                      python -m runtime.knowledge.extraction_worker MEMORY_MB
                        RLIMIT_AS = MEMORY_MB, RLIMIT_CPU = used + cpu_seconds per file
                                                        │ frame: passages or refusal
                      ◀─────────────────────────────────┘

Workers are reused: starting one costs the imports of the parsers (~0.5 s), a file
costs a frame each way. A worker that ends without an answer — the kernel's SIGXCPU at
its CPU limit, a crash, the parent's wall-clock `timeout_s`, or the job being cancelled —
is not reused; its file gets `file_too_complex` (cpu_seconds, timeout_s, memory_mb) or
`extraction_failed`, and the next file gets a new worker. The waiting happens in a thread
(`asyncio.to_thread`), so the event loop never blocks; cancelling the waiting task ends
the worker, so the thread returns at once. A file costs ~3 ms more than extracting it in
this process (measured: 3.4 against 0.7 ms for a short Markdown file).

The pool is per process and shared by every `KnowledgeService` in it, like the embedding
model (`embedding.py`): workers are stateless between files.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from runtime.knowledge.chunking import Chunk
from runtime.knowledge.errors import ExtractionFailed, FileRejected, FileTooComplex
from runtime.knowledge.extraction_worker import HEADER, write_frame
from runtime.knowledge.limits import MIB, IngestLimits

# A worker is replaced after this many files (what a long-lived heap fragments into).
RECYCLE_AFTER = 500
# Seconds a new worker may take to import the parsers (~0.5 s; more on a busy machine).
START_TIMEOUT_S = 60.0
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


class WorkerEnded(Exception):
    """The worker process ended (or was ended) before it answered."""

    def __init__(self, returncode: int | None, reason: str | None) -> None:
        super().__init__(f"extraction worker ended ({returncode}, {reason})")
        self.returncode = returncode
        # "start" (never became ready), "timeout", "oversized" (ended by the parent), or None
        self.reason = reason


class ExtractionWorker:
    """One child process, used by one caller at a time. Its answers are read from the
    pipe with `poll` and a deadline, so a file's wall-clock limit costs no timer thread."""

    def __init__(self, memory_mb: int) -> None:
        environment = dict(os.environ)
        # The child imports this package from wherever the parent did — never from the
        # working directory (-P), which may hold another checkout of it.
        environment["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(_PROJECT_ROOT), environment.get("PYTHONPATH")) if part
        )
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", "runtime.knowledge.extraction_worker", str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,  # frames are read from the descriptor itself
            env=environment,
            close_fds=True,
            start_new_session=True,  # a Ctrl-C in the terminal is for the parent
        )
        self.served = 0
        self._ended_by: str | None = None

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self) -> None:
        """Until the worker has imported its parsers (blocking; run it in a thread)."""
        frame = self._read_frame(1024, time.monotonic() + START_TIMEOUT_S, "start")
        if frame is None or not json.loads(frame).get("ready"):
            self.kill()
            raise WorkerEnded(self.process.returncode, self._ended_by or "start")

    def call(self, request: dict[str, Any], timeout_s: float, max_answer_bytes: int) -> dict[str, Any]:
        """Send one request and wait for its answer (blocking; run it in a thread)."""
        assert self.process.stdin is not None
        deadline = time.monotonic() + timeout_s
        try:
            write_frame(self.process.stdin, json.dumps(request).encode())
        except (OSError, ValueError):
            frame = None
        else:
            frame = self._read_frame(max_answer_bytes, deadline, "timeout")
        if frame is None:
            self.kill()
            raise WorkerEnded(self.process.returncode, self._ended_by)
        self.served += 1
        answer: dict[str, Any] = json.loads(frame)
        return answer

    def _read_frame(self, max_bytes: int, deadline: float, late: str) -> bytes | None:
        header = self._read_exact(HEADER.size, deadline, late)
        if header is None:
            return None
        (size,) = HEADER.unpack(header)
        if size > max_bytes:  # larger than any answer within the limits: not a sane worker
            self._end("oversized")
            return None
        return self._read_exact(size, deadline, late)

    def _read_exact(self, size: int, deadline: float, late: str) -> bytes | None:
        """`size` bytes from the worker; None at its end, or at `deadline` (then it is
        ended, for the reason `late`)."""
        assert self.process.stdout is not None
        descriptor = self.process.stdout.fileno()
        poller = select.poll()
        poller.register(descriptor, select.POLLIN | select.POLLHUP | select.POLLERR)
        parts: list[bytes] = []
        while size:
            left_ms = (deadline - time.monotonic()) * 1000
            if left_ms <= 0:
                self._end(late)
                return None
            if not poller.poll(left_ms):
                continue
            try:
                part = os.read(descriptor, min(size, 1 << 20))
            except OSError:
                return None
            if not part:  # the worker ended (or was ended by the pool)
                return None
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def _end(self, reason: str) -> None:
        self._ended_by = reason
        self.kill()

    def kill(self) -> None:
        """End the process. Its pipes stay open for a thread still reading them (it sees
        their end); `close` closes them once nobody does."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        self.process.wait()

    def close(self) -> None:
        self.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class ExtractionPool:
    """Idle workers of one memory limit; a caller takes one, or a new one is started."""

    def __init__(self, memory_mb: int, keep_idle: int = 2) -> None:
        self.memory_mb = memory_mb
        self.keep_idle = keep_idle
        self._idle: list[ExtractionWorker] = []
        self.busy: set[ExtractionWorker] = set()
        self._lock = threading.Lock()

    def _take_idle(self) -> ExtractionWorker | None:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    self.busy.add(worker)
                    return worker
                worker.close()
        return None

    def _start(self) -> ExtractionWorker:
        """A new worker, once it is ready (blocking; run it in a thread)."""
        worker = ExtractionWorker(self.memory_mb)
        with self._lock:
            self.busy.add(worker)
        try:
            worker.wait_ready()
        except WorkerEnded:
            with self._lock:
                self.busy.discard(worker)
            worker.close()
            raise
        return worker

    def _give_back(self, worker: ExtractionWorker) -> None:
        with self._lock:
            self.busy.discard(worker)
            if worker.alive and worker.served < RECYCLE_AFTER and len(self._idle) < self.keep_idle:
                self._idle.append(worker)
                return
        worker.close()

    async def extract(
        self,
        filename: str,
        path: Path,
        *,
        max_bytes: int | None,
        chunking: dict[str, Any],
        limits: IngestLimits,
    ) -> tuple[str, list[Chunk]]:
        """The media type and passages of the file at `path`, read as `filename` names it.

        Raises:
            FileRejected: whatever `extract` and `chunk_sections` refuse, or the worker's
                end: `FileTooComplex` (cpu_seconds, timeout_s, memory_mb), `ExtractionFailed`.
        """
        if limits.memory_mb != self.memory_mb:
            raise ValueError(f"this pool's workers have {self.memory_mb} MiB, not {limits.memory_mb}")
        request = {
            "filename": filename,
            "path": str(path),
            "max_bytes": max_bytes,
            "chunking": chunking,
            "limits": limits.model_dump(),
        }
        # Text and labels are bounded by max_document_bytes; JSON may escape each byte.
        max_answer = 6 * limits.max_document_bytes + MIB
        worker = self._take_idle()
        if worker is None:
            try:
                worker = await asyncio.to_thread(self._start)
            except WorkerEnded as ended:
                raise _why_it_ended(ended, limits) from None
        answer: dict[str, Any] | None = None
        try:
            answer = await asyncio.to_thread(worker.call, request, limits.timeout_s, max_answer)
        except WorkerEnded as ended:
            raise _why_it_ended(ended, limits) from None
        finally:
            if answer is None or answer.get("exit"):
                # Ended, or cancelled (then the thread waiting for it returns at once), or
                # its heap is not to be trusted after a MemoryError.
                worker.kill()
            self._give_back(worker)  # a dead worker is only forgotten
        if not answer.get("ok"):
            raise FileRejected(
                str(answer.get("message") or "the file could not be read"),
                code=str(answer.get("code") or "extraction_failed"),
                **dict(answer.get("params") or {}),
            )
        if len(answer["chunks"]) > limits.max_chunks:  # the worker checks; a sane one never sends more
            raise ExtractionFailed("the extraction worker answered with more passages than allowed")
        chunks = [Chunk(int(o), str(text), page, section) for o, text, page, section in answer["chunks"]]
        return str(answer["media_type"]), chunks

    def close(self) -> None:
        """End every worker, idle or busy (a busy one's file fails as `extraction_failed`)."""
        with self._lock:
            idle, self._idle = self._idle, []
            busy = list(self.busy)
        for worker in idle:
            worker.close()
        for worker in busy:  # their callers see the end, and close them
            worker.kill()


def _why_it_ended(ended: WorkerEnded, limits: IngestLimits) -> FileRejected:
    if ended.reason == "timeout":
        return FileTooComplex("timeout_s", math.ceil(limits.timeout_s))
    if ended.reason == "start":
        return ExtractionFailed(
            f"no extraction worker could be started (exit {ended.returncode}); the runtime log has "
            f"details (is DIRIGENT_KNOWLEDGE_LIMIT_MEMORY_MB = {limits.memory_mb} too small?)",
            reason="start",
        )
    if ended.reason == "oversized":
        return ExtractionFailed(
            "reading the file stopped: its worker process answered with more data than the limits allow",
            reason="oversized",
        )
    if ended.returncode == -signal.SIGXCPU:
        return FileTooComplex("cpu_seconds", limits.cpu_seconds)
    if ended.returncode == -signal.SIGKILL:  # not the parent's: the kernel's OOM killer
        return FileTooComplex("memory_mb", limits.memory_mb)
    if ended.returncode is not None and ended.returncode < 0:
        name = signal.Signals(-ended.returncode).name
        return ExtractionFailed(
            f"reading the file stopped: its worker process ended with {name}; the file may be "
            f"damaged, or need more than the {limits.memory_mb} MiB of memory a worker may use",
            reason=name,
        )
    return ExtractionFailed(
        f"reading the file stopped: its worker process ended with exit code {ended.returncode}",
        reason=f"exit {ended.returncode}",
    )


_pools: dict[int, ExtractionPool] = {}
_pools_lock = threading.Lock()


def shared_pool(memory_mb: int) -> ExtractionPool:
    """This process's pool of workers with `memory_mb` of address space."""
    with _pools_lock:
        if memory_mb not in _pools:
            _pools[memory_mb] = ExtractionPool(memory_mb)
        return _pools[memory_mb]


@atexit.register
def _close_pools() -> None:
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
