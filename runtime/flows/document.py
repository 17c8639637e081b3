"""The flow document (`schema: dirigent.flow/v1`) and its content hash.

What the board approves is the SHA-256 of the canonical JSON (sorted keys, compact
separators, UTF-8, `layout` left out: moving a node on the canvas is not a change);
what runs is exactly that hash. The document's test cases (`tests`, see
`runtime.flows.cases`) are part of it; an empty `tests` is left out, so that documents
written before test cases existed keep their hashes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from runtime.flows.cases import MAX_CASES, TestCase

SCHEMA: Final = "dirigent.flow/v1"
NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
RESERVED_IDS = frozenset({"inputs", "loop", "range", "true", "false", "none"})

Risk = Literal["minimal", "limited", "high"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class InputSpec(_Strict):
    type: Literal["string", "number", "integer", "boolean", "object", "array"] = "string"
    required: bool = False
    description: str = ""
    default: Any = None


class NodeSpec(_Strict):
    id: str = Field(..., pattern=NODE_ID_PATTERN)
    type: str
    title: str = ""
    config: dict[str, Any] = Field(default_factory=dict)


class EdgeSpec(_Strict):
    source: str = Field(..., alias="from")
    target: str = Field(..., alias="to")
    when: str | None = None


class Card(BaseModel):
    """The documentation card the board reads: purpose, data, risk, owner, thresholds."""

    model_config = ConfigDict(extra="allow")

    purpose: str = ""
    data_sources: list[str] = Field(default_factory=list)
    risk: Risk = "limited"
    owner: str = ""
    thresholds: dict[str, float] = Field(default_factory=dict)


class FlowDocument(_Strict):
    schema_: Literal["dirigent.flow/v1"] = Field(SCHEMA, alias="schema")
    name: str = Field(..., min_length=1, max_length=200)
    description: str = ""
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    nodes: list[NodeSpec] = Field(default_factory=list)
    edges: list[EdgeSpec] = Field(default_factory=list)
    outputs: dict[str, str] = Field(default_factory=dict)
    card: Card = Field(default_factory=Card)
    audience: list[str] = Field(
        default_factory=list,
        description="Slugs of further workspaces whose users may invoke this assistant",
    )
    tests: list[TestCase] = Field(default_factory=list, max_length=MAX_CASES)
    layout: dict[str, Any] = Field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", by_alias=True)
        if not data["tests"]:
            del data["tests"]
        return data

    def node(self, node_id: str) -> NodeSpec:
        for spec in self.nodes:
            if spec.id == node_id:
                return spec
        raise KeyError(node_id)


def canonical_json(document: FlowDocument | dict[str, Any]) -> bytes:
    """Sorted keys, compact, UTF-8, without `layout` (or an empty `tests`): the bytes that are hashed."""
    data = document.as_json() if isinstance(document, FlowDocument) else dict(document)
    data.pop("layout", None)
    if data.get("tests") == []:
        del data["tests"]
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def content_hash(document: FlowDocument | dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()
