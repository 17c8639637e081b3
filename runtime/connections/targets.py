"""Production or test: where a call goes, and what a call does to the world.

A connection may carry a **test target**: settings of the same kind with secrets of its
own (another base URL, database or SMTP server — environments in their simplest form).
Test runs (the editor's test panel: `POST /api/flows/{id}/versions/{n}/runs`) call the
test target instead of production. A test run on a connection without one:

    side effects  e-mail, webhook, HTTP POST/PUT/PATCH/DELETE    refused: no_test_target
    reads         SQL (read-only), HTTP GET/HEAD/OPTIONS         only when the test run was
                                                                 started with
                                                                 `allow_live_reads: true`;
                                                                 else live_read_not_allowed

Runs that are not test runs (invocations, schedules, webhooks) always call production.
"""

from __future__ import annotations

from typing import Literal

from nodes.connector import ConnectorRequest
from runtime.connections.errors import LiveReadNotAllowed, NoTestTarget
from runtime.connections.kinds import IDEMPOTENT_METHODS, SAFE_METHODS
from runtime.connections.models import ConnectionRow

# read        changes nothing: not journaled, simply called again after a crash
# idempotent  changes something, the same way each time (PUT, DELETE): journaled; an
#             interrupted attempt is made again
# unsafe      each call may change something anew (POST, PATCH, e-mail, webhook):
#             journaled; an interrupted attempt is up to the connection's on_uncertain
Effect = Literal["read", "idempotent", "unsafe"]
Target = Literal["production", "test"]


def effect_of(kind: str, method: str) -> Effect:
    if kind == "sql":
        return "read"
    if kind == "http":
        method = method.upper()
        if method in SAFE_METHODS:
            return "read"
        return "idempotent" if method in IDEMPOTENT_METHODS else "unsafe"
    return "unsafe"  # email, webhook (a POST)


def target_of(row: ConnectionRow, request: ConnectorRequest, effect: Effect) -> tuple[ConnectionRow, Target]:
    """The connection as this call must use it: production, or its test target for a test
    run (a detached copy of the row with the test settings and secrets). Refuses what a test
    run may not do (see the module docstring)."""
    if not request.is_test:
        return row, "production"
    if row.test_settings is not None:
        return (
            ConnectionRow(
                id=row.id,
                workspace_id=row.workspace_id,
                name=row.name,
                kind=row.kind,
                settings=row.test_settings,
                sealed_secrets=row.sealed_test_secrets,
                secrets_changed=row.test_secrets_changed or {},
                created_by=row.created_by,
            ),
            "test",
        )
    if effect != "read":
        raise NoTestTarget(
            f"this is a test run, and connection '{row.name}' has no test target: a test run "
            f"does not {_what(row.kind, request)} in production. An admin can give the "
            "connection a test target (its own address and secrets) on the connections page"
        )
    if not request.allow_live_reads:
        raise LiveReadNotAllowed(
            f"this is a test run, and connection '{row.name}' has no test target: reading "
            "production data needs the test run's permission (start it with "
            "allow_live_reads), or an admin gives the connection a test target"
        )
    return row, "production"


def _what(kind: str, request: ConnectorRequest) -> str:
    if kind == "email":
        return "send e-mails"
    if kind == "webhook":
        return "call webhooks"
    return f"send {request.method.upper()} requests"
