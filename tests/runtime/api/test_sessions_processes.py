"""Sessions and sign-in throttling across two real runtime processes on one database.

Two `dirigent serve` processes (own memory, own token cache) share the test's database:
SQLite here, PostgreSQL when the suite runs with `DIRIGENT_TEST_DATABASE_URL`. What one
process decides about a session or a sign-in counts in the other at its next request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from runtime.db.database import Database
from runtime.db.migrate import upgrade
from runtime.db.models import AuditEntry
from runtime.users.service import add_user
from tests.support.runtime_processes import RuntimeProcess
from tests.support.scenario import _module_database

pytestmark = pytest.mark.slow

PASSWORD = "correct-horse-battery"
PEOPLE = {
    "ada": ("champion", "sales"),
    "bob": ("champion", "sales"),
    "cem": ("champion", "sales"),
    "dora": ("user", "sales"),
    "emil": ("champion", "sales"),
    "root": ("admin", None),
    "rex": ("admin", None),
}


async def _seed(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db.write_engine)
        async with db.write() as session:
            for name, (role, workspace) in PEOPLE.items():
                await add_user(session, name, PASSWORD, role, workspace)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def runtimes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RuntimeProcess, RuntimeProcess]]:
    tmp: Path = tmp_path_factory.mktemp("two-runtimes")
    with _module_database(tmp) as url:
        asyncio.run(_seed(url))
        env = {
            "DIRIGENT_DATABASE_URL": url,
            "DIRIGENT_DATA_DIR": str(tmp / "data"),
            "DIRIGENT_JWT_SECRET": "two-processes-" + "s" * 40,
            "DIRIGENT_LOGIN_MAX_FAILURES": "5",
            "DIRIGENT_LOGIN_LOCKOUT_S": "60",
        }
        with RuntimeProcess(env) as first, RuntimeProcess(env) as second:
            yield first, second


def login(runtime: RuntimeProcess, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(
        f"{runtime.url}/api/auth/login", json={"username": username, "password": password}, timeout=30
    )


def token_of(runtime: RuntimeProcess, username: str, password: str = PASSWORD) -> str:
    response = login(runtime, username, password)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def me(runtime: RuntimeProcess, token: str) -> httpx.Response:
    return httpx.get(f"{runtime.url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def post(
    runtime: RuntimeProcess, path: str, token: str, body: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(
        f"{runtime.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30, json=body
    )


def test_signing_out_at_one_process_ends_the_token_at_the_other_at_once(
    runtimes: tuple[RuntimeProcess, RuntimeProcess],
) -> None:
    a, b = runtimes
    token = token_of(a, "ada")
    other_session = token_of(a, "ada")  # the same person in a second browser
    # Both processes know the token (and have verified, and remembered, its signature).
    assert me(a, token).status_code == 200 and me(b, token).status_code == 200

    signed_out = post(b, "/api/auth/logout", token)
    assert signed_out.status_code == 200 and signed_out.json() == {"signed_out": True}

    refused = me(a, token)
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    assert me(b, token).status_code == 401
    assert post(a, "/api/auth/logout", token).status_code == 401
    # Signing out ends that session only.
    assert me(a, other_session).status_code == 200 and me(b, other_session).status_code == 200


def test_a_password_change_at_one_process_ends_every_older_token_at_the_other(
    runtimes: tuple[RuntimeProcess, RuntimeProcess],
) -> None:
    a, b = runtimes
    older = [token_of(a, "bob"), token_of(b, "bob")]
    changed = post(
        b,
        "/api/auth/password",
        older[1],
        {"current_password": PASSWORD, "new_password": "new-horse-battery"},
    )
    assert changed.status_code == 200, changed.text
    for token in older:
        assert me(a, token).status_code == 401 and me(b, token).status_code == 401
    fresh = changed.json()["token"]
    assert me(a, fresh).status_code == 200 and me(b, fresh).status_code == 200
    assert login(a, "bob").status_code == 401
    assert login(b, "bob", "new-horse-battery").status_code == 200


def test_an_admin_taking_a_role_away_at_one_process_ends_the_tokens_at_the_other(
    runtimes: tuple[RuntimeProcess, RuntimeProcess],
) -> None:
    a, b = runtimes
    token = token_of(a, "dora")
    admin = token_of(b, "rex")
    removed = httpx.delete(
        f"{b.url}/api/users/dora/roles/user",
        params={"workspace": "sales"},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=30,
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["sessions_ended"] == 1
    assert me(a, token).status_code == 401


def test_failed_sign_ins_are_counted_across_processes(
    runtimes: tuple[RuntimeProcess, RuntimeProcess],
) -> None:
    a, b = runtimes
    for attempt in range(5):  # alternately at both processes
        wrong = login((a, b)[attempt % 2], "cem", f"wrong-{attempt}")
        assert wrong.status_code == 401 and wrong.json()["error"] == "login_failed", wrong.text
    for runtime in (a, b):
        throttled = login(runtime, "cem")  # even the right password
        assert throttled.status_code == 429, throttled.text
        assert throttled.json()["error"] == "login_throttled"
        assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    # Another account from the same address is not locked by these five.
    assert login(b, "emil").status_code == 200


async def _failed_sign_in_entries(url: str) -> int:
    db = Database(url)
    try:
        async with db.read() as session:
            query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("auth.login_%"))
            return int((await session.execute(query)).scalar_one())
    finally:
        await db.dispose()


def test_two_hundred_wrong_passwords_are_mostly_refused_and_barely_audited(
    runtimes: tuple[RuntimeProcess, RuntimeProcess],
) -> None:
    """The report: 200 wrong passwords in a row were all answered, each writing an audit row."""
    a, b = runtimes
    url = a.env["DIRIGENT_DATABASE_URL"]
    before = asyncio.run(_failed_sign_in_entries(url))
    statuses = []
    began = time.perf_counter()
    with httpx.Client(timeout=30) as client:
        for attempt in range(200):
            runtime = (a, b)[attempt % 2]
            answer = client.post(
                f"{runtime.url}/api/auth/login", json={"username": "root", "password": f"guess-{attempt}"}
            )
            statuses.append(answer.status_code)
    elapsed = time.perf_counter() - began
    assert statuses == [401] * 5 + [429] * 195
    written = asyncio.run(_failed_sign_in_entries(url)) - before
    assert written == 2, written  # the window's first failure and the lockout
    print(f"200 wrong passwords: 5 checked, 195 refused in {elapsed:.2f} s, {written} audit entries")
