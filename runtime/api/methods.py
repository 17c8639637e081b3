"""`Allow` on OPTIONS answers names every method of the path.

Litestar 2 answers OPTIONS from the handler it made for the first method registered on a
path, so `OPTIONS /api/workspaces` says `GET, OPTIONS` although POST works too
(litestar#4169, fixed in Litestar 3). Clients and API checkers read `Allow` to learn what
a resource supports; `allow_every_method` rewrites the header from the app's routes.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope


def allow_every_method(message: Message, scope: Scope) -> None:
    """A `before_send` hook; everything but the start of an OPTIONS answer passes untouched."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    template = scope.get("path_template")
    for route in scope["app"].routes:
        if isinstance(route, HTTPRoute) and route.path_format == template:
            MutableScopeHeaders.from_message(message)["allow"] = ", ".join(sorted(route.methods))
            return
