"""Connection secrets, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from `DIRIGENT_SECRET_KEY` (a Fernet key: 32 url-safe base64 bytes), or
from the file `DIRIGENT_SECRET_KEY_FILE` names, by default `secret.key` in the data dir;
the file is created on first start with 0600 permissions. Keep it apart from the database
(another disk, a secrets store mounted read-only) and back it up separately: a stolen
database backup without the key does not give away the secrets. Losing the key loses the
secrets (the connections stay, their secrets must be entered again); rotating it means
decrypting with the old and encrypting with the new (`SecretBox(old).rotate(new)`).

A secret is never shown again once stored: the API answers `{"set": true, "display": "••••",
"changed_at": ...}` per secret name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from runtime.private_files import create_once, private_file

ENV_KEY = "DIRIGENT_SECRET_KEY"
ENV_KEY_FILE = "DIRIGENT_SECRET_KEY_FILE"
KEY_FILE = "secret.key"
MASK = "••••"


class SecretKeyError(RuntimeError):
    """The secret key is malformed, or does not decrypt what was stored with another key."""


def load_key(
    data_dir: Path | str, env: Mapping[str, str] | None = None, key_file: Path | str | None = None
) -> bytes:
    """`DIRIGENT_SECRET_KEY`, or the key file (`key_file`, else `DIRIGENT_SECRET_KEY_FILE`,
    else `secret.key` in `data_dir`), created 0600 when missing."""
    environ = os.environ if env is None else env
    configured = environ.get(ENV_KEY, "").strip()
    if configured:
        return _checked(configured.encode(), f"{ENV_KEY}")
    named = key_file or environ.get(ENV_KEY_FILE, "").strip()
    path = Path(named).expanduser() if named else Path(data_dir) / KEY_FILE
    if path.exists():
        private_file(path)  # narrowed, if it was made wider
        return _checked(path.read_bytes().strip(), str(path))
    # Created once: two processes starting at once must not write two different keys.
    return _checked(create_once(path, Fernet.generate_key()).strip(), str(path))


def _checked(key: bytes, where: str) -> bytes:
    try:
        Fernet(key)
    except ValueError:
        raise SecretKeyError(
            f"the secret key in {where} is not a Fernet key (32 url-safe base64-encoded bytes; "
            "make one with: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        ) from None
    return key


class SecretBox:
    """Encrypts a dict of secrets into one token and back."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def __repr__(self) -> str:  # never the key
        return "SecretBox(<key hidden>)"

    def seal(self, secrets: Mapping[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(dict(secrets), sort_keys=True).encode()).decode()

    def open(self, token: str | None) -> dict[str, str]:
        if not token:
            return {}
        try:
            return json.loads(self._fernet.decrypt(token.encode()))  # type: ignore[no-any-return]
        except InvalidToken:
            raise SecretKeyError(
                "stored secrets do not decrypt with the current secret key (was DIRIGENT_SECRET_KEY "
                "or the data dir's secret.key changed?); enter the connection's secrets again"
            ) from None

    def rotate(self, token: str, new: SecretBox) -> str:
        return new.seal(self.open(token))


def masked(names: Mapping[str, Any], changed_at: Mapping[str, datetime | str | None]) -> dict[str, Any]:
    """What the API shows of stored secrets: that they are set, and when they last changed."""
    result: dict[str, Any] = {}
    for name in sorted(names):
        moment = changed_at.get(name)
        result[name] = {
            "set": True,
            "display": MASK,
            "changed_at": moment.isoformat() if isinstance(moment, datetime) else moment,
        }
    return result
