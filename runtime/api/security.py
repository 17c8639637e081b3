"""What every HTTP answer carries for the browser's sake, and the API browser without a CDN.

security_headers(settings)   a `before_send` hook (it sees every answer of the app,
                             also 404s and errors, which route middleware does not):
                             Content-Security-Policy, X-Content-Type-Options,
                             Referrer-Policy, X-Frame-Options, Cache-Control: no-store
                             (answers carry personal data; a handler's own
                             Cache-Control stays), and Strict-Transport-Security when
                             `DIRIGENT_HSTS_MAX_AGE_S` says clients come over HTTPS
LocalSwagger, swagger_assets `/schema` and `/schema/swagger` render Swagger UI from
                             files shipped in this package (`swagger_ui/`), served at
                             `/schema/static/`; no inline script, no other host
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import MutableScopeHeaders
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.types import Message, Scope

from runtime.settings import Settings

SWAGGER_DIR = Path(__file__).resolve().parent / "swagger_ui"
ASSETS_PATH = "/schema/static"
DOCS_PREFIX = "/schema"

# JSON answers: nothing may be loaded, framed or submitted on their behalf.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The API browser: its own scripts and styles only (Swagger UI sets style attributes, hence
# 'unsafe-inline' for styles, never for scripts), and requests to this origin.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def security_headers(settings: Settings) -> Callable[[Message, Scope], Awaitable[None]]:
    """The `before_send` hook that adds the headers to every answer's start message."""
    common = [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if settings.hsts_max_age_s:
        common.append(("Strict-Transport-Security", f"max-age={settings.hsts_max_age_s}; includeSubDomains"))

    encoded = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in common]
    api_policy = (b"content-security-policy", API_POLICY.encode("latin-1"))
    docs_policy = (b"content-security-policy", DOCS_POLICY.encode("latin-1"))
    no_store = (b"cache-control", b"no-store")

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        path: str = scope.get("path", "")
        docs = path == DOCS_PREFIX or path.startswith(DOCS_PREFIX + "/")
        wanted = [*encoded, docs_policy if docs else api_policy]
        headers = MutableScopeHeaders.from_message(message)
        # One pass over the answer's headers, not one per header set (this runs for every
        # answer): a header the handler did not set is appended, one it did is replaced.
        present = {name.lower() for name, _ in headers.headers}
        if b"cache-control" not in present and not path.startswith(ASSETS_PATH + "/"):
            wanted.append(no_store)
        for name, value in wanted:
            if name in present:
                headers[name.decode("latin-1")] = value.decode("latin-1")
            else:
                headers.headers.append((name, value))

    return add_headers


class LocalSwagger(OpenAPIRenderPlugin):
    """Swagger UI from `swagger_ui/` (see its README for the version and where it is from)."""

    def __init__(self, path: str | list[str] | None = None) -> None:
        super().__init__(path=path or ["/", "/swagger"], favicon="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        root = request.scope.get("root_path", "")
        assets = f"{root}{ASSETS_PATH}"
        title = escape(str(openapi_schema.get("info", {}).get("title", "API")))
        spec_url = escape(f"{root}{DOCS_PREFIX}/openapi.json")
        return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{title}</title>
    <link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
    <link rel="stylesheet" href="{assets}/swagger-ui.css">
  </head>
  <body>
    <div id="swagger-ui" data-spec-url="{spec_url}"></div>
    <script src="{assets}/swagger-ui-bundle.js"></script>
    <script src="{assets}/swagger-init.js"></script>
  </body>
</html>
""".encode()


def swagger_assets() -> Router:
    """The Swagger UI files, public like the API description itself."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[SWAGGER_DIR],
        name="swagger_assets",
        include_in_schema=False,
        opt={"exclude_from_auth": True},
    )
