"""What one runtime process counts and times, as Prometheus metrics.

Counters and histograms are per process; Prometheus adds its own `instance` label and
sums them (`sum by (assistant) (rate(dirigent_runs_total[5m]))`). Nothing here is
labelled with anything process-specific. Shared state (what waits in the database) is
not counted here but read at scrape time: `runtime/monitoring/metrics_state.py`.

The hooks are cheap (a dict lookup and one observation each): they sit on the hot path
of every run, node and request. `labels()` of prometheus_client validates and locks on
every call, so the children are kept in a plain dict (`_Children`).

Several uvicorn workers (`dirigent serve --workers N`): the command sets
`PROMETHEUS_MULTIPROC_DIR` to a fresh directory before the processes start; then prometheus_client
keeps the values in files there and `/metrics` of any process reports the sum of all
(see `runtime/monitoring/metrics_controller.py`).

Label values, all bounded: `assistant` and `workspace` are slugs; `node_type` a node
type; `model` the name of a model endpoint (an admin's choice, not a model id the caller
sends); `kind` a connection kind; `route` a route template (`/api/runs/{run_id}`).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram, disable_created_metrics

# No `*_created` series (a timestamp per label set): dashboards do not use them, and they
# double what Prometheus stores for every counter and histogram.
disable_created_metrics()

# Seconds: from a template node (~1 ms) to a long agent run (minutes).
RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
NODE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
LLM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

RUNS = Counter(
    "dirigent_runs",
    "Runs that ended or began to wait, by assistant, workspace, status and whether a test run",
    ["assistant", "workspace", "status", "test"],
)
RUN_DURATION = Histogram(
    "dirigent_run_duration_seconds",
    "Time of one execution pass of a run (a run that waited for a person: each pass, without the wait)",
    ["assistant", "status"],
    buckets=RUN_BUCKETS,
)
NODE_DURATION = Histogram(
    "dirigent_node_duration_seconds",
    "Time a node took, by node type and step status",
    ["node_type", "status"],
    buckets=NODE_BUCKETS,
)
LLM_TOKENS = Counter(
    "dirigent_llm_tokens",
    "Tokens the model endpoints reported, by endpoint name and kind (prompt, completion)",
    ["model", "kind"],
)
LLM_DURATION = Histogram(
    "dirigent_llm_request_duration_seconds",
    "Time of a chat call to a model endpoint, by endpoint name and outcome (ok, error)",
    ["model", "outcome"],
    buckets=LLM_BUCKETS,
)
LLM_FIRST_TOKEN = Histogram(
    "dirigent_llm_time_to_first_token_seconds",
    "Time from a streamed chat call to its first text piece, by endpoint name",
    ["model"],
    buckets=LLM_BUCKETS,
)
CONNECTOR_CALLS = Counter(
    "dirigent_connector_calls",
    "Connector calls by connection kind and outcome (ok, failed, asked: a person says whether it arrived)",
    ["kind", "outcome"],
)
CONNECTOR_ERRORS = Counter(
    "dirigent_connector_errors",
    "Failed connector calls by connection kind and error class",
    ["kind", "error"],
)
CONNECTOR_DURATION = Histogram(
    "dirigent_connector_call_duration_seconds",
    "Time of a connector call, by connection kind",
    ["kind"],
    buckets=LLM_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "dirigent_http_requests",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "dirigent_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template",
    ["method", "route"],
    buckets=HTTP_BUCKETS,
)


class _Children:
    """The labelled children of one metric, by label values, without `labels()`'s checks."""

    __slots__ = ("children", "metric")

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = self.metric.labels(*values)
        return child


_runs = _Children(RUNS)
_run_duration = _Children(RUN_DURATION)
_node_duration = _Children(NODE_DURATION)
_llm_tokens = _Children(LLM_TOKENS)
_llm_duration = _Children(LLM_DURATION)
_llm_first_token = _Children(LLM_FIRST_TOKEN)
_connector_calls = _Children(CONNECTOR_CALLS)
_connector_errors = _Children(CONNECTOR_ERRORS)
_connector_duration = _Children(CONNECTOR_DURATION)
_http_requests = _Children(HTTP_REQUESTS)
_http_duration = _Children(HTTP_DURATION)


def run_ended(assistant: str, workspace: str, status: str, is_test: bool, seconds: float) -> None:
    """A run's execution pass ended (`status`: succeeded, failed, waiting, cancelled, expired)."""
    _runs(assistant, workspace, status, "true" if is_test else "false").inc()
    _run_duration(assistant, status).observe(seconds)


def node_finished(node_type: str, status: str, seconds: float) -> None:
    _node_duration(node_type, status).observe(seconds)


def llm_called(model: str, ok: bool, seconds: float, usage: dict[str, int] | None) -> None:
    _llm_duration(model, "ok" if ok else "error").observe(seconds)
    if usage:
        if prompt := usage.get("prompt_tokens"):
            _llm_tokens(model, "prompt").inc(prompt)
        if completion := usage.get("completion_tokens"):
            _llm_tokens(model, "completion").inc(completion)


def llm_first_token(model: str, seconds: float) -> None:
    _llm_first_token(model).observe(seconds)


def connector_called(kind: str, outcome: str, seconds: float, error: str | None = None) -> None:
    _connector_calls(kind, outcome).inc()
    _connector_duration(kind).observe(seconds)
    if error is not None:
        _connector_errors(kind, error).inc()


def http_answered(method: str, route: str, status: int, seconds: float) -> None:
    _http_requests(method, route, str(status)).inc()
    _http_duration(method, route).observe(seconds)
