"""The request class of the app: JSON bodies are checked for depth before they are decoded.

A decoder descends once per level of nesting; a body of a thousand nested arrays would
exhaust Python's recursion limit in the decoder (or in whatever walks the value later)
and end as a 500. Such a body is refused with 400 `too_deeply_nested` first. The check
(`runtime.json_depth.refuse_deep_json`) costs two byte counts for a body with few brackets,
and a few passes in C otherwise.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from runtime.json_depth import refuse_deep_json


class DirigentRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        refuse_deep_json(await self.body())
        return await super().json()
