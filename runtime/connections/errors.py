"""What a connector call can fail with (all are `NodeError`s: the engine records them on
the step with the node's id and type, and a champion reads the message).

    NodeError                        (nodes.errors)
    ├── ConnectionMissing            the flow names a connection its workspace does not have
    │                                (never created, or deleted since the version was approved)
    ├── ActionNotAllowed             method, path, recipient or statement outside what the
    │   │                            connection allows
    │   ├── NoTestTarget             a test run would cause a side effect on a connection
    │   │                            without a test target (code no_test_target)
    │   ├── LiveReadNotAllowed       a test run would read production data through a
    │   │                            connection without a test target, and did not say
    │   │                            allow_live_reads (code live_read_not_allowed)
    │   └── SqliteOutsideDir         a SQLite file outside DIRIGENT_SQL_SQLITE_DIR, or in
    │                                Dirigent's own data
    ├── SideEffectUncertain          an earlier attempt of this call was interrupted mid-call
    │                                and nobody can say whether it arrived; the connection
    │                                says `on_uncertain: fail` (code side_effect_uncertain)
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


class NoTestTarget(ActionNotAllowed):
    """A test run would cause a side effect, and the connection has no test target."""

    code = "no_test_target"


class LiveReadNotAllowed(ActionNotAllowed):
    """A test run would read production data without `allow_live_reads`."""

    code = "live_read_not_allowed"


class SideEffectUncertain(NodeError):
    """An interrupted call with side effects whose fate nobody knows; not repeated blindly."""

    code = "side_effect_uncertain"
