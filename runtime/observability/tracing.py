"""OpenTelemetry traces, exported over OTLP/HTTP — off unless an endpoint is configured.

    DIRIGENT_OTLP_ENDPOINT=http://collector:4318        spans go to <that>/v1/traces
    OTEL_EXPORTER_OTLP_ENDPOINT / ..._TRACES_ENDPOINT   the standard variables work as well
    OTEL_SERVICE_NAME                                   default: dirigent

The packages are an optional extra (`pip install 'dirigent[observability]'`); they are
imported only when an endpoint is set, and a missing extra is a clear error at start
(code `observability_extra_missing`), not an ImportError.

Spans, each a child of the one that was current when it began (asyncio tasks inherit
the context, so a run started by a request is a child of the request's span):

    {METHOD} {route}              one per HTTP request (route: the template, not the path)
      dirigent.run                one per execution pass of a run      dirigent.run_id
        dirigent.node             one per node                         + node id and type
          dirigent.llm.chat       one per call to a model endpoint     + endpoint, tokens
          dirigent.connector.call one per connector call               + connection kind

Attributes never carry inputs, outputs or who asked: ids, types, names and counts.
When tracing is off, `active()` is None and callers skip all of this (one check).
"""

from __future__ import annotations

import contextvars
import importlib.util
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from runtime.errors import ExtraMissing, Unavailable
from runtime.extras import needs_extra

if TYPE_CHECKING:
    from runtime.settings import Settings

log = logging.getLogger("dirigent.tracing")
EXTRA_HINT = "pip install 'dirigent[observability]'"
RUN_ID = "dirigent.run_id"

# The run whose pass is executing in this context (set only while tracing), so that an
# LLM call deep in a node can name its run.
current_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("dirigent_run_id", default=None)

_tracer: Any = None  # an opentelemetry Tracer while tracing is on
_provider: Any = None
_endpoint: str | None = None


def active() -> Any:
    """The tracer while tracing is on, else None."""
    return _tracer


def endpoint_of(settings: Settings) -> str | None:
    """Where spans go: `DIRIGENT_OTLP_ENDPOINT`, or the standard OTel variables; None: off."""
    if settings.otlp_endpoint:
        return settings.otlp_endpoint
    for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        if os.environ.get(name):
            return os.environ[name]
    return None


def require_extra(settings: Settings) -> None:
    """Raise `Unavailable` (code `observability_extra_missing`) when traces are configured
    but the extra is not installed — for commands to say so before they start anything."""
    endpoint = endpoint_of(settings)
    if endpoint is None:
        return
    try:
        found = all(
            importlib.util.find_spec(name) is not None
            for name in ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http.trace_exporter")
        )
    except ImportError:  # a parent package is missing
        found = False
    if not found:
        raise _extra_missing(endpoint)


def _extra_missing(endpoint: str) -> Unavailable:
    return Unavailable(
        f"traces are to be sent to {endpoint}, but the OpenTelemetry packages are not installed: "
        f"{EXTRA_HINT}, or unset DIRIGENT_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT",
        code="observability_extra_missing",
        hint=EXTRA_HINT,
    )


def configure(settings: Settings) -> bool:
    """Turn tracing on for this process if an endpoint is configured (once; a second call
    with the same endpoint keeps the first exporter). True when tracing is on.

    Raises `Unavailable` (code `observability_extra_missing`) when an endpoint is set but
    the OpenTelemetry packages are not installed."""
    global _tracer, _provider, _endpoint
    endpoint = endpoint_of(settings)
    if endpoint is None:
        return False
    if _tracer is not None and endpoint == _endpoint:
        return True
    try:
        with needs_extra("observability", "OpenTelemetry traces"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ExtraMissing:
        raise _extra_missing(endpoint) from None
    shutdown()
    # DIRIGENT_OTLP_ENDPOINT is a base URL, like OTEL_EXPORTER_OTLP_ENDPOINT; the exporter
    # reads the standard variables itself (and appends /v1/traces where they say so).
    exporter = (
        OTLPSpanExporter(endpoint=_traces_url(settings.otlp_endpoint))
        if settings.otlp_endpoint
        else OTLPSpanExporter()
    )
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "dirigent"})
    _provider = TracerProvider(resource=resource)
    _provider.add_span_processor(BatchSpanProcessor(exporter))
    _tracer = _provider.get_tracer("dirigent")
    _endpoint = endpoint
    log.info("sending traces to %s", endpoint)
    return True


def _traces_url(base: str) -> str:
    base = base.rstrip("/")
    return base if base.endswith("/v1/traces") else base + "/v1/traces"


def flush(timeout_ms: int = 5000) -> None:
    """Send the spans still buffered (tests; shutdown)."""
    if _provider is not None:
        _provider.force_flush(timeout_ms)


def shutdown() -> None:
    """Send what is buffered and turn tracing off in this process."""
    global _tracer, _provider, _endpoint
    provider, _tracer, _provider, _endpoint = _provider, None, None, None
    if provider is not None:
        provider.shutdown()


@contextmanager
def span(name: str, attributes: dict[str, Any], *, kind: str = "INTERNAL") -> Iterator[Any]:
    """A span (current while the block runs) with the current run's id when there is one,
    or nothing when tracing is off. An exception leaving the block marks the span failed."""
    tracer = _tracer
    if tracer is None:
        yield None
        return
    with needs_extra("observability", "OpenTelemetry traces"):  # on when configure() found it
        from opentelemetry.trace import SpanKind

    run_id = current_run_id.get()
    if run_id is not None and RUN_ID not in attributes:
        attributes = {**attributes, RUN_ID: run_id}
    with tracer.start_as_current_span(name, attributes=attributes, kind=getattr(SpanKind, kind)) as current:
        yield current


def mark_failed(current: Any, description: str) -> None:
    """Mark a span failed without an exception (a node whose failure was recorded on its step)."""
    if current is None:
        return
    with needs_extra("observability", "OpenTelemetry traces"):  # on when configure() found it
        from opentelemetry.trace import Status, StatusCode

    current.set_status(Status(StatusCode.ERROR, description))


def annotate(attributes: dict[str, Any]) -> None:
    """Add attributes to the current span (nothing when tracing is off)."""
    if _tracer is None:
        return
    with needs_extra("observability", "OpenTelemetry traces"):  # on when configure() found it
        from opentelemetry import trace

    trace.get_current_span().set_attributes(attributes)
