"""Sign-in throttling and lockout, per account and per client address, in the database
(so that every runtime process counts the same attempts).

    admit      before a password is checked: refused (429 `login_throttled`) while the
               account or the address is locked -- without reading the user or hashing
               anything; otherwise the attempt is counted against the account *before*
               the password is checked, so that parallel guesses cannot all get through
    failed     after a wrong password: counted against the address too; what to audit
    succeeded  after a right one: the account's count and lockouts start afresh

Per key (`account:<username>`, `address:<ip>`): `failures` in the current window; at
`max_failures` (per address: `max_failures_per_address`) the key is locked for the
lockout time, which doubles with each lockout (up to `lockout_max`) and starts again from
the base once the key has been quiet for a whole window after its last lockout. A user
name that does not exist is counted and locked exactly like one that does, and its
password is checked against a dummy hash, so answers and timing do not tell them apart.

The audit trail gets failed sign-ins aggregated, not one entry per attempt:
`auth.login_failed` for the first failure of an account's window, `auth.login_locked`
when an account or an address is locked (with how many attempts were refused since the
previous lockout). An anonymous caller who sends wrong passwords adds at most three
entries per lockout period, and the lockout periods grow.

Rows of keys that have been quiet longer than a window plus the longest lockout are
deleted by later failures, so the table does not grow with every name ever tried.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import LoginThrottle
from runtime.settings import Settings


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    max_failures_per_address: int = 30
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=1)
    lockout_max: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        return cls(
            max_failures=settings.login_max_failures,
            max_failures_per_address=settings.login_max_failures_per_address,
            window=timedelta(seconds=settings.login_window_s),
            lockout=timedelta(seconds=settings.login_lockout_s),
            lockout_max=timedelta(seconds=settings.login_lockout_max_s),
        )

    def lockout_for(self, lockouts: int) -> timedelta:
        """The length of the `lockouts`-th lockout in a row (1, 2, 4, ... times the base)."""
        return min(self.lockout * 2 ** min(lockouts - 1, 30), self.lockout_max)


@dataclass(frozen=True)
class Verdict:
    """What `admit` decided. `retry_after_s` is set when the attempt is refused."""

    retry_after_s: int | None = None
    first_in_window: bool = False
    locks_account: bool = False  # this attempt was the account's last one before a lockout

    @property
    def refused(self) -> bool:
        return self.retry_after_s is not None


@dataclass(frozen=True)
class AuditNote:
    action: str
    detail: dict[str, Any]


def account_key(username: str) -> str:
    return f"account:{username}"


def address_key(address: str) -> str:
    return f"address:{address}"


async def admit(
    session: AsyncSession, policy: ThrottlePolicy, username: str, address: str, now: datetime
) -> Verdict:
    """Refuse the attempt while the account or the address is locked, else count it
    against the account (see the module docstring). Runs in a write transaction."""
    account = await _row(session, account_key(username), now)
    by_address = await _row(session, address_key(address), now)
    locked = [row for row in (account, by_address) if _roll(row, policy, now)]
    if locked:
        for row in locked:
            row.refused += 1
            row.updated_at = now
        waits = [row.locked_until - now for row in locked if row.locked_until is not None]
        return Verdict(retry_after_s=max(1, math.ceil(max(waits).total_seconds())))
    account.failures += 1
    account.updated_at = now
    first = account.failures == 1
    locks = account.failures >= policy.max_failures
    if locks:
        _lock(account, policy, now)
    return Verdict(first_in_window=first, locks_account=locks)


async def failed(
    session: AsyncSession,
    policy: ThrottlePolicy,
    username: str,
    address: str,
    verdict: Verdict,
    now: datetime,
) -> list[AuditNote]:
    """The password was wrong: count it against the address; the audit entries to write."""
    account = await _row(session, account_key(username), now)
    by_address = await _row(session, address_key(address), now)
    notes: list[AuditNote] = []
    if verdict.first_in_window:
        notes.append(AuditNote("auth.login_failed", {"username": username, "address": address}))
    if verdict.locks_account:
        # The lockout runs from the failure, not from the admission before the (slow) check.
        account.locked_until = now + policy.lockout_for(account.lockouts)
        notes.append(_locked_note("account", account, policy, username=username, address=address))
    address_locked = _roll(by_address, policy, now)
    by_address.failures += 1
    by_address.updated_at = now
    if not address_locked and by_address.failures >= policy.max_failures_per_address:
        _lock(by_address, policy, now)
        notes.append(
            _locked_note("address", by_address, policy, username=username, address=address, failures=True)
        )
    await _forget_quiet_keys(session, policy, now)
    return notes


async def succeeded(session: AsyncSession, username: str) -> int:
    """The password was right: the account starts afresh. Returns the attempts refused
    while it was locked (for the sign-in's audit entry)."""
    row = await session.get(LoginThrottle, account_key(username))
    refused = row.refused if row is not None else 0
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(username)))
    return refused


# -- helpers --------------------------------------------------------------------------
async def _row(session: AsyncSession, key: str, now: datetime) -> LoginThrottle:
    """The key's row, created if missing, locked for this transaction (PostgreSQL: a row
    lock; SQLite: the write transaction holds the database's write lock already)."""
    bind = session.bind
    insert = postgresql_insert if bind is not None and bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, window_started_at=now, lockouts=0, refused=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    query = (
        select(LoginThrottle)
        .where(LoginThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one()


def _roll(row: LoginThrottle, policy: ThrottlePolicy, now: datetime) -> bool:
    """Start a new window (and forget old lockouts) where due; True while `row` is locked."""
    if row.locked_until is not None and row.locked_until > now:
        return True
    if now - row.window_started_at >= policy.window:
        row.failures = 0
        row.window_started_at = now
    if row.lockouts and (row.locked_until is None or now >= row.locked_until + policy.window):
        row.lockouts = 0
    return False


def _lock(row: LoginThrottle, policy: ThrottlePolicy, now: datetime) -> None:
    row.lockouts += 1
    row.locked_until = now + policy.lockout_for(row.lockouts)
    row.failures = 0
    row.window_started_at = now


def _locked_note(
    scope: str,
    row: LoginThrottle,
    policy: ThrottlePolicy,
    *,
    username: str,
    address: str,
    failures: bool = False,
) -> AuditNote:
    limit = policy.max_failures_per_address if scope == "address" else policy.max_failures
    locked_for = policy.lockout_for(row.lockouts)
    detail: dict[str, Any] = {
        "scope": scope,
        "username": username,
        "address": address,
        "failures": limit,
        "lockout": row.lockouts,
        "locked_for_s": int(locked_for.total_seconds()),
        "refused_since_last_lockout": row.refused,
    }
    if failures:
        detail["last_username"] = detail.pop("username")
    row.refused = 0
    return AuditNote("auth.login_locked", detail)


async def _forget_quiet_keys(session: AsyncSession, policy: ThrottlePolicy, now: datetime) -> None:
    quiet_since = now - policy.window - policy.lockout_max
    await session.execute(
        delete(LoginThrottle)
        .where(
            LoginThrottle.updated_at < quiet_since,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        )
        .execution_options(synchronize_session=False)
    )
