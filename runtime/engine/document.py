"""The flow document (`schema: dirigent.flow/v1`) and its content hash.

What the board approves is the SHA-256 of the canonical JSON (sorted keys, compact
separators, UTF-8, `layout` left out: moving a node on the canvas is not a change);
what runs is exactly that hash. The document's test cases (`tests`, see
`runtime.engine.cases`) are part of it; an empty `tests` is left out, so that documents
written before test cases existed keep their hashes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from runtime.canonical import canonical_json
from runtime.engine.cases import MAX_CASES, TestCase

SCHEMA: Final = "dirigent.flow/v1"
NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
RESERVED_IDS = frozenset({"inputs", "loop", "range", "true", "false", "none"})

Risk = Literal["minimal", "limited", "high"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


InputType = Literal["string", "number", "integer", "boolean", "object", "array"]
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}
ENUM_TYPES = ("string", "number", "integer")
MAX_ENUM_VALUES = 200


def value_fits(type_name: str, value: Any) -> bool:
    """Whether `value` (parsed JSON) is of the input type `type_name` (a bool is no number)."""
    if type_name in ("number", "integer") and isinstance(value, bool):
        return False
    return isinstance(value, _PYTHON_TYPES[type_name])


class InputSpec(_Strict):
    """A flow input as the people who invoke the assistant see it.

    `title` and `description` label its field, `enum` offers fixed choices (a select),
    `default` is what the run gets when the caller leaves it out. `title` and `enum` are
    left out of the canonical JSON while unset, so that documents written before they
    existed keep their content hash (see `FlowDocument.as_json`)."""

    type: InputType = "string"
    required: bool = False
    title: str = Field("", max_length=200)
    description: str = ""
    enum: list[Any] | None = Field(None, min_length=1, max_length=MAX_ENUM_VALUES)
    default: Any = None

    @field_validator("enum")
    @classmethod
    def _enum_values_fit_the_type(cls, value: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        if value is None:
            return None
        type_name = info.data.get("type", "string")
        if type_name not in ENUM_TYPES:
            raise PydanticCustomError(
                "enum_not_allowed",
                "choices (enum) are for {types} inputs, not {type}",
                {"types": ", ".join(ENUM_TYPES), "type": type_name},
            )
        for item in value:
            if not value_fits(type_name, item):
                raise PydanticCustomError(
                    "enum_wrong_type",
                    "the choice {value} is not of the input's type {type}",
                    {"value": repr(item), "type": type_name},
                )
        if len({json.dumps(item) for item in value}) != len(value):
            raise PydanticCustomError("enum_repeats", "the choices (enum) repeat a value")
        return value

    @field_validator("default")
    @classmethod
    def _default_fits(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        type_name = info.data.get("type", "string")
        if type_name in _PYTHON_TYPES and not value_fits(type_name, value):
            raise PydanticCustomError(
                "default_wrong_type",
                "the default {value} is not of the input's type {type}",
                {"value": repr(value), "type": type_name},
            )
        choices = info.data.get("enum")
        # An empty text default means "nothing chosen" and may stand beside choices.
        if choices is not None and value not in choices and value != "":
            raise PydanticCustomError(
                "default_not_a_choice",
                "the default {value} is not one of the choices {choices}",
                {"value": repr(value), "choices": repr(choices)},
            )
        return value


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
        for spec in data["inputs"].values():
            _drop_unset_input_fields(spec)
        return data

    def node(self, node_id: str) -> NodeSpec:
        for spec in self.nodes:
            if spec.id == node_id:
                return spec
        raise KeyError(node_id)


def _drop_unset_input_fields(spec: Any) -> None:
    """Input fields added after documents were first hashed are left out while unset."""
    if isinstance(spec, dict):
        if spec.get("title") == "":
            del spec["title"]
        if "enum" in spec and spec["enum"] is None:
            del spec["enum"]


def canonical_document(document: FlowDocument | dict[str, Any]) -> bytes:
    """The bytes that are hashed: the document without `layout` (or an empty `tests`, or
    unset input titles and choices) in `runtime.canonical.canonical_json`, as UTF-8."""
    data = document.as_json() if isinstance(document, FlowDocument) else dict(document)
    data.pop("layout", None)
    if data.get("tests") == []:
        del data["tests"]
    if isinstance(data.get("inputs"), dict):
        data["inputs"] = {
            name: dict(spec) if isinstance(spec, dict) else spec for name, spec in data["inputs"].items()
        }
        for spec in data["inputs"].values():
            _drop_unset_input_fields(spec)
    return canonical_json(data).encode("utf-8")


def content_hash(document: FlowDocument | dict[str, Any]) -> str:
    return hashlib.sha256(canonical_document(document)).hexdigest()
