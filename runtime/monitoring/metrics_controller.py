"""`GET /metrics` (Prometheus text format) and the middleware that times HTTP requests.

Who may read /metrics:

* `DIRIGENT_METRICS_TOKEN` set: requests with `Authorization: Bearer <token>` (any
  client address). Without the header: 401 `metrics_token_required`; a wrong token:
  403 `metrics_token_invalid`.
* not set: loopback clients only (127.0.0.1, ::1: a Prometheus or an agent on the same
  host); others get 403 `metrics_loopback_only`. Behind a reverse proxy on the same host
  every client looks like loopback: set the token there (README "Metrics and traces").

Refusals are not written to the audit trail, unlike policy denials: a misconfigured
scraper would add one entry every few seconds.

The answer is this process's counters and histograms (all processes' when
`PROMETHEUS_MULTIPROC_DIR` is set: prometheus_client's multiprocess mode) followed by the
shared-state gauges read from the database (`runtime/monitoring/metrics_state.py`).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from typing import Any

from litestar import Request, Response, get
from litestar.config.app import AppConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from runtime.errors import DirigentError, Unauthorized
from runtime.monitoring.metrics_state import SharedState
from runtime.observability import metrics, tracing
from runtime.settings import Settings

# The classic text format every Prometheus reads (Litestar adds `; charset=utf-8`); the
# names here need none of the newer format's escaping.
CONTENT_TYPE = "text/plain; version=0.0.4"
# Methods outside this set are counted as OTHER (a client may send any word as method).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsForbidden(DirigentError):
    """403 for /metrics: not a policy decision, and not audited (see the module docstring)."""

    status_code = 403
    code = "metrics_forbidden"


def check_access(settings: Settings, request: Request[Any, Any, Any]) -> None:
    token = settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise Unauthorized(
                "/metrics needs `Authorization: Bearer <DIRIGENT_METRICS_TOKEN>`",
                code="metrics_token_required",
            )
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise MetricsForbidden(
                "the metrics token is not the configured one", code="metrics_token_invalid"
            )
        return
    host = request.client.host if request.client else ""
    if not _is_loopback(host):
        raise MetricsForbidden(
            "/metrics answers loopback clients only while DIRIGENT_METRICS_TOKEN is not set",
            code="metrics_loopback_only",
        )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def process_exposition() -> bytes:
    """This process's metrics, or every process's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@get("/metrics", exclude_from_auth=True, include_in_schema=False)
async def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus metrics (text format 0.0.4); see the module docstring for who may read them."""
    state: SharedState = request.app.state.metrics_state
    check_access(request.app.state.composition.settings, request)
    body = process_exposition() + await state.exposition()
    return Response(body, media_type=CONTENT_TYPE)


def measure_requests(app_config: AppConfig) -> AppConfig:
    """`on_app_init` hook, after the authentication's: `http_metrics` as the outermost
    middleware (the first in the list), so that requests the authentication refuses
    (401) are counted and traced too."""
    app_config.middleware.insert(0, http_metrics)
    return app_config


def http_metrics(app: ASGIApp) -> ASGIApp:
    """Counts and times every routed HTTP request by method, route template and status
    (and gives it a span when tracing). Requests that match no route are not counted:
    their paths are whatever a client makes up."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 0

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        method = scope["method"] if scope["method"] in METHODS else "OTHER"  # type: ignore[typeddict-item]
        route = scope.get("path_template") or "unmatched"
        try:
            if tracing.active() is None:
                await app(scope, receive, send_and_note)
            else:
                await _traced(app, scope, receive, send_and_note, method, route, lambda: status)
        except BaseException as error:
            # Answered by the exception handlers outside this middleware (e.g. a 401 of the
            # authentication middleware): their status, or 500.
            status = status or getattr(error, "status_code", 500)
            raise
        finally:
            metrics.http_answered(method, route, status or 500, time.perf_counter() - began)

    return middleware


async def _traced(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, method: str, route: str, status: Any
) -> None:
    attributes = {"http.request.method": method, "http.route": route}
    with tracing.span(f"{method} {route}", attributes, kind="SERVER") as span:
        try:
            await app(scope, receive, send)
            code = status() or 500
        except BaseException as error:
            code = status() or getattr(error, "status_code", 500)
            raise
        finally:
            span.set_attribute("http.response.status_code", code)
            if code >= 500:
                tracing.mark_failed(span, f"HTTP {code}")
