"""Verified tokens are remembered by their exact text (`runtime.api.auth.VerifiedTokens`):
an altered token is verified afresh, and expiry is checked at every use."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from litestar.exceptions import NotAuthorizedException

from runtime.api.auth import VerifiedTokens

SECRET = "test-secret-" + "x" * 40


def encoded(*, expires_in: timedelta, sub: str = "u1") -> str:
    return VerifiedTokens(sub=sub, exp=datetime.now(UTC) + expires_in).encode(SECRET, "HS256")


def test_a_verified_token_is_the_same_on_the_next_request() -> None:
    token = encoded(expires_in=timedelta(minutes=5))
    first = VerifiedTokens.decode(token, SECRET, "HS256")
    assert first.sub == "u1"
    assert VerifiedTokens.decode(token, SECRET, "HS256") is first


def test_an_altered_or_wrongly_signed_token_is_refused_after_the_real_one_was_seen() -> None:
    token = encoded(expires_in=timedelta(minutes=5))
    VerifiedTokens.decode(token, SECRET, "HS256")
    header, payload, signature = token.split(".")
    forged_signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(NotAuthorizedException):
        VerifiedTokens.decode(f"{header}.{payload}.{forged_signature}", SECRET, "HS256")
    other_user = encoded(expires_in=timedelta(minutes=5), sub="u2").split(".")[1]
    with pytest.raises(NotAuthorizedException):
        VerifiedTokens.decode(f"{header}.{other_user}.{signature}", SECRET, "HS256")
    with pytest.raises(NotAuthorizedException):
        VerifiedTokens.decode(token, "another-secret-" + "y" * 40, "HS256")


def test_a_remembered_token_expires_on_time() -> None:
    token = encoded(expires_in=timedelta(seconds=1))
    VerifiedTokens.decode(token, SECRET, "HS256")
    time.sleep(1.1)
    with pytest.raises(NotAuthorizedException):
        VerifiedTokens.decode(token, SECRET, "HS256")
    with pytest.raises(NotAuthorizedException):  # and stays refused
        VerifiedTokens.decode(token, SECRET, "HS256")
