"""Verified tokens are remembered by their exact text (`runtime.api.auth.VerifiedTokens`):
an altered token is verified afresh, and expiry is checked at every use."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from litestar.exceptions import NotAuthorizedException
from litestar.testing import AsyncTestClient

from runtime.api.auth import VerifiedTokens
from runtime.app import create_app
from tests.support.api import PASSWORD, api_settings, seed_people

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


async def test_two_apps_in_one_process_do_not_share_the_tokens_they_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each app remembers the tokens it verified for itself: a token that one app verified
    is verified afresh (a PyJWT signature check) by another app in the same process, not
    taken from the first app's memory."""
    checks: list[Any] = []
    real_decode = jwt.decode

    def counted_decode(*args: Any, **kwargs: Any) -> Any:
        checks.append(kwargs.get("jwt", args[0] if args else None))
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted_decode)
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    settings = api_settings(tmp_path, url)
    first, second = create_app(settings, background=False), create_app(settings, background=False)
    async with AsyncTestClient(app=first) as a, AsyncTestClient(app=second) as b:
        await seed_people(url)
        login = {"username": "admin", "password": PASSWORD}
        bearer = {"Authorization": f"Bearer {(await a.post('/api/auth/login', json=login)).json()['token']}"}
        assert (await a.get("/api/workspaces", headers=bearer)).status_code == 200
        assert (await a.get("/api/workspaces", headers=bearer)).status_code == 200
        assert len(checks) == 1  # the first app remembers what it verified
        assert (await b.get("/api/workspaces", headers=bearer)).status_code == 200
        assert len(checks) == 2  # the second app checks the signature itself
        assert (await b.get("/health", headers=bearer)).json()["database"] == "sqlite"  # caller_of
        assert len(checks) == 2
