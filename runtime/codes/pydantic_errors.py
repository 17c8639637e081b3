"""One pydantic error (an item of `ValidationError.errors()`) as a coded problem.

Pydantic names each error with a stable `type` and puts the values its message needs in
`ctx`; the type is the code (when `problems.py` lists it) and `ctx` the parameters. Our
own validators raise `PydanticCustomError(code, message, ctx)`, so their codes arrive the
same way. Anything else becomes `invalid_value`: a client then says "not valid here"
rather than show pydantic's English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runtime.codes import CODES

# "'equals', 'contains' or 'regex'": pydantic joins the choices with an English "or".
_LAST_CHOICE = re.compile(r"(?<=['\"\d]) or (?=['\"\d])")


def _plain(value: Any) -> Any:
    """A parameter as JSON: numbers and texts stay, anything else becomes text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def problem_params(error: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The code of a pydantic error and its parameters (see the module docstring)."""
    kind = str(error.get("type") or "")
    code = kind if kind in CODES and CODES[kind].family == "problem" else "invalid_value"
    context = dict(error.get("ctx") or {})
    names = [part for part in error.get("loc") or () if isinstance(part, str)]
    known = {"field": names[-1] if names else "", **{key: _plain(value) for key, value in context.items()}}
    params = {name: known.get(name, "") for name in CODES[code].params}
    if code in ("literal_error", "enum") and isinstance(params.get("expected"), str):
        params["expected"] = _LAST_CHOICE.sub(", ", params["expected"])
    return code, params


def message_of(error: Mapping[str, Any]) -> str:
    """Pydantic's English message, without its "Value error, " prefix."""
    return str(error.get("msg") or "").removeprefix("Value error, ")


def coded_problem(error: Mapping[str, Any]) -> dict[str, Any]:
    """`{"code", "params", "message"}` of one pydantic error."""
    code, params = problem_params(error)
    return {"code": code, "params": params, "message": message_of(error)}
