"""A request the API could not read, as coded problems: `{"field", "code", "params", "message"}`.

Litestar hands the 400 handler (`runtime.api.errors.validation_error`) a list of
`{"key", "message", "source"}`: the message is English and says nothing a program can
use. Bodies are pydantic models, and Litestar keeps pydantic's own errors as the
exception's cause, so each problem gets pydantic's `type` as its code and its `ctx` as
its parameters (`runtime.codes.pydantic_errors`). Query and path parameters are read by
msgspec, whose messages have a fixed form; they are read back into codes here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from litestar.exceptions import ValidationException

from runtime.codes import text
from runtime.codes.pydantic_errors import problem_params

# msgspec's messages ("Expected `int`, got `str`") and the codes they stand for.
_MSGSPEC: list[tuple[re.Pattern[str], str, tuple[str, ...]]] = [
    (re.compile(r"^Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`"), "wrong_type", ("expected", "got")),
    (re.compile(r"^Object missing required field `(?P<field>[^`]+)`"), "missing", ("field",)),
    (re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`"), "extra_forbidden", ("field",)),
    (re.compile(r"^Expected `str` of length <= (?P<max_length>\d+)"), "string_too_long", ("max_length",)),
    (re.compile(r"^Expected `str` of length >= (?P<min_length>\d+)"), "string_too_short", ("min_length",)),
    (re.compile(r"^Expected `\w+` >= (?P<ge>[-\d.]+)"), "greater_than_equal", ("ge",)),
    (re.compile(r"^Expected `\w+` <= (?P<le>[-\d.]+)"), "less_than_equal", ("le",)),
    (re.compile(r"^Expected `\w+` > (?P<gt>[-\d.]+)"), "greater_than", ("gt",)),
    (re.compile(r"^Expected `\w+` < (?P<lt>[-\d.]+)"), "less_than", ("lt",)),
]
_MISSING_PARAMETER = re.compile(r"^Missing required (?P<source>\w+) parameter '(?P<field>[^']+)'")


def _number(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _from_message(message: str, field: str) -> tuple[str, dict[str, Any]]:
    """The code of one of msgspec's messages, with the values it names."""
    for pattern, code, names in _MSGSPEC:
        found = pattern.match(message)
        if found:
            params = {name: _number(found.group(name)) for name in names}
            if code == "wrong_type":
                params["field"] = field.rsplit(".", 1)[-1]
            return code, params
    return "invalid_value", {}


def _pydantic_errors(exc: ValidationException) -> dict[tuple[str, str], dict[str, Any]]:
    """pydantic's errors behind the exception, by (location, message) as Litestar shows them."""
    errors = getattr(exc.__cause__, "errors", None)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and "type" in error:
            key = ".".join(str(part) for part in error.get("loc") or ())
            found[(key, str(error.get("msg") or "").split(" - ", 1)[0])] = error
    return found


def _no_body(required: list[str]) -> dict[str, Any]:
    """A body that was not sent at all: what to send (the fields the body needs, if any)."""
    if not required:
        return {"field": "", "code": "body_required", "params": {}, "message": text("body_required")}
    params = {"fields": ", ".join(required)}
    return {
        "field": "",
        "code": "body_fields_required",
        "params": params,
        "message": text("body_fields_required", **params),
    }


def request_problems(
    exc: ValidationException, required_fields: Callable[[], list[str]] = list
) -> list[dict[str, Any]]:
    """Every problem of a request Litestar refused, each with a code and its parameters.
    `required_fields` names the fields of the handler's body, for a body that was not sent."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    items = [item for item in extra if isinstance(item, dict)]
    if not items:
        missing = _MISSING_PARAMETER.match(str(exc.detail or ""))
        if missing:
            params = {"source": missing.group("source"), "field": missing.group("field")}
            problem = {"code": "missing_parameter", "params": params, "message": exc.detail}
            return [{"field": params["field"], **problem}]
        return []
    behind = _pydantic_errors(exc)
    problems = []
    for item in items:
        field = str(item.get("key") or item.get("source") or "")
        message = str(item.get("message") or "")
        if field == "data" and item.get("source") == "body" and message == "'data'":
            problems.append(_no_body(required_fields()))  # Litestar's words for a missing body
            continue
        error = behind.get((field, message))
        code, params = problem_params(error) if error is not None else _from_message(message, field)
        problems.append({"field": field, "code": code, "params": params, "message": message})
    return problems
