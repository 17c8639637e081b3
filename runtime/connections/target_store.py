"""Storing a connection's test target: settings of the connection's kind, and secrets of
its own, sealed like the production ones and never shown again (`runtime.connections.targets`
says what runs do with it).

    {"settings": {...}, "secrets": {"password": "..."}}   set, or change (settings merge
                                                          over the stored ones, a null
                                                          secret removes it)
    null                                                  remove the test target
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.connections.kinds import SettingsInvalid, check_secret_names, parse_settings
from runtime.connections.models import ConnectionRow
from runtime.connections.secrets import SecretBox, masked
from runtime.db.models import utcnow
from runtime.errors import BadRequest

__all__ = ["apply_test_target", "test_target_json"]


def test_target_json(row: ConnectionRow) -> dict[str, Any] | None:
    """What the API shows: the settings, and of the secrets only that they are set."""
    if row.test_settings is None:
        return None
    changed = row.test_secrets_changed or {}
    return {"settings": row.test_settings, "secrets": masked(dict.fromkeys(changed), changed)}


def _validated(kind: str, settings: Mapping[str, Any], secrets: Mapping[str, Any]) -> dict[str, Any]:
    try:
        parsed = parse_settings(kind, dict(settings))
        check_secret_names(kind, list(secrets))
    except SettingsInvalid as error:
        problems = [{**problem, "field": "test_target." + problem["field"]} for problem in error.problems]
        raise BadRequest(
            "the test target: " + str(error), code="invalid_connection", reason="test_target", errors=problems
        ) from None
    for name, value in secrets.items():
        if value is not None and (not isinstance(value, str) or not value or len(value) > 8192):
            raise BadRequest(
                f"test target secret '{name}' must be a non-empty text (or null to remove it)",
                code="invalid_connection",
                reason="test_target_secret",
                secret=name,
            )
    return parsed.model_dump(mode="json")  # type: ignore[no-any-return]


def apply_test_target(row: ConnectionRow, box: SecretBox, target: Mapping[str, Any] | None) -> str:
    """Set, change or (None) remove the row's test target; what happened, for the audit."""
    if target is None:
        had = row.test_settings is not None
        row.test_settings = row.sealed_test_secrets = row.test_secrets_changed = None
        return "removed" if had else "none"
    settings = dict(target.get("settings") or {})
    secrets: Mapping[str, Any] = target.get("secrets") or {}
    existed = row.test_settings is not None
    merged = {**(row.test_settings or {}), **settings}
    row.test_settings = _validated(row.kind, merged, secrets)
    current = box.open(row.sealed_test_secrets)
    changed_at = dict(row.test_secrets_changed or {})
    now = utcnow().isoformat()
    for name, value in secrets.items():
        if value is None:
            current.pop(name, None)
            changed_at.pop(name, None)
        else:
            current[name] = value
            changed_at[name] = now
    row.sealed_test_secrets = box.seal(current) if current else None
    row.test_secrets_changed = changed_at
    return "changed" if existed else "set"
