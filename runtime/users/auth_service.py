"""`AuthService`: signing in and out, passwords, and taking a role away, bound to the
database, the policy, the settings and the token key (given to handlers by `provide_auth`
in `runtime.users.auth_controller`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import append as audit
from runtime.db.database import Database
from runtime.db.models import User, utcnow
from runtime.errors import BadRequest, TooManyRequests, Unauthorized
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor, Platform
from runtime.settings import Settings
from runtime.users.responses import RoleRemovedOut, SessionsEndedOut, SignedInUserOut, SignedOutOut, SignInOut
from runtime.users.service import check_password, find_user, remove_role, set_password
from runtime.users.sessions import IssuedToken, open_session, revoke_session
from runtime.users.throttle import ThrottlePolicy, admit, failed, succeeded


def _sign_in(user: User, issued: IssuedToken) -> SignInOut:
    return SignInOut(
        token=issued.token,
        token_type="Bearer",
        expires_at=issued.expires_at.isoformat(),
        user=SignedInUserOut(id=user.id, username=user.username),
    )


@dataclass(frozen=True, slots=True)
class AuthService:
    db: Database
    authz: Authorizer
    settings: Settings
    jwt_secret: str

    async def login(self, username: str, password: str, address: str) -> SignInOut:
        user = await self._checked_password(username, password, address)
        if user is None:
            raise Unauthorized("wrong username or password", code="login_failed")
        async with self.db.write() as session:
            refused = await succeeded(session, user.username)
            issued = await self._open_session(session, user)
            await audit(
                session,
                actor=user.username,
                action="auth.login",
                resource_type="user",
                resource_id=user.id,
                detail={"refused_while_locked": refused} if refused else None,
            )
        return _sign_in(user, issued)

    async def logout(self, actor: Actor, session_id: str) -> SignedOutOut:
        """End the session `session_id` (the token's `jti`), in every process."""
        async with self.db.write() as session:
            await revoke_session(session, session_id, "logout")
            await audit(
                session,
                actor=actor.username,
                action="auth.logout",
                resource_type="user",
                resource_id=actor.id,
            )
        return SignedOutOut(signed_out=True)

    async def change_password(self, actor: Actor, current: str, new: str, address: str) -> SignInOut:
        """Every session of the person ends (a thief's too); the answer signs them in again."""
        user = await self._checked_password(actor.username, current, address)
        if user is None:
            raise BadRequest("the current password is wrong", code="wrong_password")
        async with self.db.write() as session:
            await succeeded(session, user.username)
            user = await find_user(session, user.username)
            await set_password(session, user, new, reason="password_changed", actor=user.username)
            issued = await self._open_session(session, user)
        return _sign_in(user, issued)

    async def reset_password(self, actor: Actor, username: str, new: str) -> SessionsEndedOut:
        """An admin sets someone's password: their sessions end."""
        self.authz.authorize(actor, "manage_users", Platform())
        async with self.db.write() as session:
            user = await find_user(session, username)
            ended = await set_password(session, user, new, reason="password_reset", actor=actor.username)
        return SessionsEndedOut(username=username, sessions_ended=ended)

    async def take_role(
        self, actor: Actor, username: str, role: str, workspace: str | None
    ) -> RoleRemovedOut:
        """An admin takes a role away (in `workspace`, or the global one): their sessions end."""
        self.authz.authorize(actor, "manage_users", Platform())
        async with self.db.write() as session:
            ended = await remove_role(session, username, role, workspace, actor=actor.username)
        return RoleRemovedOut(username=username, role=role, workspace=workspace, sessions_ended=ended)

    async def _open_session(self, session: AsyncSession, user: User) -> IssuedToken:
        return await open_session(
            session,
            user.id,
            secret=self.jwt_secret,
            issuer=self.settings.token_issuer,
            ttl=timedelta(minutes=self.settings.token_ttl_minutes),
        )

    async def _checked_password(self, username: str, password: str, address: str) -> User | None:
        """The user if `password` is theirs; throttled and audited like a sign-in (a wrong
        current password on a password change is a guess like any other)."""
        policy = ThrottlePolicy.from_settings(self.settings)
        async with self.db.write() as session:
            verdict = await admit(session, policy, username, address, utcnow())
        if verdict.retry_after_s is not None:
            # Refused without reading the user or hashing anything: a locked account costs
            # the same whatever the password, and whether the name exists.
            raise TooManyRequests(
                f"too many failed sign-ins for this account or from this address; "
                f"try again in {verdict.retry_after_s} s",
                code="login_throttled",
                retry_after_s=verdict.retry_after_s,
            )
        async with self.db.read() as session:
            user = await check_password(session, username, password)
        if user is None:
            async with self.db.write() as session:
                for note in await failed(session, policy, username, address, verdict, utcnow()):
                    await audit(session, actor=None, action=note.action, detail=note.detail)
        return user
