"""The connection form per kind, and its values both ways (pure functions, no Reflex).

The form is uncontrolled: each setting is a field named `s:<path>` (`s:auth.type`), each
secret a password field named `secret:<name>`. Secrets are write-only: the form never
holds a stored one; an empty secret field leaves the stored secret as it is. The test
target (what the editor's test runs call instead of production) has the same fields
under `t:<path>` and `tsecret:<name>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from studio.api_types import ConnectionOut
from studio.i18n import describe_problem, translate

KINDS = ("http", "webhook", "email", "sql")
AUTH_TYPES = ("none", "bearer", "basic", "header")
ON_UNCERTAIN = ("ask", "retry", "fail")
SETTING, SECRET = "s:", "secret:"
TEST_SETTING, TEST_SECRET = "t:", "tsecret:"


@dataclass(frozen=True)
class Field:
    path: str  # "base_url", "auth.type"
    label: str  # i18n key
    widget: str = "text"  # text | number | list | select | switch
    placeholder: str = ""
    options: tuple[str, ...] = ()
    auth: str = ""  # shown only for this HTTP auth type


FIELDS: dict[str, tuple[Field, ...]] = {
    "http": (
        Field("base_url", "conn_base_url", placeholder="https://crm.firma.de/api"),
        Field("auth.type", "conn_auth", "select", options=AUTH_TYPES),
        Field("auth.username", "conn_username", auth="basic"),
        Field("auth.header", "conn_header", placeholder="X-API-Key", auth="header"),
        Field("allowed_methods", "conn_methods", "list", placeholder="GET, POST"),
        Field("allowed_paths", "conn_paths", "list", placeholder="/api/tasks, /api/offers"),
        Field("test_path", "conn_test_path", placeholder="/health"),
        Field("timeout_s", "conn_timeout", "number", placeholder="10"),
        Field("verify_tls", "conn_verify_tls", "switch"),
        Field("on_uncertain", "conn_on_uncertain", "select", options=ON_UNCERTAIN),
    ),
    "webhook": (
        Field("url", "conn_url", placeholder="https://hooks.firma.de/dirigent"),
        Field("timeout_s", "conn_timeout", "number", placeholder="10"),
        Field("verify_tls", "conn_verify_tls", "switch"),
        Field("on_uncertain", "conn_on_uncertain", "select", options=ON_UNCERTAIN),
    ),
    "email": (
        Field("host", "conn_smtp_host", placeholder="mail.firma.de"),
        Field("port", "conn_smtp_port", "number", placeholder="587"),
        Field("security", "conn_smtp_security", "select", options=("starttls", "ssl", "none")),
        Field("username", "conn_username"),
        Field("sender", "conn_sender", placeholder="vertrieb@firma.de"),
        Field("allowed_domains", "conn_domains", "list", placeholder="firma.de, partner.de"),
        Field("verify_tls", "conn_verify_tls", "switch"),
        Field("on_uncertain", "conn_on_uncertain", "select", options=ON_UNCERTAIN),
    ),
    "sql": (
        Field("url", "conn_db_url", placeholder="postgresql://leser@db.intern/erp"),
        Field("max_rows", "conn_max_rows", "number", placeholder="500"),
        Field("timeout_s", "conn_timeout", "number", placeholder="10"),
    ),
}
# Secrets per kind; HTTP shows the one its auth type uses.
SECRETS: dict[str, tuple[tuple[str, str], ...]] = {
    "http": (("token", "bearer"), ("password", "basic"), ("api_key", "header")),
    "webhook": (("signing_key", ""), ("token", "")),
    "email": (("password", ""),),
    "sql": (("password", ""),),
}
DEFAULTS: dict[str, dict[str, str]] = {
    "http": {
        "auth.type": "none",
        "allowed_methods": "GET",
        "allowed_paths": "/",
        "test_path": "/",
        "verify_tls": "on",
        "on_uncertain": "ask",
    },
    "webhook": {"verify_tls": "on", "on_uncertain": "ask"},
    "email": {"port": "587", "security": "starttls", "verify_tls": "on", "on_uncertain": "ask"},
    "sql": {},
}
TARGET = {"http": "base_url", "webhook": "url", "email": "host", "sql": "url"}


def _get(settings: dict[str, Any], path: str) -> Any:
    value: Any = settings
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def form_values(kind: str, settings: dict[str, Any] | None) -> dict[str, str]:
    """A connection's settings as the form's default values (`path -> text`)."""
    if not settings:
        return dict(DEFAULTS.get(kind, {}))
    values: dict[str, str] = {}
    for field in FIELDS.get(kind, ()):
        value = _get(settings, field.path)
        if field.widget == "switch":
            values[field.path] = "on" if value else ""
        elif field.widget == "list":
            values[field.path] = ", ".join(str(item) for item in value or [])
        elif value is not None:
            values[field.path] = f"{value:g}" if isinstance(value, float) else str(value)
    return values


def _number(text: str) -> int | float:
    number = float(text.replace(",", "."))
    return int(number) if number.is_integer() else number


def settings_from_form(
    kind: str, form: dict[str, Any], prefix: str = SETTING
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings the form describes (under `prefix`: production or the test target), and
    the problems it has (`path -> i18n key`)."""
    settings: dict[str, Any] = {}
    problems: dict[str, str] = {}
    auth_type = str(form.get(f"{prefix}auth.type") or "none")
    for field in FIELDS.get(kind, ()):
        if field.auth and field.auth != auth_type:
            continue
        raw = form.get(f"{prefix}{field.path}")
        text = "" if raw is None else str(raw).strip()
        value: Any
        if field.widget == "switch":
            value = text not in ("", "off", "false")
        elif not text:
            continue
        elif field.widget == "list":
            value = [item.strip() for item in re.split(r"[,\n]", text) if item.strip()]
        elif field.widget == "number":
            try:
                value = _number(text)
            except ValueError:
                problems[field.path] = "conn_not_a_number"
                continue
        else:
            value = text
        head, _, tail = field.path.partition(".")
        if tail:
            settings.setdefault(head, {})[tail] = value
        else:
            settings[head] = value
    return settings, problems


def secrets_from_form(kind: str, form: dict[str, Any], prefix: str = SECRET) -> dict[str, str]:
    """The secrets typed in (empty ones are left out: the stored secret stays)."""
    names = [name for name, _ in SECRETS.get(kind, ())]
    return {
        name: str(form.get(f"{prefix}{name}")) for name in names if str(form.get(f"{prefix}{name}") or "")
    }


def test_target_from_form(
    kind: str, form: dict[str, Any], *, enabled: bool, stored: bool
) -> tuple[dict[str, Any] | bool | None, dict[str, str]]:
    """What to send as `test_target`: a dict (set or change), None (remove a stored one), or
    False (leave it out); and the form's problems (`t:path -> i18n key`)."""
    if not enabled:
        return (None if stored else False), {}
    settings, problems = settings_from_form(kind, form, TEST_SETTING)
    target = {"settings": settings, "secrets": secrets_from_form(kind, form, TEST_SECRET)}
    return target, {f"{TEST_SETTING}{path}": key for path, key in problems.items()}


def connection_row(connection: ConnectionOut) -> dict[str, str]:
    kind = str(connection.get("kind") or "")
    settings = connection.get("settings") or {}
    target = str(settings.get(TARGET.get(kind, ""), "") or "")
    if kind == "email" and settings.get("port"):
        target = f"{target}:{settings['port']}"
    return {
        "id": str(connection["id"]),
        "name": str(connection.get("name") or ""),
        "kind": kind,
        "target": target,
        "secrets": ", ".join(sorted(connection.get("secrets") or {})),
        "test_target": "true" if connection.get("test_target") else "",
        "updated": str(connection.get("updated_at") or connection.get("created_at") or "")[:16].replace(
            "T", " "
        ),
    }


def field_problems(errors: list[dict[str, Any]], lang: str = "de") -> dict[str, str]:
    """The runtime's `invalid_connection` errors by form path (`settings.auth.type` -> `auth.type`),
    each said by its code in `lang`."""
    found: dict[str, str] = {}
    for error in errors:
        path = str(error.get("field") or "")
        if path.startswith("test_target.settings."):
            key = TEST_SETTING + path.removeprefix("test_target.settings.")
        else:
            key = path.removeprefix("settings.") if path.startswith("settings.") else path
        found[key or "_form"] = describe_problem(error, lang)
    return found


# What a connection test answered, in words: (pattern, i18n key); the pattern's groups fill it.
TEST_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^(?P<host>\S+) answered HTTP (?P<status>\d+)", "conn_test_http"),
    (r"^(?P<host>\S+) is an allowed address", "conn_test_address_ok"),
    (r"^the SMTP server accepted", "conn_test_smtp_ok"),
    (r"^the database answered", "conn_test_sql_ok"),
    (r"^outbound connections to (?P<host>\S+) are not allowed", "conn_test_egress"),
    (r"may only reach .*, not (?P<host>\S+)", "conn_test_egress"),
    (r"^the host name '(?P<host>[^']+)' (does not resolve|has no address)", "conn_test_dns"),
    (r"^(?P<host>\S+) did not answer in time", "conn_test_timeout"),
    (r"^cannot (reach|connect to) (?P<host>[^\s(]+)", "conn_test_unreachable"),
    (r"^(?P<host>\S+) refused the login", "conn_test_login"),
    (r"SQLite file .* does not exist", "conn_test_sqlite_missing"),
)


def test_result_text(result: dict[str, Any], lang: str) -> str:
    message = str(result.get("message") or "")
    for pattern, key in TEST_PATTERNS:
        found = re.search(pattern, message)
        if found:
            values = {name: value for name, value in found.groupdict().items() if value}
            sentence = translate(key, lang, **values)
            break
    else:
        sentence = translate("conn_test_other", lang, message=message)
    lead = translate("conn_test_passed" if result.get("ok") else "conn_test_failed", lang)
    duration = result.get("duration_ms")
    suffix = f" ({float(duration):.0f} ms)" if isinstance(duration, (int, float)) else ""
    return f"{lead}: {sentence}{suffix}"
