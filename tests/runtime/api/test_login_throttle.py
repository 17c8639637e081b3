"""Sign-in throttling over HTTP: per account and per address, lockouts that grow, a right
password that starts afresh, unknown names answered like known ones, refusals that cost no
password check, and failed sign-ins aggregated in the audit trail.

(Counted across two runtime processes, and 200 wrong passwords in a row over real
sockets: test_sessions_processes.py.)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update

from runtime.app import create_app
from runtime.db.database import Database
from runtime.db.models import AuditEntry, LoginThrottle, utcnow
from runtime.users import passwords
from runtime.users import service as users_service
from tests.support.api import PASSWORD, ApiHarness, api_settings, seed_people
from tests.support.scenario import CHEAP_HASHER

WRONG = "not-the-password"


@pytest.fixture
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap Argon2 for the people the test seeds (the dummy hash keeps its real cost)."""
    monkeypatch.setattr(passwords, "_HASHER", CHEAP_HASHER)


async def make_harness(tmp_path: Path, database_url: str, **overrides: Any) -> AsyncIterator[ApiHarness]:
    settings = api_settings(tmp_path, database_url, **overrides)
    async with AsyncTestClient(app=create_app(settings)) as client:
        await seed_people(database_url)
        yield ApiHarness(client, settings)


@pytest.fixture
async def api(tmp_path: Path, database_url: str, cheap_passwords: None) -> AsyncIterator[ApiHarness]:
    """Five failures per account, thirty per address; lockouts of 1, 2, 4 s at most."""
    async for harness in make_harness(
        tmp_path,
        database_url,
        login_max_failures=5,
        login_max_failures_per_address=30,
        login_lockout_s=1,
        login_lockout_max_s=4,
    ):
        yield harness


@pytest.fixture
async def minute_lockout(
    tmp_path: Path, database_url: str, cheap_passwords: None
) -> AsyncIterator[ApiHarness]:
    """Five failures per account, a hundred per address; lockouts of a minute."""
    async for harness in make_harness(
        tmp_path, database_url, login_max_failures_per_address=100, login_lockout_s=60
    ):
        yield harness


@pytest.fixture
async def strict_address(
    tmp_path: Path, database_url: str, cheap_passwords: None
) -> AsyncIterator[ApiHarness]:
    """Eight failures per address; lockouts of a minute."""
    async for harness in make_harness(
        tmp_path, database_url, login_max_failures_per_address=8, login_lockout_s=60
    ):
        yield harness


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names whose password was checked (a spy on the real check, which still runs)."""
    checked: list[str] = []
    real: Callable[[str | None, str], bool] = users_service.verify_password

    def spy(password_hash: str | None, password: str) -> bool:
        checked.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(users_service, "verify_password", spy)
    return checked


async def login(api: ApiHarness, username: str, password: str) -> httpx.Response:
    return await api.client.post("/api/auth/login", json={"username": username, "password": password})


async def audit_rows(database_url: str, *actions: str) -> int:
    db = Database(database_url)
    try:
        async with db.read() as session:
            query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action.in_(actions))
            return int((await session.execute(query)).scalar_one())
    finally:
        await db.dispose()


async def test_after_five_failures_the_account_is_refused_without_checking_the_password(
    api: ApiHarness, password_checks: list[str]
) -> None:
    for attempt in range(5):
        failed = await login(api, "champion", f"{WRONG}-{attempt}")
        assert failed.status_code == 401 and failed.json()["error"] == "login_failed"
    assert len(password_checks) == 5

    for password in (PASSWORD, WRONG):  # the right password too: nothing is tried while locked
        throttled = await login(api, "champion", password)
        assert throttled.status_code == 429, throttled.text
        body = throttled.json()
        assert body["error"] == "login_throttled" and body["retry_after_s"] == 1
        assert throttled.headers["Retry-After"] == "1"
    assert len(password_checks) == 5
    # Other accounts are not affected.
    assert (await login(api, "user", PASSWORD)).status_code == 200


async def test_the_lockout_ends_and_grows_with_each_one(api: ApiHarness) -> None:
    retry_after = []
    for _lockout in range(3):
        for attempt in range(5):
            assert (await login(api, "board1", f"{WRONG}-{attempt}")).status_code == 401
        throttled = await login(api, "board1", PASSWORD)
        assert throttled.status_code == 429
        retry_after.append(int(throttled.headers["Retry-After"]))
        time.sleep(retry_after[-1] + 0.1)
    assert retry_after == [1, 2, 4]
    # After the lockout the right password signs in, and starts afresh: five tries again.
    assert (await login(api, "board1", PASSWORD)).status_code == 200
    for attempt in range(4):
        assert (await login(api, "board1", f"{WRONG}-{attempt}")).status_code == 401
    assert (await login(api, "board1", PASSWORD)).status_code == 200


async def test_a_right_password_resets_the_count(api: ApiHarness) -> None:
    for _round in range(3):
        for attempt in range(4):
            assert (await login(api, "board2", f"{WRONG}-{attempt}")).status_code == 401
        assert (await login(api, "board2", PASSWORD)).status_code == 200


async def test_unknown_names_are_answered_and_locked_like_known_ones(minute_lockout: ApiHarness) -> None:
    known = [await login(minute_lockout, "champion2", WRONG) for _ in range(6)]
    unknown = [await login(minute_lockout, "no-such-person", WRONG) for _ in range(6)]
    assert [(r.status_code, r.json()) for r in known] == [(r.status_code, r.json()) for r in unknown]
    assert [r.status_code for r in known] == [401] * 5 + [429]


async def test_an_address_with_many_failures_is_refused_for_every_account(
    strict_address: ApiHarness, database_url: str
) -> None:
    # Eight failures spread over names (none reaches the account limit) lock the address.
    for name in ("a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"):
        assert (await login(strict_address, name, WRONG)).status_code == 401
    throttled = await login(strict_address, "admin", PASSWORD)
    assert throttled.status_code == 429 and throttled.json()["error"] == "login_throttled"
    assert 55 <= int(throttled.headers["Retry-After"]) <= 60
    assert await audit_rows(database_url, "auth.login_locked") == 1


async def test_failed_sign_ins_are_aggregated_in_the_audit_trail(
    minute_lockout: ApiHarness, database_url: str
) -> None:
    before = await audit_rows(database_url, "auth.login_failed", "auth.login_locked")
    answers = [(await login(minute_lockout, "outsider", f"{WRONG}-{n}")).status_code for n in range(60)]
    assert answers == [401] * 5 + [429] * 55
    # One entry for the window's first failure, one for the lockout: not one per attempt.
    assert await audit_rows(database_url, "auth.login_failed", "auth.login_locked") - before == 2

    # The lockout ends (its end moved to now rather than waiting a minute); the next one
    # says how many attempts were refused meanwhile, and lasts twice as long.
    db = Database(database_url)
    try:
        async with db.write() as session:
            await session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == "account:outsider")
                .values(locked_until=utcnow())
            )
        for attempt in range(5):
            assert (await login(minute_lockout, "outsider", f"{WRONG}-again-{attempt}")).status_code == 401
        async with db.read() as session:
            last = (
                await session.execute(
                    select(AuditEntry.detail)
                    .where(AuditEntry.action == "auth.login_locked")
                    .order_by(AuditEntry.seq.desc())
                    .limit(1)
                )
            ).scalar_one()
    finally:
        await db.dispose()
    assert last["scope"] == "account" and last["username"] == "outsider" and last["address"]
    assert last["refused_since_last_lockout"] == 55 and last["lockout"] == 2 and last["locked_for_s"] == 120
    assert "password" not in str(last)


@pytest.fixture
async def real_hashes(tmp_path: Path, database_url: str) -> AsyncIterator[ApiHarness]:
    """Argon2 at its production cost (no fast_passwords); no lockout in the way."""
    async for harness in make_harness(
        tmp_path, database_url, login_max_failures=100, login_max_failures_per_address=100
    ):
        yield harness


async def test_an_unknown_name_takes_as_long_as_a_wrong_password(real_hashes: ApiHarness) -> None:
    async def timed(username: str) -> float:
        began = time.perf_counter()
        assert (await login(real_hashes, username, WRONG)).status_code == 401
        return time.perf_counter() - began

    known, unknown = [], []
    for _ in range(5):  # interleaved, so that load on the machine hits both alike
        known.append(await timed("champion"))
        unknown.append(await timed("nobody-of-that-name"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.6 < ratio < 1.6, (known, unknown)
