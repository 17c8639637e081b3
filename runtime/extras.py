"""Optional parts of Dirigent: what each extra of pyproject.toml brings, and the one way
code says that one is missing.

    pip install dirigent                the runtime: API, engine, policy, connections, CLI
    pip install 'dirigent[knowledge]'   the embedded index (sentence-transformers, faiss),
                                        PDF/DOCX/HTML parsers, the Marqo client
    pip install 'dirigent[studio]'      the Reflex web studio (studio/launch.py checks it)
    pip install 'dirigent[observability]'  OpenTelemetry traces (runtime/observability/tracing.py)
    pip install 'dirigent[mcp]'         the MCP SDK: agents call tools of MCP servers (runtime/mcp/)
    pip install 'dirigent[bench]'       Haystack, only for bench/
    pip install 'dirigent[test]'        the test suite's tools

Everything under runtime/ and nodes/ imports with the core alone (tests/test_install.py
builds such a virtualenv). A module of an extra is imported where it is used, inside
`needs_extra`, so a missing one is a clear 503 `extra_missing` for that request or file —
never an ImportError when the runtime starts:

    with needs_extra("knowledge", "reading PDF files"):
        from pypdf import PdfReader
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from runtime.errors import ExtraMissing


@contextmanager
def needs_extra(extra: str, feature: str) -> Iterator[None]:
    """Turn a missing module inside the block into `ExtraMissing(extra=..., feature=...)`.

    `feature` is what the caller wanted, for the message ("the embedded index",
    "reading PDF files"). Only a module that is absent counts: any other failure while
    importing (a broken installation) keeps its own error.
    """
    try:
        yield
    except ModuleNotFoundError as error:
        module = (error.name or "?").split(".", 1)[0]
        raise ExtraMissing(extra=extra, feature=feature, module=module) from error
