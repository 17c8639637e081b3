"""Errors of the runtime's service layer, mapped to HTTP in one place (`runtime.api.errors`).

    DirigentError                 base; `message` is for people, `code` for programs
    ├── BadRequest         400    malformed input, missing required inputs
    │   └── InvalidFlow    422    a flow document failed validation (carries `errors`)
    ├── Unauthorized       401    no, invalid or expired token; user removed
    ├── Forbidden          403    visible, but the caller may not do this (with a reason)
    ├── NotFound           404    does not exist, or the caller may not see it
    ├── Conflict           409    the state changed (double submit, decided task, race lost)
    ├── PreconditionFailed 412    an If-Match that no longer matches (another tab saved first)
    ├── PayloadTooLarge    413    document over 1 MiB, upload over the limit
    ├── PreconditionRequired 428  a write that needs If-Match came without it
    ├── TooManyRequests    429    sign-in throttled (carries `retry_after_s`: the Retry-After)
    └── Unavailable        503    a service the request needs is down or not configured
        └── ExtraMissing          an optional part (a pyproject extra) is not installed

Every message says what was expected and, where there is a choice, what the choices are.
"""

from __future__ import annotations

from typing import Any


class DirigentError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra
        # Set when the policy refused: the API writes such refusals to the audit trail.
        self.policy_denial = False

    def as_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


class BadRequest(DirigentError):
    status_code = 400
    code = "bad_request"


class InvalidFlow(BadRequest):
    status_code = 422
    code = "invalid_flow"

    def __init__(self, errors: list[dict[str, Any]], message: str | None = None) -> None:
        count = len(errors)
        super().__init__(
            message or f"the flow document has {count} error{'s' if count != 1 else ''}",
            errors=errors,
        )
        self.errors = errors


class Unauthorized(DirigentError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DirigentError):
    status_code = 403
    code = "forbidden"


class NotFound(DirigentError):
    status_code = 404
    code = "not_found"


class Conflict(DirigentError):
    status_code = 409
    code = "conflict"


class PreconditionFailed(DirigentError):
    status_code = 412
    code = "precondition_failed"


class PreconditionRequired(DirigentError):
    status_code = 428
    code = "precondition_required"


class PayloadTooLarge(DirigentError):
    status_code = 413
    code = "payload_too_large"


class TooManyRequests(DirigentError):
    """Refused for now; `retry_after_s` becomes the answer's Retry-After header."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None, **extra: Any) -> None:
        super().__init__(message, code=code, retry_after_s=retry_after_s, **extra)
        self.retry_after_s = retry_after_s


class Unavailable(DirigentError):
    status_code = 503
    code = "unavailable"


class ExtraMissing(Unavailable):
    """What was asked for needs an extra of the package that this installation lacks.

    Raised by `runtime.extras.needs_extra` at the point of use (never at start); carries
    `extra` (e.g. "knowledge") and `module`, so the studio can say it in German too.
    """

    code = "extra_missing"

    def __init__(self, *, extra: str, feature: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the '{extra}' extra: pip install 'dirigent[{extra}]' "
            f"(the Python module '{module}' is not installed)",
            extra=extra,
            module=module,
        )
