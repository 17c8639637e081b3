"""Secrets at rest: Fernet, the key from the environment or a 0600 key file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from runtime.connections.secrets import ENV_KEY, KEY_FILE, MASK, SecretBox, SecretKeyError, load_key, masked


def test_a_key_file_is_created_once_with_0600_and_reused(tmp_path: Path) -> None:
    key = load_key(tmp_path / "data", env={})
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(tmp_path / "data", env={}) == key
    Fernet(key)  # a valid key


def test_the_environment_wins_over_the_key_file(tmp_path: Path) -> None:
    configured = Fernet.generate_key()
    assert load_key(tmp_path, env={ENV_KEY: configured.decode()}) == configured
    assert not (tmp_path / KEY_FILE).exists()


def test_a_malformed_key_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match=r"not a Fernet key.*generate_key"):
        load_key(tmp_path, env={ENV_KEY: "too-short"})


def test_sealed_secrets_do_not_contain_the_value_and_open_again() -> None:
    box = SecretBox(Fernet.generate_key())
    token = box.seal({"token": "s3cr3t-value-123"})
    assert "s3cr3t" not in token
    assert box.open(token) == {"token": "s3cr3t-value-123"}
    assert box.open(None) == {}
    assert "key" not in repr(box).replace("<key hidden>", "")


def test_another_key_does_not_open_them() -> None:
    token = SecretBox(Fernet.generate_key()).seal({"password": "pw"})
    with pytest.raises(SecretKeyError, match="enter the connection's secrets again"):
        SecretBox(Fernet.generate_key()).open(token)


def test_rotation_re_seals_under_the_new_key() -> None:
    old, new = SecretBox(Fernet.generate_key()), SecretBox(Fernet.generate_key())
    assert new.open(old.rotate(old.seal({"a": "b"}), new)) == {"a": "b"}


def test_masked_shows_only_that_a_secret_is_set_and_when() -> None:
    shown = masked({"token": None}, {"token": "2026-01-02T03:04:05+00:00"})
    assert shown == {"token": {"set": True, "display": MASK, "changed_at": "2026-01-02T03:04:05+00:00"}}
