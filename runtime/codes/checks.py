"""Failed checks of a test case (runtime/testing/assertions.py): `{"check", "code", "params",
"message"}`.

A value check names what it checked by `output` (a flow output) or by `node` and `field`
(a step's output); every failure of a value check carries all three (unused ones empty),
so that a client can say "output „answer“" or "extract.json" in its own words. The
English `{checked}` is that, said in English. Values (`expected`, `got`) are shown as JSON.
"""

from __future__ import annotations

_TARGET = ("output", "node", "field")

CHECKS: dict[str, str | tuple[str, tuple[str, ...]]] = {
    # The checked value is not there.
    "run_has_no_outputs": ("{checked}: the run has no outputs (it ended {status})", _TARGET),
    "step_not_reached": ("{checked}: '{node}' did not run (the run ended {status} before it)", _TARGET),
    "step_did_not_run": ("{checked}: '{node}' did not run ({status})", _TARGET),
    # The value is there, but not as expected.
    "not_equal": ("{checked}: expected {expected}, got {got}", _TARGET),
    "does_not_contain": ("{checked} does not contain {expected}; it is {got}", _TARGET),
    "does_not_match": ("{checked} does not match /{pattern}/; it is {got}", _TARGET),
    "does_not_fit_schema": ("{checked} does not fit the schema{where}: {detail}; it is {got}", _TARGET),
    # Branches, approvals, connectors, time, status.
    "other_branch": "'{node}' took the branch '{taken}', not '{expected}'",
    "no_branch": "'{node}' took no branch: it did not run ({status})",
    "approval_not_reached": "the run did not reach the approval node '{node}'",
    "connector_called": "connector nodes ran: {nodes}",
    # Agent nodes: their `steps` output.
    "tool_not_called": "agent '{node}' did not call the tool '{tool}'{with_arguments}; it called: {called}",
    "tool_called": "agent '{node}' called the tool '{tool}' {times} time(s)",
    "too_many_steps": "agent '{node}' took {turns} model turns, more than the {max_turns} allowed",
    "agent_did_not_run": "agent '{node}' did not run ({status})",
    "too_slow": "the case took {took_ms} ms, more than the {max_ms} ms allowed",
    # `error` is the run's error as stored (`{"node", "kind", "code", "message", ...}`), or None.
    "other_status": ("the run ended {status}, not {expected}", ("error",)),
    # The run failed although the case does not expect that; `error` as for other_status.
    "run_failed": ("the run failed (if that is what the case tests, expect the status failed)", ("error",)),
}
