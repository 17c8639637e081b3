"""What requests carry, checked the same way in every slice: the base class of request
bodies (`Body`), its field helpers, and the range of times a query may name.

Below the slices and the HTTP layer alike: `runtime.api.schemas` and `runtime.api.params`
build on it, and so do the schema modules of slices (`runtime.llm.schemas`,
`runtime.runs.viewer_schemas`, `runtime.monitoring.period`) without importing `runtime.api`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from runtime.errors import BadRequest


class Body(BaseModel):
    # strict: a JSON `false` is not a number, nor `1` a string (the OpenAPI says which type).
    model_config = ConfigDict(extra="forbid", strict=True)


def _whole_number(value: Any) -> Any:
    # JSON has one kind of number, and JSON Schema counts 5.0 as the integer 5; 5.5 is no integer.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# An integer of a request body (strict validation would refuse 5.0).
Integer = Annotated[int, BeforeValidator(_whole_number)]


# "Not blank" as the handlers judge it (`str.strip()`), spelled out as a class: the `\s` of
# an OpenAPI pattern is ECMAScript's, which differs from Python's (U+001C-U+001F, U+0085).
PYTHON_WHITESPACE = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = f"[^{PYTHON_WHITESPACE}]"


def documented_pattern(pattern: re.Pattern[str]) -> dict[str, Any]:
    """`json_schema_extra` that shows a pattern the service checks with its own message
    (and error code, which the studio translates) in the OpenAPI description."""
    return {"pattern": pattern.pattern}


# What a time in a query may be. Nothing in Dirigent is older than 1970, and far-off years
# only break date arithmetic (year 10000 does not exist for Python's datetime).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
SUPPORTED_TIMES = "between 1970-01-01 and 2999-12-31"


def in_supported_range(name: str, raw: str, moment: datetime) -> datetime:
    """`moment` in UTC (a time without a zone is UTC); 400 `time_out_of_range` outside
    `EARLIEST`..`LATEST`."""
    try:
        utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is in the year 0 in UTC
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise BadRequest(
            f"'{name}' must be {SUPPORTED_TIMES}, not {raw!r}", code="time_out_of_range", field=name
        )
    return utc


# -- what responses carry ---------------------------------------------------------------
class Out(BaseModel):
    """Base of response models whose JSON leaves some keys out rather than sending `null`.

    A few answers carry a key only sometimes (an HTTP test's `status`, a failed file's
    `params`); clients tell "absent" from `null`. Name such fields in `absent_when_unset`:
    they are left out of the JSON unless they were given when the model was made."""

    absent_when_unset: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _leave_out_unset(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        for name in self.absent_when_unset - self.model_fields_set:
            data.pop(name, None)
        return data
