"""A real MCP server for tests, built with the `mcp` SDK (`MCPServer`, streamable HTTP).

    python -m tests.support.mcp_server PORT CALLS_FILE [--variant v1|v2] [--token T]

Tools: `lookup_customer(customer_id)` (reads), `create_ticket(title)` (changes: each call
appends a line to CALLS_FILE, so tests count the calls that arrived). `--variant v2`
offers `create_ticket(title, priority)`: the same tool with another input schema. With
`--token`, a request without `Authorization: Bearer <token>` gets 401.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer


def build(calls: Path, variant: str) -> MCPServer:
    server = MCPServer("dirigent-test")

    @server.tool(description="Looks a customer up by number")
    def lookup_customer(customer_id: int) -> str:
        return f"Kunde {customer_id}: Müller GmbH, Ansprechpartnerin Frau Schulz"

    if variant == "v1":

        @server.tool(description="Opens a ticket")
        def create_ticket(title: str) -> str:
            with calls.open("a") as file:
                file.write(title + "\n")
            return f"Ticket angelegt: {title}"

    else:

        @server.tool(description="Opens a ticket")
        def create_ticket(title: str, priority: int) -> str:  # type: ignore[misc]
            with calls.open("a") as file:
                file.write(title + "\n")
            return f"Ticket angelegt: {title} ({priority})"

    return server


def with_token(app: Any, token: str) -> Any:
    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization") != f"Bearer {token}".encode():
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
        await app(scope, receive, send)

    return guarded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("calls", type=Path)
    parser.add_argument("--variant", default="v1", choices=("v1", "v2"))
    parser.add_argument("--token", default=None)
    args = parser.parse_args()
    app: Any = build(args.calls, args.variant).streamable_http_app()
    if args.token:
        app = with_token(app, args.token)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
