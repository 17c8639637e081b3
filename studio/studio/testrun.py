"""Pure: a streamed test run's events as what the editor shows (steps on the canvas, the
result, each step's details). The editor's state keeps what these answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

Steps = dict[str, dict[str, Any]]


def with_tokens(steps: Mapping[str, Mapping[str, Any]], pending: Mapping[str, str]) -> Steps:
    """`steps` with streamed text appended to each node's `text`."""
    result = {node: dict(step) for node, step in steps.items()}
    for node, text in pending.items():
        step = result.setdefault(node, {"status": "running"})
        step["text"] = str(step.get("text", "")) + text
    return result


def with_step(steps: Mapping[str, Mapping[str, Any]], event: Mapping[str, Any]) -> Steps:
    """`steps` after a `step` event: status, duration, tokens, error of its node."""
    node = str(event.get("node") or "")
    step = dict(steps.get(node, {}))
    step["status"] = str(event.get("status") or "")
    if event.get("duration_ms") is not None:
        step["duration_ms"] = event["duration_ms"]
    usage = event.get("usage") or {}
    if usage:
        step["tokens"] = int(usage.get("total_tokens") or 0) or (
            int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)
        )
    error = event.get("error") or {}
    if error:
        step["error"] = str(error.get("message") or error)
    return {**{key: dict(value) for key, value in steps.items()}, node: step}


def outputs_text(outputs: Any) -> str:
    if isinstance(outputs, dict):
        return "\n".join(f"{key}: {value}" for key, value in outputs.items())
    return str(outputs or "")


def _json_text(value: Any) -> str:
    if value in (None, "", {}, []):
        return ""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def step_details(run: Mapping[str, Any]) -> list[dict[str, str]]:
    """Each step of a finished run (`GET /api/runs/{id}`) as text for the step cards."""
    return [
        {
            "node": str(step.get("node_id") or ""),
            "type": str(step.get("node_type") or ""),
            "status": str(step.get("status") or ""),
            "duration": f"{float(step['duration_ms']):.1f} ms" if step.get("duration_ms") is not None else "",
            "tokens": str((step.get("usage") or {}).get("total_tokens") or ""),
            "inputs": _json_text(step.get("inputs")),
            "outputs": _json_text(step.get("outputs")),
            "error": str((step.get("error") or {}).get("message") or "") if step.get("error") else "",
        }
        for step in run.get("steps") or []
    ]
