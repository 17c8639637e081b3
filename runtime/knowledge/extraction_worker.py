"""The extraction worker: a child process that turns one file at a time into passages.

    python -m runtime.knowledge.extraction_worker MEMORY_MB

Started and fed by `extraction_pool.py`. It limits itself before it reads anything —
its address space to MEMORY_MB (`RLIMIT_AS`), no core files — and, for each file, its CPU
time to what it has used so far plus the file's budget (`RLIMIT_CPU`): the kernel ends it
with SIGXCPU when a file takes longer, wherever the time goes (Python or C), and the
parent reports that file as too complex. A `MemoryError` is answered, then the worker
exits (its heap is not to be trusted after one).

Protocol on stdin/stdout, one request and one answer at a time, each a frame: 4 bytes of
big-endian length, then UTF-8 JSON (never pickle: this process parses untrusted files,
and its answers must not be able to run code in the parent). The first frame is
`{"ready": true}`, once the parsers are imported: a file's time starts after it.

    request  {"filename", "path", "max_bytes", "chunking": {...}, "limits": {...}}
    answer   {"ok": true, "media_type", "chunks": [[ordinal, text, page, section], ...]}
             {"ok": false, "code", "message", "params": {...}}
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import struct
import sys
import traceback
import warnings
from pathlib import Path
from typing import IO, Any

HEADER = struct.Struct(">I")


def read_frame(stream: IO[bytes]) -> bytes | None:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    body = stream.read(size)
    return body if len(body) == size else None


def write_frame(stream: IO[bytes], body: bytes) -> None:
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def limit_cpu(seconds: int) -> None:
    """Allow `seconds` more of CPU time than this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime) + seconds
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _clean(text: str | None) -> str | None:
    # Lone surrogates (from lenient decoding) cannot be stored as UTF-8.
    return None if text is None else text.encode("utf-8", "replace").decode("utf-8")


def handle(request: dict[str, Any]) -> dict[str, Any]:
    from runtime.knowledge.chunking import ChunkingSettings, chunk_sections
    from runtime.knowledge.errors import FileRejected, FileTooComplex, FileTooLarge
    from runtime.knowledge.extract import extract, too_large_message
    from runtime.knowledge.limits import IngestLimits

    # Validated by the parent already; validating a settings class again would read the
    # environment for every file (~3 ms).
    limits = IngestLimits.model_construct(**request["limits"])
    limit_cpu(limits.cpu_seconds)
    try:
        path = Path(request["path"])
        max_bytes = request.get("max_bytes")
        try:
            size = path.stat().st_size
            if max_bytes is not None and size > max_bytes:  # before reading it all in
                raise FileTooLarge(too_large_message(size, max_bytes))
            data = path.read_bytes()
        except OSError:
            raise FileRejected("the uploaded file is gone from the spool; upload it again") from None
        extracted = extract(request["filename"], data, limits=limits)
        del data
        settings = ChunkingSettings.model_validate(request.get("chunking") or {})
        chunks = chunk_sections(extracted.sections, settings, limits)
    except FileRejected as error:
        return _refusal(error)
    except MemoryError:
        return {**_refusal(FileTooComplex("memory_mb", limits.memory_mb)), "exit": True}
    except RecursionError:  # a parser that recurses along the nesting of the file
        return _refusal(FileTooComplex("nesting_depth", limits.max_nesting_depth))
    passages = [[chunk.ordinal, _clean(chunk.text), chunk.page, _clean(chunk.section)] for chunk in chunks]
    return {"ok": True, "media_type": extracted.media_type, "chunks": passages}


def _refusal(error: Any) -> dict[str, Any]:
    return {"ok": False, "code": error.code, "message": error.message, "params": error.extra}


def main() -> None:
    memory = int(sys.argv[1]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Parsers of damaged files warn a lot (pypdf per broken object); the file's outcome
    # is the answer, and the parent's log says which file failed.
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    requests = sys.stdin.buffer
    # The answers get a descriptor of their own; whatever a library prints goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # Import the parsers now, not in the first file's CPU budget.
    import bs4  # noqa: F401
    import docx  # noqa: F401
    import pypdf  # noqa: F401

    import runtime.knowledge.chunking  # noqa: F401

    write_frame(answers, json.dumps({"ready": True}).encode())
    while (frame := read_frame(requests)) is not None:
        try:
            answer = handle(json.loads(frame))
        except Exception as error:  # a parser's bug: this file fails, the worker goes on
            traceback.print_exc(file=sys.stderr)
            answer = {
                "ok": False,
                "code": "extraction_failed",
                "message": f"reading the file failed on an unexpected {type(error).__name__}; "
                "the runtime log has details",
                "params": {"reason": type(error).__name__},
            }
        write_frame(answers, json.dumps(answer).encode())
        if answer.get("exit"):
            break


if __name__ == "__main__":
    main()
