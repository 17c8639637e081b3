"""Signing in and out, passwords, and what an admin does to someone's access.

POST   /api/auth/login                     a token (throttled: runtime/users/throttle.py)
POST   /api/auth/logout                    ends this token's session, in every process
POST   /api/auth/password                  the signed-in person's new password: every
                                           session ends, the answer carries a new token
POST   /api/users/{username}/password      an admin sets a password: their sessions end
DELETE /api/users/{username}/roles/{role}  an admin takes a role away (?workspace=slug
                                           for a workspace role): their sessions end
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Controller, Request, delete, post
from litestar.params import FromPath, FromQuery, JSONBody

from runtime.api.deps import Caller, Rt
from runtime.api.schemas import LoginRequest, PasswordChange, PasswordReset
from runtime.audit.service import append as audit
from runtime.context import Runtime
from runtime.db.models import User, utcnow
from runtime.errors import BadRequest, TooManyRequests, Unauthorized
from runtime.policy.resources import Platform
from runtime.users.service import check_password, find_user, remove_role, set_password
from runtime.users.sessions import IssuedToken, open_session, revoke_session
from runtime.users.throttle import ThrottlePolicy, admit, failed, succeeded


@dataclass
class SignedInUser:
    id: str
    username: str


@dataclass
class SignIn:
    token: str
    token_type: str
    expires_at: str
    user: SignedInUser


@dataclass
class SignedOut:
    signed_out: bool


@dataclass
class SessionsEnded:
    username: str
    sessions_ended: int


@dataclass
class RoleRemoved:
    username: str
    role: str
    workspace: str | None
    sessions_ended: int


def client_address(request: Request[Any, Any, Any]) -> str:
    """The caller's address as the server saw it (behind a proxy: what uvicorn's
    `--forwarded-allow-ips` lets the proxy say)."""
    return request.client.host if request.client is not None else "unknown"


def _sign_in(user: User, issued: IssuedToken) -> SignIn:
    return SignIn(
        token=issued.token,
        token_type="Bearer",
        expires_at=issued.expires_at.isoformat(),
        user=SignedInUser(id=user.id, username=user.username),
    )


async def _checked_password(rt: Runtime, username: str, password: str, address: str) -> User | None:
    """The user if `password` is theirs; throttled and audited like a sign-in (a wrong
    current password on a password change is a guess like any other)."""
    policy = ThrottlePolicy.from_settings(rt.settings)
    async with rt.db.write() as session:
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
    async with rt.db.read() as session:
        user = await check_password(session, username, password)
    if user is None:
        async with rt.db.write() as session:
            for note in await failed(session, policy, username, address, verdict, utcnow()):
                await audit(session, actor=None, action=note.action, detail=note.detail)
    return user


class AuthController(Controller):
    path = "/api"
    tags = ["users"]

    @post("/auth/login", status_code=200)
    async def login(self, rt: Rt, data: JSONBody[LoginRequest], request: Request[Any, Any, Any]) -> SignIn:
        user = await _checked_password(rt, data.username, data.password, client_address(request))
        if user is None:
            raise Unauthorized("wrong username or password", code="login_failed")
        async with rt.db.write() as session:
            refused = await succeeded(session, user.username)
            issued = await open_session(
                session,
                user.id,
                secret=rt.jwt_secret,
                issuer=rt.settings.token_issuer,
                ttl=timedelta(minutes=rt.settings.token_ttl_minutes),
            )
            await audit(
                session,
                actor=user.username,
                action="auth.login",
                resource_type="user",
                resource_id=user.id,
                detail={"refused_while_locked": refused} if refused else None,
            )
        return _sign_in(user, issued)

    @post("/auth/logout", status_code=200)
    async def logout(self, rt: Rt, actor: Caller, request: Request[Any, Any, Any]) -> SignedOut:
        async with rt.db.write() as session:
            await revoke_session(session, str(request.auth.jti), "logout")
            await audit(
                session,
                actor=actor.username,
                action="auth.logout",
                resource_type="user",
                resource_id=actor.id,
            )
        return SignedOut(signed_out=True)

    @post("/auth/password", status_code=200)
    async def change_password(
        self, rt: Rt, actor: Caller, data: JSONBody[PasswordChange], request: Request[Any, Any, Any]
    ) -> SignIn:
        """Every session of the person ends (a thief's too); this answer signs them in again."""
        user = await _checked_password(rt, actor.username, data.current_password, client_address(request))
        if user is None:
            raise BadRequest("the current password is wrong", code="wrong_password")
        async with rt.db.write() as session:
            await succeeded(session, user.username)
            user = await find_user(session, user.username)
            await set_password(
                session, user, data.new_password, reason="password_changed", actor=user.username
            )
            issued = await open_session(
                session,
                user.id,
                secret=rt.jwt_secret,
                issuer=rt.settings.token_issuer,
                ttl=timedelta(minutes=rt.settings.token_ttl_minutes),
            )
        return _sign_in(user, issued)

    @post("/users/{username:str}/password", status_code=200)
    async def reset_password(
        self, rt: Rt, actor: Caller, username: FromPath[str], data: JSONBody[PasswordReset]
    ) -> SessionsEnded:
        rt.authz.authorize(actor, "manage_users", Platform())
        async with rt.db.write() as session:
            user = await find_user(session, username)
            ended = await set_password(
                session, user, data.new_password, reason="password_reset", actor=actor.username
            )
        return SessionsEnded(username=username, sessions_ended=ended)

    @delete("/users/{username:str}/roles/{role:str}", status_code=200)
    async def take_role(
        self,
        rt: Rt,
        actor: Caller,
        username: FromPath[str],
        role: FromPath[str],
        workspace: FromQuery[str | None] = None,
    ) -> RoleRemoved:
        rt.authz.authorize(actor, "manage_users", Platform())
        async with rt.db.write() as session:
            ended = await remove_role(session, username, role, workspace, actor=actor.username)
        return RoleRemoved(username=username, role=role, workspace=workspace, sessions_ended=ended)
