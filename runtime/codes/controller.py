"""`GET /api/error-codes`: every code the runtime can answer with, for clients to translate."""

from __future__ import annotations

from typing import Literal

from litestar import Controller, get
from pydantic import BaseModel, Field

from runtime.codes import CODES


class ErrorCodeOut(BaseModel):
    """One code: its family (answer, problem, check, step), its English text with the
    parameters as `{name}`, the parameters' names, and the words `reason` can take."""

    code: str
    family: Literal["answer", "problem", "check", "step"]
    message: str = Field(description="English text; parameters as {name}")
    params: list[str]
    reasons: list[str] = Field(description="The words the parameter `reason` can take")


class ErrorCodeController(Controller):
    path = "/api/error-codes"
    tags = ["meta"]

    @get("", exclude_from_auth=True)
    async def list_codes(self) -> list[ErrorCodeOut]:
        """The table of `runtime/codes`: the same for everyone, so it needs no sign-in."""
        return [
            ErrorCodeOut(
                code=entry.code,
                family=entry.family,
                message=entry.template,
                params=list(entry.params),
                reasons=list(entry.reasons),
            )
            for entry in sorted(CODES.values(), key=lambda entry: (entry.family, entry.code))
        ]
