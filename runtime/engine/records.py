"""What the engine produces: step records and run outcomes, plus the recorder interface.

The engine knows nothing about databases; it hands finished steps to a `Recorder`
(`runtime.runs.recorder.SqlRecorder` in the runtime, nothing in the benchmark's
in-memory case).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from nodes.base import Suspend

StepStatus = Literal["succeeded", "failed", "skipped", "waiting", "cancelled", "expired"]
RunStatus = Literal["succeeded", "failed", "waiting", "cancelled", "expired"]
TERMINAL_RUN_STATES = frozenset({"succeeded", "failed", "cancelled", "expired"})


@dataclass
class StepRecord:
    node_id: str
    node_type: str
    status: StepStatus
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    usage: dict[str, int] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    suspension: Suspend | None = None
    # Set by the engine for steps that must not be lost (and repeated) in a crash: effects
    # outside Dirigent, a suspension, a costly node (an LLM call), a step over a second.
    # The recorder writes such a step at once.
    durable: bool = False

    @property
    def branch(self) -> str | None:
        return (self.outputs or {}).get("branch") if self.outputs else None

    def as_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "node_type": self.node_type,
            "status": self.status,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "error": self.error,
            "usage": self.usage,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_ms": self.duration_ms,
        }


@dataclass
class RunOutcome:
    status: RunStatus
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    total_tokens: int = 0

    @property
    def suspensions(self) -> list[StepRecord]:
        return [step for step in self.steps.values() if step.status == "waiting"]


class Recorder(Protocol):
    """Persists what the engine did. Called between generations, and from concurrent
    nodes of one generation for their durable steps as they finish (so it may be called
    concurrently with itself)."""

    async def record_steps(self, steps: list[StepRecord]) -> None:
        """Steps that finished (or were skipped); may buffer all but `durable` ones."""
        ...

    async def cancel_requested(self) -> bool:
        """True when someone asked to cancel the run (checked between generations)."""
        ...
