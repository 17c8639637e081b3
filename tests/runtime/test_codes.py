"""The table of codes (runtime/codes) against what the code raises, and pydantic's errors as codes.

The table is the contract with clients: every code the runtime can answer with is listed
there with its parameters, and every place that raises a code gives exactly those. The
places are found by reading the source (AST): a `code="..."` keyword of a `runtime.errors`
class or a `NodeError`, a class attribute `code = "..."`, a `PydanticCustomError("...")`,
a `coded("...")` / `report.add(..., "...")` / `self.error(..., "...")` of a problem.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime.codes import CODES, Code, coded, placeholders
from runtime.codes.pydantic_errors import coded_problem

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    path
    for folder in ("runtime", "nodes")
    for path in sorted((ROOT / folder).rglob("*.py"))
    if "migrations" not in path.parts and "cli" not in path.parts and "codes" not in path.parts
]
# Keywords of an error class that are not parameters of its code: `errors` (a list of
# problems, each with its own code) and a node error's `field` (where in the config).
NOT_PARAMETERS = {"code", "errors", "said"}
NODE_ERROR_KEYWORDS = {"field"}
STEP_FIELDS = {"node", "type"}
NODE_ERRORS = {
    "NodeError",
    "TemplateError",
    "NodeTimeout",
    "ServiceUnavailable",
    "ConnectionMissing",
    "ActionNotAllowed",
    "EgressDenied",
    "RemoteFailure",
    "SideEffectUncertain",
    "NotFixed",
}
HTTP_ERRORS = {
    "BadRequest",
    "NotFound",
    "Forbidden",
    "Conflict",
    "Unavailable",
    "PayloadTooLarge",
    "PreconditionFailed",
    "PreconditionRequired",
    "Unauthorized",
    "TooManyRequests",
    "DirigentError",
}


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _uses() -> list[tuple[str, str, set[str] | None]]:
    """(where, code, keyword names given or None when they cannot be read) of every use."""
    found: list[tuple[str, str, set[str] | None]] = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                keywords = {k.arg for k in node.keywords if k.arg is not None}
                spread = any(k.arg is None for k in node.keywords)
                name = (
                    node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                )
                skipped = NOT_PARAMETERS if name in HTTP_ERRORS else NOT_PARAMETERS | NODE_ERROR_KEYWORDS
                given = None if spread else keywords - skipped
                for keyword in node.keywords:
                    # `entry.update(status=..., code=..., error=...)`: a job item's record, not a raise
                    if keyword.arg == "code" and (code := _string(keyword.value)) and name != "update":
                        found.append((f"{where}:{node.lineno}", code, given))
                if name in ("coded", "PydanticCustomError") and node.args and (code := _string(node.args[0])):
                    params = None
                    if (
                        name == "PydanticCustomError"
                        and len(node.args) > 2
                        and isinstance(node.args[2], ast.Dict)
                    ):
                        params = {_string(key) or "" for key in node.args[2].keys}
                    elif name == "PydanticCustomError":
                        params = set()
                    found.append((f"{where}:{node.lineno}", code, given if name == "coded" else params))
                if name in ("add", "error") and len(node.args) >= 3 and (code := _string(node.args[2])):
                    found.append((f"{where}:{node.lineno}", code, given))
                if name == "error" and len(node.args) == 2 and (code := _string(node.args[1])):
                    found.append((f"{where}:{node.lineno}", code, given))
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if (
                        isinstance(statement, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "code" for t in statement.targets)
                        and (code := _string(statement.value))
                    ):
                        found.append((f"{where}:{statement.lineno}", code, None))
    return found


USES = _uses()


def test_the_source_is_read() -> None:
    codes = {code for _, code, _ in USES}
    # A sample of each family, so that a change of the reader cannot pass by finding nothing.
    assert {"unreachable_node", "input_required", "invalid_regex", "template_syntax", "not_found"} <= codes


def test_every_error_is_raised_with_a_code() -> None:
    """A `runtime.errors` class or a node error raised (or returned to be raised) without
    `code=`: its answer would carry only the class's generic code, and a client could show
    nothing but the English message."""
    uncoded = []
    for path in SOURCES:
        where = str(path.relative_to(ROOT))
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            call = (
                node.exc
                if isinstance(node, ast.Raise)
                else node.value
                if isinstance(node, ast.Return)
                else None
            )
            if not isinstance(call, ast.Call):
                continue
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if name in HTTP_ERRORS | NODE_ERRORS and not any(k.arg in ("code", None) for k in call.keywords):
                uncoded.append(f"{where}:{node.lineno}: {name}")
    assert uncoded == []


def test_every_code_the_runtime_raises_is_in_the_table() -> None:
    missing = sorted({f"{code} ({where})" for where, code, _ in USES if code not in CODES})
    assert missing == []


def test_every_place_gives_exactly_the_parameters_of_its_code() -> None:
    wrong = [
        f"{where}: {code} gives {sorted(given)}, its text needs {sorted(CODES[code].params)}"
        for where, code, given in USES
        if given is not None and code in CODES and not _fits(CODES[code], given)
    ]
    assert wrong == []


def _fits(code: Code, given: set[str]) -> bool:
    """Exactly the code's parameters; a code with variants (`reason`) names its variant and
    may leave out what another variant needs."""
    needed = set(code.params) - {"errors"}  # a list of problems, when there is one
    if code.family == "step":
        needed -= STEP_FIELDS  # the engine stores them with every step error
    if code.reasons:
        return "reason" in given and given <= needed
    return given == needed


def test_a_code_is_a_snake_case_word_and_its_text_names_its_parameters() -> None:
    for code, entry in CODES.items():
        assert code.replace("_", "").isalnum() and code == code.lower(), code
        assert set(placeholders(entry.template)) - {"checked"} <= set(entry.params), code


def test_coded_fills_the_english_text_from_the_parameters() -> None:
    problem = coded("unreachable_node", node="lonely", input="start")
    assert problem == {
        "code": "unreachable_node",
        "params": {"node": "lonely", "input": "start"},
        "message": "'lonely' cannot be reached from the input node 'start'",
    }


# -- pydantic's errors as codes -----------------------------------------------------------------
class Form(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., max_length=5)
    count: int = Field(1, ge=1)
    kind: Literal["a", "b", "c"] = "a"
    items: list[int] = Field(default_factory=list, max_length=2)


@pytest.mark.parametrize(
    ("data", "code", "params", "message"),
    [
        ({}, "missing", {"field": "name"}, "Field required"),
        (
            {"name": "x", "colour": 1},
            "extra_forbidden",
            {"field": "colour"},
            "Extra inputs are not permitted",
        ),
        ({"name": "x" * 9}, "string_too_long", {"max_length": 5}, "String should have at most 5 characters"),
        ({"name": 5}, "string_type", {}, "Input should be a valid string"),
        ({"name": "x", "count": "drei"}, "int_parsing", {}, "unable to parse string as an integer"),
        ({"name": "x", "count": 0}, "greater_than_equal", {"ge": 1}, "greater than or equal to 1"),
        (
            {"name": "x", "kind": "d"},
            "literal_error",
            {"expected": "'a', 'b', 'c'"},
            "Input should be 'a', 'b' or 'c'",
        ),
        (
            {"name": "x", "items": [1, 2, 3]},
            "too_long",
            {"field_type": "List", "max_length": 2, "actual_length": 3},
            "List should have at most 2 items",
        ),
    ],
)
def test_a_pydantic_error_becomes_its_type_as_code_with_its_context(
    data: dict[str, Any], code: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        Form.model_validate(data)
    (error,) = raised.value.errors()
    problem = coded_problem(error)
    assert problem["code"] == code
    assert problem["params"] == params
    assert set(problem["params"]) == set(CODES[code].params)
    assert message in problem["message"]


def test_a_validator_that_raises_a_plain_value_error_is_invalid_value_without_english() -> None:
    from pydantic import field_validator

    class Odd(BaseModel):
        value: int

        @field_validator("value")
        @classmethod
        def _odd(cls, value: int) -> int:
            if value % 2 == 0:
                raise ValueError("must be odd")
            return value

    with pytest.raises(ValidationError) as raised:
        Odd.model_validate({"value": 2})
    problem = coded_problem(raised.value.errors()[0])
    assert (problem["code"], problem["params"], problem["message"]) == ("invalid_value", {}, "must be odd")


def test_a_custom_error_of_our_validators_keeps_its_code_and_parameters() -> None:
    from nodes.approval import ApprovalNode

    with pytest.raises(ValidationError) as raised:
        ApprovalNode.Config.model_validate({"assignees": ["ceo"], "timeout": "drei Tage"})
    problems = [coded_problem(error) for error in raised.value.errors()]
    assert [(p["code"], p["params"]) for p in problems] == [
        ("invalid_assignee", {"value": "ceo"}),
        ("invalid_duration", {"value": "drei Tage"}),
    ]
