"""What the app checks of every request before a handler sees it.

`DirigentRequest` checks JSON bodies before they are decoded
(`runtime.json_limits.refuse_unfit_json`): a body of a thousand nested arrays would exhaust
Python's recursion limit in the decoder (or in whatever walks the value later) and end as a
500, and a NUL character in a string cannot be stored on PostgreSQL. The check costs two byte
counts and a substring search for a body with few brackets, and a few passes in C otherwise.

`refuse_nul_in_url` does the same for the path and the query: `%00` in an id or a filter
would reach PostgreSQL as a bind value and fail there.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from runtime.errors import BadRequest
from runtime.json_limits import NUL_MESSAGE, refuse_unfit_json


class DirigentRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        refuse_unfit_json(await self.body())
        return await super().json()


async def refuse_nul_in_url(request: Request[Any, Any, Any]) -> None:
    """A `before_request` hook: 400 `nul_character` for `%00` in the path or the query."""
    if "\x00" in request.scope["path"] or b"%00" in request.scope["query_string"]:
        raise BadRequest(f"{NUL_MESSAGE}, not in the address either", code="nul_character")
