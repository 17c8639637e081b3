"""What the connections and triggers API answers with (`runtime/connections/controller.py`).

The services build these answers as dicts (`ConnectionService.as_json`, `TriggerService.as_json`,
`usage.used_by`); the controller validates them into these models, which give the OpenAPI
its shapes. Keys that some answers carry and others leave out are `absent_when_unset`
(see `runtime.wire.Out`), so the JSON stays as it was.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from runtime.wire import Out

Kind = Literal["http", "webhook", "email", "sql"]


class SecretOut(BaseModel):
    """A stored secret as the API shows it: that it is set, never its value."""

    set: bool
    display: str = Field(description="Always the mask ••••")
    changed_at: str | None


class TestTargetOut(BaseModel):
    """Where test runs go instead of production."""

    __test__ = False  # not a pytest class, although its name starts with "Test"

    settings: dict[str, Any] = Field(description="Settings of the connection's kind")
    secrets: dict[str, SecretOut]


class ConnectionOut(BaseModel):
    id: str
    workspace: str | None = Field(description="The workspace's slug")
    name: str
    kind: Kind
    settings: dict[str, Any] = Field(description="Settings of the connection's kind")
    secrets: dict[str, SecretOut] = Field(description="Per secret name: that it is set, and since when")
    test_target: TestTargetOut | None = Field(description="null: test runs refuse side effects")
    created_at: str | None
    updated_at: str | None


class ConnectionTestOut(Out):
    """The answer of the test button; `status` only for HTTP connections (the server's answer)."""

    absent_when_unset = frozenset({"status"})

    ok: bool
    status: int | None = Field(None, description="HTTP connections: the status of the test GET")
    message: str = Field(description="What happened, in English; never a secret")
    duration_ms: float


class ConnectionUseOut(Out):
    """A connector node of a version and the connection it names. The call's shape is `sql`,
    `to`, or `method` and `path`; `connection_id`, `kind`, `host` and `has_test_target` are
    there when the connection exists."""

    absent_when_unset = frozenset(
        {"sql", "to", "method", "path", "connection_id", "kind", "host", "has_test_target"}
    )

    node: str
    connection: str
    action: str
    sql: str | None = None
    to: str | None = None
    method: str | None = None
    path: str | None = None
    exists: bool
    effect: Literal["read", "idempotent", "unsafe"]
    connection_id: str | None = None
    kind: Kind | None = None
    host: str | None = None
    has_test_target: bool | None = None


class VersionConnectionsOut(BaseModel):
    """Which connections and actions a version uses (the board approves these too)."""

    flow_id: str
    version: int
    content_hash: str
    uses: list[ConnectionUseOut]
    missing: list[str] = Field(description="Connections the version names that do not exist")


class TriggerOut(Out):
    """A trigger. A webhook carries `url`, `signing` and `headers`; a schedule `cron`,
    `timezone`, `inputs` and `next_fire_at` (the others' keys are left out)."""

    absent_when_unset = frozenset({"url", "signing", "headers", "cron", "timezone", "inputs", "next_fire_at"})

    id: str
    assistant: str = Field(description="The assistant's slug")
    kind: Literal["webhook", "schedule"]
    name: str
    enabled: bool
    created_at: str | None
    last_fired_at: str | None
    last_run_id: str | None
    url: str | None = Field(None, description="Webhook: where deliveries go (POST, signed)")
    signing: str | None = Field(
        None, description="Webhook: the signing key, in the answer that made it only; else the mask"
    )
    headers: list[str] | None = Field(
        None, description="Webhook: the headers a delivery carries (timestamp, signature)"
    )
    cron: str | None = Field(None, description="Schedule: cron expression")
    timezone: str | None = Field(None, description="Schedule: the zone `cron` is read in")
    inputs: dict[str, Any] | None = Field(None, description="Schedule: the inputs of each run")
    next_fire_at: str | None = Field(None, description="Schedule: when it fires next")


class DeliveryOut(Out):
    """A webhook delivery's answer: the run it started; `replayed` when it had been delivered before."""

    absent_when_unset = frozenset({"replayed"})

    run_id: str
    status: Literal["started"]
    replayed: bool = False
