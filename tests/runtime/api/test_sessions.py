"""Sessions over HTTP: what a token carries, signing out, password changes and resets, and
roles taken away -- each ends the tokens it should, at the next request, and no others.

(Across two runtime processes: test_sessions_processes.py.)
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import AuditEntry, AuthSession
from runtime.users.service import add_user
from runtime.users.sessions import AUDIENCE
from tests.support.api import PASSWORD
from tests.support.scenario import (  # noqa: F401 (fixtures sc, shared_app)
    Scenario,
    expect,
    sc_fixture,
    shared_app_fixture,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
NEW_PASSWORD = "a-new-horse-battery"


async def sign_in(sc: Scenario, username: str, password: str = PASSWORD) -> str:
    response = await sc.api.client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


async def me_status(sc: Scenario, token: str) -> int:
    return (await sc.api.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status_code


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def audit_actions(sc: Scenario, since: int) -> list[tuple[str, dict[str, Any]]]:
    async def read(session: AsyncSession) -> list[tuple[str, dict[str, Any]]]:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.seq > since)
            .order_by(AuditEntry.seq)
        )
        return [(action, detail) for action, detail in rows]

    return sc.in_app(read)


async def test_a_token_names_its_issuer_audience_and_session(sc: Scenario) -> None:
    await sc.add_person("tessa", ("user", "sales"))
    token = await sign_in(sc, "tessa")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == sc.api.settings.token_issuer == "dirigent"
    assert claims["aud"] == AUDIENCE
    assert {"exp", "iat", "sub", "jti"} <= set(claims)

    async def session_of(session: AsyncSession) -> AuthSession | None:
        return await session.get(AuthSession, claims["jti"])

    stored = sc.in_app(session_of)
    assert stored is not None and stored.user_id == claims["sub"] and stored.revoked_at is None


async def test_signing_out_ends_this_token_only(sc: Scenario) -> None:
    await sc.add_person("ottilie", ("user", "sales"))
    first, second = await sign_in(sc, "ottilie"), await sign_in(sc, "ottilie")
    assert await me_status(sc, first) == 200  # verified once: remembered by the token cache
    seq = await sc.audit_count()

    answer = await sc.api.client.post("/api/auth/logout", headers=bearer(first))
    assert answer.status_code == 200 and answer.json() == {"signed_out": True}

    assert await me_status(sc, first) == 401
    assert (await sc.api.client.post("/api/auth/logout", headers=bearer(first))).status_code == 401
    assert await me_status(sc, second) == 200
    assert [action for action, _ in audit_actions(sc, seq)] == ["auth.logout"]


async def test_signing_out_needs_a_token(sc: Scenario) -> None:
    answer = await sc.api.client.post("/api/auth/logout")
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"


async def test_changing_ones_password_ends_every_older_token_and_signs_in_anew(sc: Scenario) -> None:
    await sc.add_person("paula", ("champion", "sales"))
    older = [await sign_in(sc, "paula"), await sign_in(sc, "paula")]
    seq = await sc.audit_count()

    changed = await sc.api.client.post(
        "/api/auth/password",
        headers=bearer(older[0]),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    body = expect(changed, 200)
    assert body["user"]["username"] == "paula" and body["token_type"] == "Bearer"
    assert [await me_status(sc, token) for token in older] == [401, 401]
    assert await me_status(sc, body["token"]) == 200
    assert (
        await sc.api.client.post("/api/auth/login", json={"username": "paula", "password": PASSWORD})
    ).status_code == 401
    await sign_in(sc, "paula", NEW_PASSWORD)
    changes = [detail for action, detail in audit_actions(sc, seq) if action == "user.password_changed"]
    assert changes == [{"username": "paula", "sessions_ended": 3}]  # add_person's sign-in and ours


async def test_a_wrong_current_password_or_a_short_new_one_changes_nothing(sc: Scenario) -> None:
    await sc.add_person("quirin", ("user", "sales"))
    token = await sign_in(sc, "quirin")
    wrong = await sc.api.client.post(
        "/api/auth/password",
        headers=bearer(token),
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "wrong_password"
    short = await sc.api.client.post(
        "/api/auth/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "kurz"},
    )
    assert short.status_code == 400 and short.json()["error"] == "weak_password"
    assert await me_status(sc, token) == 200
    await sign_in(sc, "quirin")  # the old password still holds


async def test_an_admin_resets_a_password_and_the_persons_tokens_end(sc: Scenario) -> None:
    await sc.add_person("rita", ("user", "sales"))
    token = await sign_in(sc, "rita")
    refused = await sc.as_("champion").post("/api/users/rita/password", json={"new_password": NEW_PASSWORD})
    assert refused.status_code == 403
    assert (
        await sc.as_("admin").post("/api/users/nobody-here/password", json={"new_password": NEW_PASSWORD})
    ).status_code == 404
    reset = expect(
        await sc.as_("admin").post("/api/users/rita/password", json={"new_password": NEW_PASSWORD}), 200
    )
    assert reset == {"username": "rita", "sessions_ended": 2}  # add_person's sign-in and ours
    assert await me_status(sc, token) == 401
    await sign_in(sc, "rita", NEW_PASSWORD)


async def test_taking_a_role_away_ends_the_persons_tokens(sc: Scenario) -> None:
    await sc.add_person("sven", ("champion", "sales"), ("board", None))
    token = await sign_in(sc, "sven")
    assert (
        await sc.api.client.delete(
            "/api/users/sven/roles/champion",
            params={"workspace": "sales"},
            headers=bearer(sc.api.tokens["champion"]),
        )
    ).status_code == 403
    removed = await sc.api.client.delete(
        "/api/users/sven/roles/champion",
        params={"workspace": "sales"},
        headers=bearer(sc.api.tokens["admin"]),
    )
    body = expect(removed, 200)
    assert body == {"username": "sven", "role": "champion", "workspace": "sales", "sessions_ended": 2}
    assert await me_status(sc, token) == 401
    again = await sign_in(sc, "sven")
    me = expect(await sc.api.client.get("/api/me", headers=bearer(again)), 200)
    assert me["workspaces"] == [] and me["global_roles"] == ["board"]
    # A role not held: 409, and nobody is signed out for it.
    twice = await sc.api.client.delete(
        "/api/users/sven/roles/champion",
        params={"workspace": "sales"},
        headers=bearer(sc.api.tokens["admin"]),
    )
    assert twice.status_code == 409 and twice.json()["error"] == "role_not_held"
    assert await me_status(sc, again) == 200
    # A global role.
    board = await sc.api.client.delete("/api/users/sven/roles/board", headers=bearer(sc.api.tokens["admin"]))
    assert expect(board, 200)["sessions_ended"] == 1
    assert await me_status(sc, again) == 401


async def test_setting_another_password_on_the_command_line_ends_the_older_tokens(sc: Scenario) -> None:
    """`dirigent user add NAME --password ...` on an existing user sets its password."""
    await sc.add_person("uwe", ("user", "sales"))
    token = await sign_in(sc, "uwe")
    # The same password (another role given): the sessions stay.
    sc.in_app(lambda session: add_user(session, "uwe", PASSWORD, "champion", "sales"), write=True)
    assert await me_status(sc, token) == 200
    sc.in_app(lambda session: add_user(session, "uwe", NEW_PASSWORD, "user", "sales"), write=True)
    assert await me_status(sc, token) == 401
