"""The settings of each connection kind — what an admin configures, checked on save.

Settings are not secret (the API shows them); credentials go into the connection's
secrets, whose names per kind are in `SECRET_NAMES`. A header, URL or setting that
carries a credential is refused with a pointer to the secrets.

    http     base_url, auth (none | bearer | basic | header), allowed_methods,
             allowed_paths (prefixes), timeout_s, max_response_bytes, retries, headers,
             on_uncertain
    webhook  an http preset: one URL, POST only, body signed with HMAC-SHA256 when a
             `signing_key` secret is set; on_uncertain
    email    SMTP host/port, security (starttls | ssl | none), username, sender,
             allowed_domains of recipients, on_uncertain
    sql      a SQLAlchemy URL (sqlite, postgresql), max_rows, timeout_s; read-only

`on_uncertain` says what a resumed run does when the call journal shows that an earlier
attempt of a call with side effects was interrupted mid-call (nobody knows whether the
receiver got it): `ask` a person (the default), `retry` with the same Idempotency-Key /
Message-ID (for receivers that deduplicate by it), or `fail` the step. See
`runtime.connections.journal`.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.engine import make_url

KINDS = ("http", "webhook", "email", "sql")
SECRET_NAMES: dict[str, tuple[str, ...]] = {
    "http": ("token", "password", "api_key"),
    "webhook": ("signing_key", "token"),
    "email": ("password",),
    "sql": ("password",),
}
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Methods that only read: no journal, and a test run may make them against production
# when it says `allow_live_reads`. PUT and DELETE are idempotent but change things.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OnUncertain = Literal["ask", "retry", "fail"]
ON_UNCERTAIN_HELP = (
    "An interrupted call with side effects: ask a person whether it arrived (ask), call again "
    "with the same Idempotency-Key/Message-ID (retry), or fail the step (fail)"
)
METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
_CREDENTIAL_HEADER = re.compile(r"auth|token|secret|key|cookie|passw", re.IGNORECASE)
# Hosts like 2130706433, 0x7f.1, 0177.0.0.1 or 127.1: resolvers read them as IP addresses,
# people do not. A base URL names a host by name or by its canonical address.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+))*\.?$", re.IGNORECASE)


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")


def checked_base_url(url: str, field: str = "base_url") -> str:
    """An http(s) URL with a host, no credentials, query or fragment; the host canonical."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{field} must start with http:// or https://, not '{parts.scheme or url}'")
    if not parts.hostname:
        raise ValueError(f"{field} needs a host, e.g. https://crm.example.com/api")
    if parts.username or parts.password or "@" in parts.netloc:
        raise ValueError(f"{field} must not contain credentials; put them in the connection's secrets")
    if parts.query or parts.fragment:
        raise ValueError(f"{field} must not have a query or fragment")
    host = parts.hostname
    if ":" not in host and _NUMERIC_HOST.match(host) and not _is_dotted_quad(host):
        raise ValueError(
            f"{field}: '{host}' is an IP address in a non-standard notation; write it as a.b.c.d"
        )
    try:
        parts.port  # noqa: B018 - raises for a bad port
    except ValueError as error:
        raise ValueError(f"{field}: {error}") from None
    return url.strip().rstrip("/")


def _is_dotted_quad(host: str) -> bool:
    pieces = host.rstrip(".").split(".")
    return len(pieces) == 4 and all(p.isdigit() and str(int(p)) == p and int(p) < 256 for p in pieces)


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    for name in headers:
        if _CREDENTIAL_HEADER.search(name):
            raise ValueError(f"header '{name}' looks like a credential; configure it as auth with a secret")
        if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", name):
            raise ValueError(f"'{name}' is not a header name")
    return headers


class HttpAuth(_Settings):
    type: Literal["none", "bearer", "basic", "header"] = Field(
        "none",
        description="bearer: secret `token`; basic: `username` + secret `password`; "
        "header: secret `api_key` in the header named `header`",
    )
    username: str | None = None
    header: str = Field("X-API-Key", pattern=r"^[A-Za-z0-9-]{1,64}$")


class HttpSettings(_Settings):
    base_url: str = Field(..., description="Every call goes to this host, under this path")
    auth: HttpAuth = Field(default_factory=HttpAuth)  # type: ignore[arg-type]
    allowed_methods: list[str] = Field(default_factory=lambda: ["GET"])
    allowed_paths: list[str] = Field(
        default_factory=lambda: ["/"], description="Path prefixes flows may call"
    )
    timeout_s: float = Field(10.0, gt=0, le=120)
    max_response_bytes: int = Field(1024 * 1024, ge=1, le=20 * 1024 * 1024)
    retries: int = Field(2, ge=0, le=5, description="Retries of idempotent methods (GET, PUT, DELETE, ...)")
    headers: dict[str, str] = Field(default_factory=dict, description="Fixed, non-secret headers")
    verify_tls: bool = True
    test_path: str = Field("/", description="A harmless GET for the connection test")
    on_uncertain: OnUncertain = Field("ask", description=ON_UNCERTAIN_HELP)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return checked_base_url(value)

    @field_validator("allowed_methods")
    @classmethod
    def _methods(cls, value: list[str]) -> list[str]:
        methods = [method.upper() for method in value]
        unknown = [method for method in methods if method not in METHODS]
        if unknown or not methods:
            raise ValueError(f"allowed_methods: choose from {', '.join(METHODS)}")
        return methods

    @field_validator("allowed_paths", "test_path")
    @classmethod
    def _paths(cls, value: Any) -> Any:
        for path in [value] if isinstance(value, str) else value:
            if not path.startswith("/") or ".." in path or "//" in path:
                raise ValueError(f"'{path}' must be an absolute path like /api/tasks (no .. or //)")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_headers(value)


class WebhookSettings(_Settings):
    url: str = Field(..., description="The URL that receives a POST with the JSON body")
    timeout_s: float = Field(10.0, gt=0, le=120)
    max_response_bytes: int = Field(64 * 1024, ge=1, le=20 * 1024 * 1024)
    headers: dict[str, str] = Field(default_factory=dict)
    verify_tls: bool = True
    on_uncertain: OnUncertain = Field("ask", description=ON_UNCERTAIN_HELP)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return checked_base_url(value, "url")

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_headers(value)

    def as_http(self) -> HttpSettings:
        parts = urlsplit(self.url)
        path = parts.path or "/"
        auth = HttpAuth(type="bearer")
        return HttpSettings(
            base_url=f"{parts.scheme}://{parts.netloc}",
            auth=auth,
            allowed_methods=["POST"],
            allowed_paths=[path],
            timeout_s=self.timeout_s,
            max_response_bytes=self.max_response_bytes,
            retries=0,
            headers=self.headers,
            verify_tls=self.verify_tls,
            test_path=path,
            on_uncertain=self.on_uncertain,
        )


class EmailSettings(_Settings):
    host: str = Field(..., min_length=1, max_length=253)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = Field(None, description="SMTP login; the password is the secret `password`")
    sender: str = Field(..., description="From address, e.g. vertrieb@firma.de")
    allowed_domains: list[str] = Field(..., min_length=1, description="Recipients must be in these domains")
    timeout_s: float = Field(15.0, gt=0, le=120)
    max_recipients: int = Field(20, ge=1, le=200)
    verify_tls: bool = True
    on_uncertain: OnUncertain = Field("ask", description=ON_UNCERTAIN_HELP)

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        domains = [domain.strip().lower().lstrip("@") for domain in value]
        if any(not re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]+", domain) for domain in domains):
            raise ValueError("allowed_domains are domains like firma.de")
        return domains

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", value):
            raise ValueError("sender must be an e-mail address")
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if _NUMERIC_HOST.match(value) and not _is_dotted_quad(value):
            raise ValueError(f"'{value}' is an IP address in a non-standard notation; write it as a.b.c.d")
        return value


# What a PostgreSQL URL's query may say; anything else (host, hostaddr, port, service,
# passfile, ...) could send the connection somewhere the egress guard did not check.
POSTGRES_QUERY_KEYS = frozenset({"ssl", "sslmode"})


class SqlSettings(_Settings):
    url: str = Field(..., description="e.g. postgresql://reader@db.intern/erp or sqlite:///data/offers.db")
    max_rows: int = Field(500, ge=1, le=10_000)
    timeout_s: float = Field(10.0, gt=0, le=300)

    @model_validator(mode="after")
    def _url(self) -> SqlSettings:
        try:
            url = make_url(self.url)
        except Exception:
            raise ValueError(
                "url is not a database URL (sqlite:///file.db, postgresql://user@host/db)"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"sql connections support sqlite and postgresql, not {url.get_backend_name()}")
        if url.password:
            raise ValueError("the url must not contain the password; put it in the secret `password`")
        if url.get_backend_name() == "sqlite" and not url.database:
            raise ValueError("a sqlite url needs a file (sqlite:///path/to/file.db)")
        if url.get_backend_name() == "sqlite" and url.query:
            raise ValueError("a sqlite url takes no options (?...); it is always opened read-only")
        extra = sorted(set(url.query) - POSTGRES_QUERY_KEYS)
        if url.get_backend_name() == "postgresql" and extra:
            raise ValueError(
                f"the url may not set {', '.join(extra)}; options allowed: "
                f"{', '.join(sorted(POSTGRES_QUERY_KEYS))} (host and port belong in the url itself)"
            )
        return self


SETTINGS_MODELS: dict[str, type[_Settings]] = {
    "http": HttpSettings,
    "webhook": WebhookSettings,
    "email": EmailSettings,
    "sql": SqlSettings,
}


class SettingsInvalid(ValueError):
    """Settings that do not fit the kind; `problems` names each field."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__(
            "; ".join(f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in problems)
        )
        self.problems = problems


def parse_settings(kind: str, settings: dict[str, Any]) -> Any:
    """The kind's settings model, or `SettingsInvalid` naming every bad field."""
    if kind not in SETTINGS_MODELS:
        raise SettingsInvalid(
            [{"field": "kind", "message": f"unknown kind '{kind}'; kinds: {', '.join(KINDS)}"}]
        )
    try:
        return SETTINGS_MODELS[kind].model_validate(settings)
    except ValidationError as error:
        raise SettingsInvalid(
            [
                {
                    "field": "settings." + ".".join(str(part) for part in item["loc"])
                    if item["loc"]
                    else "settings",
                    "message": item["msg"].removeprefix("Value error, "),
                }
                for item in error.errors()
            ]
        ) from None


def check_secret_names(kind: str, names: list[str]) -> None:
    allowed = SECRET_NAMES.get(kind, ())
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise SettingsInvalid(
            [
                {
                    "field": f"secrets.{name}",
                    "message": f"a {kind} connection has the secrets {', '.join(allowed)}",
                }
                for name in unknown
            ]
        )
