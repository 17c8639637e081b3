"""HTTP calls of `http` and `webhook` connections.

A call is checked before anything goes on the wire: the method must be allowed, the path
must lie under an allowed prefix (segment-wise: `/tasks` allows `/tasks/7`, not
`/tasks-admin`), and the URL built from base URL + path must still name the base URL's
scheme, host and port. Then it goes through `GuardedTransport` (egress check at connect
time), with the connection's auth, an `Idempotency-Key` for methods that are not
idempotent, redirects not followed, the response cut off at `max_response_bytes`, and
retries with exponential backoff for idempotent methods only (connect errors, timeouts,
429/502/503/504), through tenacity (`_retrying`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from runtime.connections.egress import EgressGuard, GuardedTransport
from runtime.connections.errors import ActionNotAllowed, RemoteFailure, ResponseTooLarge
from runtime.connections.kinds import IDEMPOTENT_METHODS, HttpSettings
from runtime.json_limits import too_deep_text

USER_AGENT = "Dirigent/0.1 (connector)"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Waits between attempts: 0.2 s, 0.4 s, 0.8 s, ... never more than 2 s.
BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 2.0
SIGNATURE_HEADER = "X-Dirigent-Signature"
TIMESTAMP_HEADER = "X-Dirigent-Timestamp"
# Headers a flow may not set: routing (Host), framing, and what Dirigent itself sets.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "te",
        "trailer",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "idempotency-key",
        SIGNATURE_HEADER.lower(),
        TIMESTAMP_HEADER.lower(),
    }
)
_CONTROL = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(frozen=True)
class HttpCall:
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    idempotency_key: str | None = None


@dataclass
class HttpResult:
    status: int
    body: Any
    bytes: int
    host: str
    attempts: int = 1
    content_type: str = ""


def sign(key: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(key, "<timestamp>." + body): Dirigent's signature scheme."""
    mac = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


class HttpClient:
    def __init__(
        self,
        name: str,
        settings: HttpSettings,
        secrets: Mapping[str, str],
        guard: EgressGuard,
        *,
        signing_key: str | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.secrets = secrets
        self.guard = guard
        self.signing_key = signing_key
        try:
            self.base = httpx.URL(settings.base_url)
        except httpx.InvalidURL as error:
            raise ActionNotAllowed(
                f"connection '{name}': the base URL is not a valid URL ({error})",
                code="invalid_base_url",
                connection=name,
                detail=str(error),
            ) from None

    # -- checks -----------------------------------------------------------------------
    def url_for(self, method: str, path: str) -> httpx.URL:
        allowed = self.settings.allowed_methods
        if method not in allowed:
            raise ActionNotAllowed(
                f"connection '{self.name}' allows the methods {', '.join(allowed)}, not {method}",
                code="method_not_allowed",
                connection=self.name,
                methods=", ".join(allowed),
                method=method,
            )
        if not path.startswith("/"):
            raise ActionNotAllowed(
                f"the path must start with '/', e.g. /tasks, not '{path[:200]}'",
                code="path_not_absolute",
                path=path[:200],
            )
        decoded = unquote(unquote(path))
        if (
            _CONTROL.search(decoded)
            or "//" in decoded
            or "?" in path
            or "#" in path
            or any(part in (".", "..") for part in decoded.split("/"))
        ):
            raise ActionNotAllowed(
                f"the path '{path[:200]}' is not allowed: no '..', '//', backslashes, spaces or control "
                "characters; put query parameters into `query`",
                code="path_not_allowed",
                path=path[:200],
            )
        prefixes = self.settings.allowed_paths
        if not any(_under(decoded, prefix) for prefix in prefixes):
            raise ActionNotAllowed(
                f"connection '{self.name}' allows paths under {', '.join(prefixes)}, not {path[:200]}",
                code="path_outside_prefixes",
                connection=self.name,
                prefixes=", ".join(prefixes),
                path=path[:200],
            )
        url = httpx.URL(self.settings.base_url.rstrip("/") + path)
        if (url.scheme, url.host, url.port) != (self.base.scheme, self.base.host, self.base.port):
            raise ActionNotAllowed(
                f"connection '{self.name}' may only reach {self.base.host}",
                code="host_not_allowed",
                hosts=self.base.host,
                host=url.host,
            )
        return url

    def _auth_headers(self) -> dict[str, str]:
        auth = self.settings.auth
        if auth.type == "none":
            return {}
        needed = {"bearer": "token", "basic": "password", "header": "api_key"}[auth.type]
        value = self.secrets.get(needed)
        if not value:
            raise ActionNotAllowed(
                f"connection '{self.name}' uses {auth.type} auth, but its secret "
                f"'{needed}' is not set; an admin can set it",
                code="auth_secret_missing",
                connection=self.name,
                auth=auth.type,
                secret=needed,
            )
        if auth.type == "bearer":
            return {"Authorization": f"Bearer {value}"}
        if auth.type == "basic":
            pair = f"{auth.username or ''}:{value}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        return {auth.header: value}

    # -- sending ----------------------------------------------------------------------
    async def send(self, call: HttpCall) -> HttpResult:
        method = call.method.upper()
        url = self.url_for(method, call.path)
        reserved = sorted(name for name in call.headers if name.lower() in RESERVED_HEADERS)
        if reserved:
            raise ActionNotAllowed(
                f"a flow may not set the headers {', '.join(reserved)}",
                code="reserved_headers",
                headers=", ".join(reserved),
            )
        content = b"" if call.body is None else json.dumps(call.body, ensure_ascii=False).encode()
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json, text/plain;q=0.9, */*;q=0.5",
            **self.settings.headers,
            **dict(call.headers),
        }
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        if call.idempotency_key and method not in IDEMPOTENT_METHODS:
            headers["Idempotency-Key"] = call.idempotency_key
        if self.signing_key:
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(self.signing_key, timestamp, content)
        headers.update(self._auth_headers())  # last: a template cannot override the auth

        retries = self.settings.retries if method in IDEMPOTENT_METHODS else 0
        timeout = httpx.Timeout(self.settings.timeout_s)
        transport = GuardedTransport(self.guard, [self.base.host], verify=self.settings.verify_tls)
        async with httpx.AsyncClient(
            transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
        ) as client:
            attempts = 0

            async def attempt() -> HttpResult:
                nonlocal attempts
                attempts += 1
                return await self._once(client, method, url, dict(call.query), headers, content)

            try:
                result: HttpResult = await _retrying(retries)(attempt)
            except (httpx.TransportError, RemoteFailure) as error:
                raise _remote(self.base.host, error) from None
            result.attempts = attempts
            return result

    async def _once(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: httpx.URL,
        query: dict[str, str],
        headers: dict[str, str],
        content: bytes,
    ) -> HttpResult:
        limit = self.settings.max_response_bytes
        request = client.build_request(
            method, url, params=query or None, headers=headers, content=content if content else None
        )
        response = await client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise ResponseTooLarge(f"{self.base.host} answered more than {limit} bytes ({declared})")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLarge(f"{self.base.host} answered more than {limit} bytes")
                chunks.append(chunk)
        finally:
            await response.aclose()
        raw = b"".join(chunks)
        content_type = response.headers.get("content-type", "")
        body: Any = raw.decode(response.encoding or "utf-8", errors="replace")
        # JSON too deep to decode safely stays text, like JSON that does not parse.
        if "json" in content_type and raw and not too_deep_text(raw):
            with contextlib.suppress(ValueError):  # a server that says JSON and sends something else
                body = json.loads(raw)
        return HttpResult(response.status_code, body, size, self.base.host or "", content_type=content_type)


def _transient(error: BaseException) -> bool:
    """Worth another attempt: the remote was unreachable, timed out or failed; not an
    answer over the size limit (it will not shrink)."""
    return isinstance(error, httpx.TransportError | RemoteFailure) and not isinstance(error, ResponseTooLarge)


def _busy(result: HttpResult) -> bool:
    return result.status in RETRY_STATUSES


def _last_outcome(state: RetryCallState) -> HttpResult:
    """After the last attempt: its answer (a 503 is still an answer), or its error."""
    assert state.outcome is not None
    result: HttpResult = state.outcome.result()  # raises the last attempt's error
    return result


def _retrying(retries: int) -> AsyncRetrying:
    """Up to `retries` more attempts after the first (0 for methods that are not
    idempotent), on a transient error or a status of RETRY_STATUSES, with exponential
    backoff; then the last answer is returned or the last error raised."""
    return AsyncRetrying(
        stop=stop_after_attempt(retries + 1),
        wait=wait_exponential(multiplier=BACKOFF_FIRST_S, max=BACKOFF_MAX_S),
        retry=retry_if_exception(_transient) | retry_if_result(_busy),
        retry_error_callback=_last_outcome,
    )


def _remote(host: str | None, error: Exception) -> RemoteFailure:
    if isinstance(error, RemoteFailure):
        return error
    if isinstance(error, httpx.TimeoutException):
        return RemoteFailure(
            f"{host} did not answer in time ({type(error).__name__})",
            code="http_timeout",
            host=host,
            detail=type(error).__name__,
        )
    return RemoteFailure(
        f"cannot reach {host} ({type(error).__name__}: {error})",
        code="http_unreachable",
        host=host,
        detail=f"{type(error).__name__}: {error}",
    )
