"""`PROMETHEUS_MULTIPROC_DIR`: what several processes counted, one /metrics answer reports
(`dirigent serve --workers N`). Real processes, each importing the runtime's metrics."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.runtime.observability.scrape import samples, value

ROOT = Path(__file__).resolve().parents[3]
COUNT_ONE_RUN = (
    "from runtime.observability import metrics; metrics.run_ended('gruss', 'sales', 'succeeded', False, 0.01)"
)
COUNT_AND_EXPOSE = (
    COUNT_ONE_RUN + "; from runtime.monitoring.metrics_controller import process_exposition; "
    "import sys; sys.stdout.write(process_exposition().decode())"
)


def _python(code: str, directory: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_process_counts_into_one_answer(tmp_path: Path) -> None:
    _python(COUNT_ONE_RUN, tmp_path)
    exposition = samples(_python(COUNT_AND_EXPOSE, tmp_path))
    labels = {"assistant": "gruss", "workspace": "sales", "status": "succeeded", "test": "false"}
    assert value(exposition, "dirigent_runs_total", **labels) == 2
    histogram = {"assistant": "gruss", "status": "succeeded"}
    assert value(exposition, "dirigent_run_duration_seconds_count", **histogram) == 2
