"""The version diff names the agents' tools a version gains, loses or changes, with their
side-effect class from the tool models (so the studio never works it out itself)."""

from __future__ import annotations

import copy
from typing import Any

from runtime.flows.diff import diff_summary_text, version_diff
from tests.runtime.agent.test_agent_runs import agent_flow, crm_tool

HANDBOOK = {"kind": "knowledge", "name": "handbuch", "description": "Handbuch", "index": "handbuch"}


def tools(diff: Any, verb: str) -> list[tuple[str, str, str, bool | None]]:
    return [(tool.node, tool.name, tool.effect, tool.held) for tool in getattr(diff.tools, verb)]


def test_gained_lost_and_changed_tools_with_their_side_effect_class() -> None:
    live = agent_flow([crm_tool("crm"), HANDBOOK])
    new = agent_flow(
        [crm_tool("crm", method="PUT"), crm_tool("crm", "note_task", "POST", approve="never")],
        risk="minimal",
    )
    diff = version_diff(live, new, 1, 2)
    assert tools(diff, "added") == [("agent", "note_task", "changes", False)]
    assert tools(diff, "removed") == [("agent", "handbuch", "reads", False)]
    [changed] = diff.tools.changed
    assert (changed.name, changed.old.effect, changed.new.effect, changed.old.held, changed.new.held) == (
        "read_task", "reads", "changes", False, True,
    )  # fmt: skip
    assert changed.fields == ["method"]
    assert (changed.old.method, changed.new.method, changed.new.path) == ("GET", "PUT", "/tasks/{id}")
    assert diff.tools.removed[0].index == "handbuch"
    summary = diff_summary_text(diff.model_dump(mode="json", by_alias=True))
    assert "tools added: agent.note_task (changes)" in summary
    assert "tools removed: agent.handbuch (reads)" in summary


def test_no_tool_change_no_tool_rows_and_the_first_version_gains_every_tool() -> None:
    document = agent_flow([crm_tool("crm"), HANDBOOK])
    same = version_diff(document, copy.deepcopy(document), 1, 2)
    assert (same.tools.added, same.tools.removed, same.tools.changed) == ([], [], [])
    first = version_diff(None, document, None, 1)
    assert tools(first, "added") == [
        ("agent", "read_task", "reads", False),
        ("agent", "handbuch", "reads", False),
    ]


def test_a_tool_the_node_types_cannot_read_is_unknown_not_guessed() -> None:
    new = agent_flow([{"kind": "telepathy", "name": "x", "description": "?"}])
    assert tools(version_diff(None, new, None, 1), "added") == [("agent", "x", "unknown", None)]
