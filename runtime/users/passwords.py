"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106's recommendation)."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


def dummy_password_hash() -> str:
    """Verifying against this when the user does not exist keeps login timing uniform.

    Made on first use, not at import: one Argon2 hash costs ≈ 50-100 ms of CPU and 64 MiB,
    which every process (and every CLI command) would pay at start-up otherwise. Made by
    the hasher that verifies (its cost is in the hash): one of another cost would make
    unknown names quicker to refuse than known ones.
    """
    return _dummy_hash_of(_HASHER)


@functools.lru_cache(maxsize=4)
def _dummy_hash_of(hasher: PasswordHasher) -> str:
    return hasher.hash("dirigent-timing-equaliser")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or dummy_password_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
