"""Gauges of shared state, read from the database when Prometheus scrapes.

Approvals waiting, runs in progress and the ingestion queue live in the database that
all runtime processes and workers share; a process-local gauge would tell each process's
own part of the story. So `/metrics` asks the database (three grouped queries over
indexed status columns, bounded by the number of workspaces) and every process reports
the same numbers — in PromQL use `max` across instances, not `sum`.

Scrapes within `ttl_s` of each other share one reading (several Prometheus servers, or
a dashboard that asks often, do not multiply the queries). A database that does not
answer, or not within `timeout_s`, gives `dirigent_state_up 0` and none of the other
gauges, never an error page.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from runtime.db.database import Database
from runtime.db.models import ApprovalTask, Run, Workspace, utcnow
from runtime.knowledge.jobs import ACTIVE as ACTIVE_JOBS
from runtime.knowledge.models import IngestionJob

log = logging.getLogger("dirigent.metrics")
IN_PROGRESS = ("queued", "running", "waiting")


@dataclass
class StateReading:
    """One reading of the shared state; `up` False when the database did not answer."""

    up: bool = True
    # workspace slug -> (open approval tasks, age of the oldest in seconds)
    approvals: dict[str, tuple[int, float]] = field(default_factory=dict)
    # (workspace slug, status) -> runs
    runs: dict[tuple[str, str], int] = field(default_factory=dict)
    # job status -> (jobs, files still to index)
    ingestion: dict[str, tuple[int, int]] = field(default_factory=dict)


async def read_state(db: Database) -> StateReading:
    now = utcnow()
    reading = StateReading()
    async with db.read() as session:
        approvals = await session.execute(
            select(Workspace.slug, func.count(), func.min(ApprovalTask.created_at))
            .join(Workspace, Workspace.id == ApprovalTask.workspace_id)
            .where(ApprovalTask.status == "open")
            .group_by(Workspace.slug)
        )
        for slug, count, oldest in approvals:
            age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
            reading.approvals[slug] = (int(count), age)
        runs = await session.execute(
            select(Workspace.slug, Run.status, func.count())
            .join(Workspace, Workspace.id == Run.workspace_id)
            .where(Run.status.in_(IN_PROGRESS))
            .group_by(Workspace.slug, Run.status)
        )
        reading.runs = {(slug, status): int(count) for slug, status, count in runs}
        jobs = await session.execute(
            select(
                IngestionJob.status,
                func.count(),
                func.coalesce(func.sum(IngestionJob.files_total - IngestionJob.files_done), 0),
            )
            .where(IngestionJob.status.in_(ACTIVE_JOBS))
            .group_by(IngestionJob.status)
        )
        reading.ingestion = {status: (int(count), int(files)) for status, count, files in jobs}
    return reading


class _ReadingCollector(Collector):
    def __init__(self, reading: StateReading) -> None:
        self.reading = reading

    def collect(self) -> Iterator[GaugeMetricFamily]:
        reading = self.reading
        yield GaugeMetricFamily(
            "dirigent_state_up",
            "1 when the shared state below could be read from the database",
            1.0 if reading.up else 0.0,
        )
        if not reading.up:
            return
        waiting = GaugeMetricFamily(
            "dirigent_approvals_waiting", "Open approval tasks, by workspace", labels=["workspace"]
        )
        oldest = GaugeMetricFamily(
            "dirigent_approvals_oldest_age_seconds",
            "Age of the oldest open approval task, by workspace",
            labels=["workspace"],
        )
        for slug, (count, age) in sorted(reading.approvals.items()):
            waiting.add_metric([slug], count)
            oldest.add_metric([slug], age)
        runs = GaugeMetricFamily(
            "dirigent_runs_in_progress",
            "Runs queued, running or waiting for a person, by workspace and status",
            labels=["workspace", "status"],
        )
        for (slug, status), count in sorted(reading.runs.items()):
            runs.add_metric([slug, status], count)
        jobs = GaugeMetricFamily(
            "dirigent_ingestion_jobs", "Ingestion jobs queued or running", labels=["status"]
        )
        files = GaugeMetricFamily(
            "dirigent_ingestion_files_pending", "Files of queued or running ingestion jobs not indexed yet"
        )
        pending = 0
        for status in ACTIVE_JOBS:
            count, left = reading.ingestion.get(status, (0, 0))
            jobs.add_metric([status], count)
            pending += left
        files.add_metric([], pending)
        yield from (waiting, oldest, runs, jobs, files)


class SharedState:
    """The exposition of the shared-state gauges, read at most once per `ttl_s`."""

    def __init__(self, db: Database, ttl_s: float = 5.0, timeout_s: float = 5.0) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self._text = b""
        self._read_at = -float("inf")
        self._lock = asyncio.Lock()

    async def exposition(self) -> bytes:
        async with self._lock:  # concurrent scrapes wait for one reading
            if time.monotonic() - self._read_at >= self.ttl_s:
                try:
                    async with asyncio.timeout(self.timeout_s):  # within Prometheus' scrape timeout
                        reading = await read_state(self.db)
                except (SQLAlchemyError, OSError, TimeoutError) as error:
                    log.warning("metrics: could not read the shared state (%s)", type(error).__name__)
                    reading = StateReading(up=False)
                registry = CollectorRegistry(auto_describe=False)
                registry.register(_ReadingCollector(reading))
                self._text = generate_latest(registry)
                self._read_at = time.monotonic()
            return self._text
