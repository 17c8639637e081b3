"""Which tools of agent nodes a version gains, loses or changes, with their side-effect class.

Part of the version diff (`runtime.flows.diff`): the board approves exactly the tools an
agent may call, so it sees them by themselves, matched by (node id, tool name), each with
what it reaches (a connection's method and path, an index) and whether it changes
something outside Dirigent (`effect`: "changes" | "reads"; "unknown" for a tool the node
types cannot read) and whether its calls wait for a person (`held`). Both come from the
tool models of `nodes.agent_tools`, so the rules are written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from nodes.agent_tools import Tool

Effect = Literal["changes", "reads", "unknown"]
_TOOL: TypeAdapter[Any] = TypeAdapter(Tool)
# What a tool reaches, by kind: shown to the board next to its name.
_REACHES = ("connection", "method", "path", "index")


class ToolSnapshot(BaseModel):
    """One tool of an agent node as a version declares it."""

    node: str = Field(description="The agent node's id")
    name: str
    kind: str
    description: str = ""
    effect: Effect = Field(description="changes: it changes something outside Dirigent; reads: only reads")
    held: bool | None = Field(description="Whether its calls wait for a person (None: unknown)")
    connection: str | None = None
    method: str | None = None
    path: str | None = None
    index: str | None = None


class ToolChange(BaseModel):
    """A tool in both versions whose declaration changed: as the live version declares it
    (`old`) and as the new one does (`new`)."""

    node: str
    name: str
    old: ToolSnapshot
    new: ToolSnapshot
    fields: list[str] = Field(description="The tool's changed fields (`method`, `parameters.required`, ...)")


class ToolsDiff(BaseModel):
    added: list[ToolSnapshot] = Field(default_factory=list)
    removed: list[ToolSnapshot] = Field(default_factory=list)
    changed: list[ToolChange] = Field(default_factory=list)


def _effect(tool: Mapping[str, Any]) -> tuple[Effect, bool | None]:
    try:
        parsed = _TOOL.validate_python(dict(tool))
    except ValidationError:
        return "unknown", None
    return ("changes" if parsed.side_effects else "reads"), bool(parsed.needs_approval())


def _snapshot(node: str, tool: Mapping[str, Any]) -> dict[str, Any]:
    effect, held = _effect(tool)
    reaches = {key: str(tool[key]) for key in _REACHES if tool.get(key) is not None}
    return {
        "node": node,
        "name": str(tool.get("name") or ""),
        "kind": str(tool.get("kind") or ""),
        "description": str(tool.get("description") or ""),
        "effect": effect,
        "held": held,
        **reaches,
    }


def _changed_fields(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found: list[str] = []
        for key in [*old, *(key for key in new if key not in old)]:
            found += _changed_fields(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
        return found
    return [] if old == new else [path]


def agent_tools(document: Mapping[str, Any] | None) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(agent node id, tool name) -> the tool's declaration, in the document's order."""
    found: dict[tuple[str, str], Mapping[str, Any]] = {}
    for node in (document or {}).get("nodes") or []:
        if not isinstance(node, Mapping) or node.get("type") != "agent":
            continue
        for tool in (node.get("config") or {}).get("tools") or []:
            if isinstance(tool, Mapping):
                found[(str(node.get("id")), str(tool.get("name") or ""))] = tool
    return found


def diff_tools(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> dict[str, list[dict[str, Any]]]:
    """The agents' tools the new document adds, removes and changes against the old one."""
    before, after = agent_tools(old), agent_tools(new)
    changed = [
        {
            "node": key[0],
            "name": key[1],
            "old": _snapshot(key[0], before[key]),
            "new": _snapshot(key[0], tool),
            "fields": fields,
        }
        for key, tool in after.items()
        if key in before and (fields := _changed_fields(before[key], tool))
    ]
    return {
        "added": [_snapshot(key[0], tool) for key, tool in after.items() if key not in before],
        "removed": [_snapshot(key[0], tool) for key, tool in before.items() if key not in after],
        "changed": changed,
    }


def tools_summary_text(tools: Mapping[str, list[Mapping[str, Any]]]) -> list[str]:
    """`tools added: agent.note_task (changes)` and the like, for the diff's one line."""
    parts = []
    for verb in ("added", "removed", "changed"):
        names = [
            f"{tool['node']}.{tool['name']} ({(tool.get('new') or tool)['effect']})"
            for tool in tools.get(verb) or []
        ]
        if names:
            parts.append(f"tools {verb}: {', '.join(names)}")
    return parts
