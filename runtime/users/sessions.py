"""Sign-in sessions: every token names one, and every request reads it.

    sign-in          open_session -> a row in `auth_sessions`; the token's `jti` is its id
    each request     runtime.users.service.read_actor reads the user, their roles and the
                     session in one query: no row, or a revoked one, and the token is refused
    sign-out         revoke_session (that token only)
    password change  revoke_user_sessions (every token of the user; the one who changed
    role removal     their own password gets a fresh token), also for an admin's reset
    user removed

Nothing about a session is remembered in a process (`runtime.api.auth.VerifiedTokens`
only remembers that a token's signature verified), so a token revoked through one
runtime process is refused by every other one at its next request.

Tokens carry `iss` (`Settings.token_issuer`) and `aud` (`AUDIENCE`); both are checked,
as are `exp`, `iat`, `sub` and `jti`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from litestar.security.jwt import Token
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import AuthSession, utcnow

AUDIENCE = "dirigent-api"
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud", "jti")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    session_id: str
    expires_at: datetime


async def open_session(
    session: AsyncSession, user_id: str, *, secret: str, issuer: str, ttl: timedelta
) -> IssuedToken:
    """A new session of `user_id` and its signed token. Sessions that have expired are
    deleted on the way (every sign-in does a little of the cleaning)."""
    now = utcnow()
    await session.execute(delete(AuthSession).where(AuthSession.expires_at < now))
    row = AuthSession(user_id=user_id, created_at=now, expires_at=now + ttl)
    session.add(row)
    await session.flush()
    token = Token(sub=user_id, exp=row.expires_at, iat=now, iss=issuer, aud=AUDIENCE, jti=row.id).encode(
        secret, ALGORITHM
    )
    return IssuedToken(token, row.id, row.expires_at)


async def revoke_session(session: AsyncSession, session_id: str, reason: str) -> bool:
    """End one session; False when it had ended already."""
    result = await session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_user_sessions(session: AsyncSession, user_id: str, reason: str) -> int:
    """End every open session of `user_id`; how many there were."""
    result = await session.execute(
        update(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
