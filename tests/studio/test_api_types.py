"""The studio's types of the runtime's answers (`studio/studio/api_types.py`) are generated
from the runtime's OpenAPI description and stay so: the committed file is what the
generator writes for the runtime as it is, and every call of `RuntimeClient` that answers
JSON names the generated type of the route it calls (issue 11: a typed contract end to end).
"""

from __future__ import annotations

import collections.abc
import importlib.util
import inspect
import re
import sys
import types
import typing
from pathlib import Path
from types import ModuleType
from typing import Any, get_args, get_origin, get_type_hints, is_typeddict

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.api import RuntimeClient

from studio import api, api_types

ROOT = Path(__file__).resolve().parents[2]

# Calls that answer JSON but not as a type of their own, with the reason.
NOT_AN_ANSWER_TYPE = {
    "audit_export": "JSON Lines as text, for a download",
    "unread_count": "the number out of UnreadCount",
}
# The plumbing every call goes through, not calls of a route.
PLUMBING = {"request", "answer", "stream_events"}
# Arguments a call refuses to go without (everything else is filled in from its annotation).
ARGUMENTS: dict[str, dict[str, Any]] = {"lifecycle": {"action": "approve"}}


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "studio_api_types", ROOT / "scripts" / "studio_api_types.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return _load_generator()


@pytest.fixture(scope="module")
def openapi(generator: ModuleType) -> dict[str, Any]:
    return generator.runtime_openapi()  # type: ignore[no-any-return]


def test_the_committed_types_are_what_the_runtime_describes(
    generator: ModuleType, openapi: dict[str, Any]
) -> None:
    generated = generator.ruff_formatted(generator.render(openapi))
    committed = (ROOT / "studio" / "studio" / "api_types.py").read_text(encoding="utf-8")
    assert committed == generated, (
        "studio/studio/api_types.py does not match the runtime's response models; "
        f"regenerate it: {generator.COMMAND}"
    )


def _client_calls() -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(RuntimeClient, inspect.isfunction)
        if not name.startswith("_") and name not in PLUMBING
    }


def _answer_name(annotation: Any) -> str | None:
    """`FlowOut` / `list[FlowOut]` for a generated type (or a list of one), else None."""
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        inner = _answer_name(item)
        return f"list[{inner}]" if inner else None
    name = getattr(annotation, "__name__", "")
    return name if is_typeddict(annotation) and getattr(api_types, name, None) is annotation else None


def _is_stream_or_nothing(annotation: Any) -> bool:
    return annotation is type(None) or get_origin(annotation) is collections.abc.AsyncIterator


def test_every_call_that_answers_json_names_a_generated_type() -> None:
    calls = _client_calls()
    assert len(calls) >= 60, sorted(calls)  # the check sees them
    untyped = [
        f"RuntimeClient.{name} -> {hints.get('return')}"
        for name, call in calls.items()
        if name not in NOT_AN_ANSWER_TYPE
        for hints in [get_type_hints(call)]
        if not _is_stream_or_nothing(hints.get("return")) and _answer_name(hints.get("return")) is None
    ]
    assert untyped == [], "name the answer's type from studio.api_types (scripts/studio_api_types.py)"
    assert set(NOT_AN_ANSWER_TYPE) <= set(calls), "a call listed as an exception is gone"
    assert _answer_name(get_type_hints(api.fetch_case_rules)["return"]) == "TestCaseRulesOut"


def _route_of(openapi: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    for template, item in openapi["paths"].items():
        pattern = re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in item:
            return item[method.lower()]  # type: ignore[no-any-return]
    raise AssertionError(f"the runtime has no route {method} {path}")


def _success_types(operation: dict[str, Any]) -> set[str]:
    found = set()
    for status, answer in operation.get("responses", {}).items():
        media = (answer.get("content") or {}).get("application/json")
        if not status.startswith("2") or media is None:
            continue
        schema = media["schema"]
        if schema.get("type") == "array":
            found.add(f"list[{schema['items']['$ref'].rsplit('/', 1)[1]}]")
        elif "$ref" in schema:
            found.add(schema["$ref"].rsplit("/", 1)[1])
    return found


def _sample(annotation: Any) -> Any:
    """A value of the parameter's type that the client sends on without looking at it."""
    origin = get_origin(annotation) or annotation
    if origin in (typing.Union, types.UnionType):
        return _sample(next(arg for arg in get_args(annotation) if arg is not type(None)))
    return {str: "x1", int: 1, bool: False, dict: {}, list: []}.get(origin)


async def test_each_call_names_the_type_its_route_answers(openapi: dict[str, Any]) -> None:
    """The annotation is the model of the very route the call reaches (a call typed with
    another route's answer would read fields that are not there)."""
    sent: list[tuple[str, str]] = []

    def runtime(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.url.raw_path.decode().split("?")[0]))
        return httpx.Response(200, json={})

    client = RuntimeClient("t", base_url="http://runtime.test", transport=httpx.MockTransport(runtime))
    checked, wrong = 0, []
    for name, call in _client_calls().items():
        answer = _answer_name(get_type_hints(call).get("return"))
        if answer is None:
            continue
        parameters = list(inspect.signature(call).parameters.values())[1:]
        hints = get_type_hints(call)
        arguments = {
            parameter.name: ARGUMENTS.get(name, {}).get(parameter.name, _sample(hints[parameter.name]))
            for parameter in parameters
            if parameter.default is inspect.Parameter.empty
        }
        sent.clear()
        await call(client, **arguments)
        (route,) = sent
        expected = _success_types(_route_of(openapi, *route))
        checked += 1
        if answer not in expected:
            wrong.append(f"RuntimeClient.{name} -> {answer}, but {route[0]} {route[1]} answers {expected}")
    assert checked >= 55
    assert wrong == []


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"$ref": "#/components/schemas/FlowOut"}, "FlowOut"),
        ({"type": "string", "enum": ["draft", "published"]}, "Literal['draft', 'published']"),
        ({"enum": ["a", None]}, "Literal['a'] | None"),
        ({"type": "string", "const": "started"}, "Literal['started']"),
        ({"oneOf": [{"type": "null"}, {"type": "integer"}]}, "int | None"),
        ({"anyOf": [{"$ref": "#/components/schemas/A"}, {"type": "string"}]}, "A | str"),
        ({"type": ["null", "string"]}, "str | None"),
        ({"type": "array", "items": {"type": "number"}}, "list[float]"),
        ({"type": "array"}, "list[Any]"),
        ({"type": "object", "additionalProperties": {}}, "dict[str, Any]"),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, "dict[str, int]"),
        ({"type": "object", "properties": {"x": {"type": "string"}}}, "dict[str, Any]"),
        ({}, "Any"),
        ({"oneOf": [{}, {"type": "null"}]}, "Any"),
    ],
)
def test_json_schemas_become_python_types(
    generator: ModuleType, schema: dict[str, Any], expected: str
) -> None:
    assert generator.python_type(schema) == expected


def test_optional_keys_and_keys_that_are_no_python_names(generator: ModuleType) -> None:
    edge = {
        "type": "object",
        "description": "An edge.",
        "properties": {"from": {"type": "string"}, "when": {"oneOf": [{"type": "string"}, {"type": "null"}]}},
        "required": ["from"],
    }
    assert generator.render_schema("DiffEdge", edge) == [
        "# An edge.",
        "DiffEdge = TypedDict(",
        "    'DiffEdge',",
        "    {",
        "        'from': 'str',",
        "        'when': 'NotRequired[str | None]',",
        "    },",
        ")",
    ]
    state = {"type": "string", "enum": ["on", "off"]}
    assert generator.render_schema("State", state) == ["State: TypeAlias = Literal['on', 'off']"]
    with pytest.raises(ValueError, match="has no Python type"):
        generator.python_type({"type": "tuple"})
    with pytest.raises(ValueError, match="cannot be a Python name"):
        generator.render_schema("Any", state)
