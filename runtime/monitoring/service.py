"""What `GET /api/monitoring` reports, and how it is counted.

Everything belongs to the runs *created* in the range (test-panel runs excluded), and is
counted on the UTC day its run was created: the run's status, its tokens, its latency,
the feedback on it, the approval tasks it raised, the connector calls it made. So the
numbers of one day always describe the same runs.

* **status** as it is now (`running` includes `queued`; `waiting` waits for a person).
* **latency**: from the request to the answer (`finished_at - created_at`) of runs that
  succeeded or failed without waiting for a person (their wait is in
  `approvals.median_wait_s`, and would drown the machine's time); p50 and p95 by linear
  interpolation (as PostgreSQL's `percentile_cont`).
* **feedback**: `rate` is feedback per ended run, `up_share` the share of thumbs up.
* **approvals**: tasks by status; `median_wait_s` from raising to the decision of the
  approved and rejected ones; `approval_rate` = approved / (approved + rejected).
* **automated actions**: `connector` steps that ran (succeeded or failed).
* **roles**: a run counts for every role its starter holds in the workspace now (so
  roles may overlap); without one, their global roles (`admin`, `board`), else
  `external` (a member of an audience workspace); runs without a person (webhooks,
  schedules) count as `system`.

Counting is SQL (`GROUP BY`, the same statements on SQLite and PostgreSQL; only the UTC
day and the milliseconds between two timestamps are spelled per dialect, in `utc_day` and
`milliseconds_between`). Percentiles and medians are computed in Python over those
durations: one number per finished run or decided task, bounded by the range (at most
366 days) — see bench/monitoring.py for the cost.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from math import ceil, floor
from typing import Any

from sqlalchemy import ColumnElement, Float, String, and_, case, exists, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from runtime.db.models import ApprovalTask, Flow, FlowVersion, Membership, Run, RunStep, User
from runtime.feedback.models import RunFeedback
from runtime.monitoring.period import Period

RUN_STATES = ("succeeded", "failed", "waiting", "cancelled", "expired", "running")
ENDED = ("succeeded", "failed", "cancelled", "expired")
TASK_STATES = ("approved", "rejected", "expired", "open", "cancelled")
SYSTEM, EXTERNAL = "system", "external"


# -- the UTC day of a timestamp, per dialect ----------------------------------------------
class utc_day(FunctionElement[str]):
    """`YYYY-MM-DD` of a `UTCDateTime` column, in UTC."""

    type = String()
    inherit_cache = True


class milliseconds_between(FunctionElement[float]):
    """`end - start` in milliseconds (float), for two `UTCDateTime` columns."""

    type = Float()
    inherit_cache = True


@compiles(milliseconds_between, "sqlite")
def _ms_sqlite(element: milliseconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400000.0)"


@compiles(milliseconds_between, "postgresql")
def _ms_postgresql(element: milliseconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end}) - ({start})) * 1000)"


@compiles(milliseconds_between)
def _ms_default(element: milliseconds_between, compiler: Any, **kw: Any) -> str:
    return f"milliseconds_between({compiler.process(element.clauses, **kw)})"


@compiles(utc_day)
def _utc_day_default(element: utc_day, compiler: Any, **kw: Any) -> str:
    # For str(statement) while debugging; Dirigent runs on SQLite and PostgreSQL only.
    return f"utc_day({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: Any, **kw: Any) -> str:
    # SQLite stores UTC without a zone (see UTCDateTime): the first ten characters.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


# -- tallies ------------------------------------------------------------------------------
# The counters of a chart point, named as in the JSON answer.
COUNTERS = (
    *RUN_STATES,
    "tokens",
    "feedback_up",
    "feedback_down",
    "corrections",
    "tasks_raised",
    *(f"tasks_{state}" for state in TASK_STATES),
    "connector_calls",
    "connector_failed",
)
_ZERO = dict.fromkeys(COUNTERS, 0)
TASK_COUNTERS = tuple(f"tasks_{state}" for state in TASK_STATES)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """`SUM(CASE WHEN condition THEN 1 ELSE 0 END)`: a count per status in one row."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass
class Tally:
    """Counters (`COUNTERS`) and raw durations of one group on one day, or over the range."""

    counts: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    waits_s: list[float] = field(default_factory=list)

    def count(self, counts: dict[str, int]) -> None:
        # A plain dict, not a Counter: Counter.update is several times slower here.
        mine = self.counts
        for key, amount in counts.items():
            mine[key] = mine.get(key, 0) + amount

    def merge(self, other: Tally) -> None:
        self.count(other.counts)
        self.latencies_ms.extend(other.latencies_ms)
        self.waits_s.extend(other.waits_s)


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks, as `percentile_cont(q)`."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = ordered[floor(position)], ordered[ceil(position)]
    return round(low + (high - low) * (position - floor(position)), 1)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def daily_json(day: str, tally: Tally | None) -> dict[str, Any]:
    """One point of a chart: flat keys, so recharts can use them as `dataKey`s."""
    point: dict[str, Any] = {"day": day, **_ZERO}
    if tally is None:
        point.update(runs=0, p50_ms=None, p95_ms=None, median_wait_s=None)
        return point
    point.update(tally.counts)
    point["runs"] = sum(point[state] for state in RUN_STATES)
    point["p50_ms"] = percentile(tally.latencies_ms, 0.5)
    point["p95_ms"] = percentile(tally.latencies_ms, 0.95)
    point["median_wait_s"] = percentile(tally.waits_s, 0.5)
    return point


def summary_json(tally: Tally) -> dict[str, Any]:
    c = {**_ZERO, **tally.counts}
    runs = {state: c[state] for state in RUN_STATES}
    ended = sum(runs[state] for state in ENDED)
    feedback = c["feedback_up"] + c["feedback_down"]
    tasks = {state: c[f"tasks_{state}"] for state in TASK_STATES}
    return {
        "runs": {"total": sum(runs.values()), **runs},
        "success_rate": _ratio(runs["succeeded"], runs["succeeded"] + runs["failed"]),
        "latency_ms": {
            "p50": percentile(tally.latencies_ms, 0.5),
            "p95": percentile(tally.latencies_ms, 0.95),
            "count": len(tally.latencies_ms),
        },
        "tokens": c["tokens"],
        "feedback": {
            "count": feedback,
            "up": c["feedback_up"],
            "down": c["feedback_down"],
            "corrections": c["corrections"],
            "rate": _ratio(feedback, ended),
            "up_share": _ratio(c["feedback_up"], feedback),
        },
        "approvals": {
            "raised": c["tasks_raised"],
            **tasks,
            "approval_rate": _ratio(tasks["approved"], tasks["approved"] + tasks["rejected"]),
            "median_wait_s": percentile(tally.waits_s, 0.5),
        },
        "automated_actions": {"connector_calls": c["connector_calls"], "failed": c["connector_failed"]},
    }


Group = tuple[str, str]  # ("all", ""), ("flow", flow id) or ("role", role)


class Board:
    """Tallies per group and day; a row counts for all, for its flow, and for each role."""

    def __init__(self, roles_of: dict[str | None, tuple[str, ...]]) -> None:
        self.roles_of = roles_of
        self.tallies: dict[Group, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
        self._groups: dict[tuple[str, str | None], tuple[Group, ...]] = {}

    def targets(self, flow_id: str, started_by: str | None, day: str) -> list[Tally]:
        groups = self._groups.get((flow_id, started_by))
        if groups is None:
            roles = self.roles_of.get(started_by, (EXTERNAL,))
            groups = (("all", ""), ("flow", flow_id), *(("role", role) for role in roles))
            self._groups[(flow_id, started_by)] = groups
        return [self.tallies[group][day] for group in groups]

    def add(self, flow_id: str, started_by: str | None, day: str, counts: dict[str, int]) -> None:
        for tally in self.targets(flow_id, started_by, day):
            tally.count(counts)

    def group(self, kind: str, key: str, days: list[str]) -> dict[str, Any]:
        per_day = self.tallies.get((kind, key), {})
        total = Tally()
        for tally in per_day.values():
            total.merge(tally)
        return {"summary": summary_json(total), "daily": [daily_json(day, per_day.get(day)) for day in days]}

    def keys(self, kind: str) -> list[str]:
        return [key for (group_kind, key) in self.tallies if group_kind == kind]


# -- the queries ----------------------------------------------------------------------------
def _run_filter(workspace_id: str, period: Period, flow_id: str | None) -> ColumnElement[bool]:
    condition = and_(
        Run.workspace_id == workspace_id,
        Run.created_at >= period.since,
        Run.created_at < period.until,
        Run.is_test.is_(False),
    )
    return and_(condition, Run.flow_id == flow_id) if flow_id else condition


async def _roles_of(
    session: AsyncSession, workspace_id: str, starters: set[str | None]
) -> dict[str | None, tuple[str, ...]]:
    people = [starter for starter in starters if starter is not None]
    held: dict[str | None, set[str]] = defaultdict(set)
    global_roles: dict[str | None, list[Any]] = {}
    for chunk in (people[i : i + 500] for i in range(0, len(people), 500)):
        rows = await session.execute(
            select(Membership.user_id, Membership.role).where(
                Membership.workspace_id == workspace_id, Membership.user_id.in_(chunk)
            )
        )
        for user_id, role in rows:
            held[user_id].add(role)
        for user_id, roles in await session.execute(
            select(User.id, User.global_roles).where(User.id.in_(chunk))
        ):
            global_roles[user_id] = roles or []
    result: dict[str | None, tuple[str, ...]] = {None: (SYSTEM,)}
    for person in people:
        roles = held.get(person) or {
            role for role in global_roles.get(person, []) if role in ("admin", "board")
        }
        result[person] = tuple(sorted(roles)) or (EXTERNAL,)
    return result


async def monitoring(
    session: AsyncSession, workspace_id: str, period: Period, flow_id: str | None = None
) -> dict[str, Any]:
    """The report for one workspace (and optionally one flow); see the module docstring."""
    runs = _run_filter(workspace_id, period, flow_id)
    day = utc_day(Run.created_at)
    keys = (Run.flow_id, Run.started_by, day)
    # One row per assistant, person and day, the statuses side by side (fewer rows to fold).
    run_rows = (
        await session.execute(
            select(
                *keys,
                *(_count_if(Run.status == state) for state in RUN_STATES if state != "running"),
                _count_if(Run.status.in_(("queued", "running"))),
                func.coalesce(func.sum(Run.total_tokens), 0),
            )
            .where(runs)
            .group_by(*keys)
        )
    ).all()
    board = Board(await _roles_of(session, workspace_id, {row[1] for row in run_rows}))
    for flow, starter, run_day, *counts, tokens in run_rows:
        board.add(flow, starter, run_day, dict(zip(RUN_STATES, counts, strict=True), tokens=int(tokens)))

    waited = exists().where(ApprovalTask.run_id == Run.id)
    for flow, starter, run_day, latency in await session.execute(
        select(*keys, milliseconds_between(Run.created_at, Run.finished_at)).where(
            runs, Run.status.in_(("succeeded", "failed")), Run.finished_at.is_not(None), ~waited
        )
    ):
        for tally in board.targets(flow, starter, run_day):
            tally.latencies_ms.append(max(float(latency), 0.0))

    for flow, starter, run_day, up, down, corrections in await session.execute(
        select(
            *keys,
            _count_if(RunFeedback.rating == "up"),
            _count_if(RunFeedback.rating == "down"),
            func.count(RunFeedback.correction),
        )
        .join(RunFeedback, RunFeedback.run_id == Run.id)
        .where(runs)
        .group_by(*keys)
    ):
        board.add(
            flow, starter, run_day, {"feedback_up": up, "feedback_down": down, "corrections": corrections}
        )

    for flow, starter, run_day, raised, *counts in await session.execute(
        select(*keys, func.count(), *(_count_if(ApprovalTask.status == state) for state in TASK_STATES))
        .join(ApprovalTask, ApprovalTask.run_id == Run.id)
        .where(runs)
        .group_by(*keys)
    ):
        board.add(flow, starter, run_day, dict(zip(TASK_COUNTERS, counts, strict=True), tasks_raised=raised))
    for flow, starter, run_day, wait_ms in await session.execute(
        select(*keys, milliseconds_between(ApprovalTask.created_at, ApprovalTask.resolved_at))
        .join(ApprovalTask, ApprovalTask.run_id == Run.id)
        .where(runs, ApprovalTask.status.in_(("approved", "rejected")), ApprovalTask.resolved_at.is_not(None))
    ):
        for tally in board.targets(flow, starter, run_day):
            tally.waits_s.append(max(float(wait_ms), 0.0) / 1000)

    for flow, starter, run_day, calls, failed in await session.execute(
        select(*keys, func.count(), _count_if(RunStep.status == "failed"))
        .join(RunStep, RunStep.run_id == Run.id)
        # A literal, not a parameter: so the planner may use the partial index on connector steps.
        .where(
            runs,
            RunStep.node_type == literal_column("'connector'"),
            RunStep.status.in_(("succeeded", "failed")),
        )
        .group_by(*keys)
    ):
        board.add(flow, starter, run_day, {"connector_calls": calls, "connector_failed": failed})

    days = [value.isoformat() for value in period.days]
    flows = await _flows(session, workspace_id, flow_id, set(board.keys("flow")))
    report_roles = [{"role": role, **board.group("role", role, days)} for role in sorted(board.keys("role"))]
    report_roles.sort(key=lambda group: -group["summary"]["runs"]["total"])
    return {
        "since": period.since.isoformat(),
        "until": period.until.isoformat(),
        "days": days,
        **board.group("all", "", days),
        "assistants": [{**flow, **board.group("flow", flow["flow_id"], days)} for flow in flows],
        "roles": report_roles,
    }


async def _flows(
    session: AsyncSession, workspace_id: str, flow_id: str | None, with_runs: set[str]
) -> list[dict[str, Any]]:
    """The assistants to show: those with runs in the range, and the live ones (maybe idle)."""
    query = (
        select(Flow.id, Flow.slug, Flow.name, FlowVersion.number)
        .outerjoin(FlowVersion, FlowVersion.id == Flow.live_version_id)
        .where(Flow.workspace_id == workspace_id)
        .order_by(Flow.name, Flow.slug)
    )
    if flow_id:
        query = query.where(Flow.id == flow_id)
    elif with_runs:
        query = query.where(or_(Flow.live_version_id.is_not(None), Flow.id.in_(with_runs)))
    else:
        query = query.where(Flow.live_version_id.is_not(None))
    return [
        {"flow_id": id_, "slug": slug, "name": name, "live_version": live}
        for id_, slug, name, live in await session.execute(query)
    ]
