"""`GET /api/error-codes`: every code the runtime can answer with, for clients to translate."""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from runtime.codes import CODES


class ErrorCode(msgspec.Struct):
    """One code: its family (answer, problem, check, step), its English text with the
    parameters as `{name}`, the parameters' names, and the words `reason` can take."""

    code: str
    family: str
    message: str
    params: list[str]
    reasons: list[str]


class ErrorCodeController(Controller):
    path = "/api/error-codes"
    tags = ["meta"]

    @get("", exclude_from_auth=True)
    async def list_codes(self) -> list[ErrorCode]:
        """The table of `runtime/codes`: the same for everyone, so it needs no sign-in."""
        return [
            ErrorCode(
                code=entry.code,
                family=entry.family,
                message=entry.template,
                params=list(entry.params),
                reasons=list(entry.reasons),
            )
            for entry in sorted(CODES.values(), key=lambda entry: (entry.family, entry.code))
        ]
