"""The one place where errors become HTTP responses.

Every error body has the same shape: `{"error": code, "message": text, ...}` — the
studio shows `message` to people. Unexpected exceptions are logged with their stack
trace and answered with a 500 that says nothing about internals.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.exceptions import NotFoundException as RouteNotFound

from runtime.api.problems import request_problems
from runtime.audit.service import append as audit
from runtime.errors import DirigentError, Forbidden, TooManyRequests

log = logging.getLogger("dirigent.api")


def _json(
    status: int,
    body: dict[str, Any],
    background: BackgroundTask | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    return Response(content=body, status_code=status, background=background, headers=headers)


def dirigent_error(request: Request[Any, Any, Any], exc: DirigentError) -> Response[dict[str, Any]]:
    background = None
    if isinstance(exc, Forbidden) or exc.policy_denial:  # audited after the response, in its own transaction
        actor = request.scope.get("user")
        background = BackgroundTask(
            _audit_denial,
            request.app.state.composition,
            getattr(actor, "username", None),
            request.method,
            request.url.path,
            exc.message,
        )
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooManyRequests) else None
    return _json(exc.status_code, exc.as_json(), background, headers)


async def _audit_denial(runtime: Any, username: str | None, method: str, path: str, reason: str) -> None:
    """Policy denials belong in the audit trail (who tried what, where)."""
    try:
        async with runtime.db.write() as session:
            await audit(
                session,
                actor=username,
                action="policy.denied",
                resource_type="request",
                detail={"method": method, "path": path, "reason": reason},
            )
    except Exception:  # never lose the 403 because the audit write failed
        log.exception("could not audit a policy denial")


def _required_body_fields(request: Request[Any, Any, Any]) -> list[str]:
    """The required fields of the handler's body model, for a body that was not sent."""
    parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    model = parameter.annotation if parameter is not None else None
    fields = getattr(model, "model_fields", {})
    return [name for name, field in fields.items() if field.is_required()]


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    # Each with a code and its parameters (runtime/api/problems.py); a body that was not
    # sent at all names the fields to send.
    problems = request_problems(exc, required_fields=lambda: _required_body_fields(request))
    detail = exc.detail or "invalid request"
    if "JSON" in detail or "decode" in detail.lower():
        message = "the request body is not valid JSON"
    elif problems:
        message = "; ".join(f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in problems)
    else:
        message = detail
    return _json(400, {"error": "bad_request", "message": message, "errors": problems})


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, NotAuthorizedException):
        return _json(
            401,
            {
                "error": "unauthorized",
                "message": "sign in first: the token is missing, invalid or expired, "
                "or the user no longer exists",
            },
        )
    if isinstance(exc, PermissionDeniedException):
        return _json(403, {"error": "forbidden", "message": exc.detail})
    if isinstance(exc, RouteNotFound):
        message = f"no such endpoint: {request.method} {request.url.path}"
        return _json(404, {"error": "not_found", "message": message, "resource": "endpoint"})
    # Litestar wraps a body that does not decode ("Input data was truncated", ...) in a 400.
    if exc.status_code == 400 and (
        isinstance(exc.__cause__, SerializationException) or "json" in (exc.detail or "").lower()
    ):
        return _json(
            400, {"error": "bad_request", "message": f"the request body is not valid JSON ({exc.detail})"}
        )
    if exc.status_code == 413:
        message = f"the request body is too large ({exc.detail})"
        return _json(413, {"error": "payload_too_large", "message": message})
    # The exception's headers matter, e.g. the `Allow` of a 405.
    return _json(exc.status_code, {"error": "http_error", "message": exc.detail}, headers=exc.headers)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return _json(
        500,
        {
            "error": "internal_error",
            "message": "something went wrong inside Dirigent; the administrators can find "
            "details in the runtime's log",
        },
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DirigentError: dirigent_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
