"""What a connector call can fail with (all are `NodeError`s: the engine records them on
the step with the node's id and type, and a champion reads the message).

    NodeError                        (nodes.errors)
    ├── ConnectionMissing            the flow names a connection its workspace does not have
    │                                (never created, or deleted since the version was approved)
    ├── ActionNotAllowed             method, path, recipient or statement outside what the
    │   │                            connection allows
    │   └── SqliteOutsideDir         a SQLite file outside DIRIGENT_SQL_SQLITE_DIR, or in
    │                                Dirigent's own data
    ├── EgressDenied                 the target address is not allowed (SSRF guard)
    └── ServiceUnavailable           (nodes.errors)
        └── RemoteFailure            the remote system is unreachable, timed out, or
            │                        refused (SMTP/SQL errors)
            └── ResponseTooLarge     the answer is over the connection's size limit

Messages name the connection and the host, never a secret or a request body.
"""

from __future__ import annotations

from nodes.errors import NodeError, ServiceUnavailable


class ConnectionMissing(NodeError):
    """The named connection does not exist in the run's workspace."""


class ActionNotAllowed(NodeError):
    """The call is outside what the connection's settings allow."""


class SqliteOutsideDir(ActionNotAllowed):
    """A SQL connection names a SQLite file where connections may not read."""


class EgressDenied(NodeError):
    """The target's address is refused by the egress guard."""


class RemoteFailure(ServiceUnavailable):
    """The remote system failed or could not be reached."""


class ResponseTooLarge(RemoteFailure):
    """The answer is larger than the connection's `max_response_bytes` (never retried)."""
