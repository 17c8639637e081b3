"""Signing in and out, passwords, and what an admin does to someone's access.

POST   /api/auth/login                     a token (throttled: runtime/users/throttle.py)
POST   /api/auth/logout                    ends this token's session, in every process
POST   /api/auth/password                  the signed-in person's new password: every
                                           session ends, the answer carries a new token
POST   /api/users/{username}/password      an admin sets a password: their sessions end
DELETE /api/users/{username}/roles/{role}  an admin takes a role away (?workspace=slug
                                           for a workspace role): their sessions end

The work is `AuthService`'s (`runtime.users.auth_service`).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody

from runtime.api.deps import Caller, Root
from runtime.api.schemas import LoginRequest, PasswordChange, PasswordReset
from runtime.users.auth_service import AuthService
from runtime.users.responses import RoleRemovedOut, SessionsEndedOut, SignedOutOut, SignInOut


def client_address(request: Request[Any, Any, Any]) -> str:
    """The caller's address as the server saw it (behind a proxy: what uvicorn's
    `--forwarded-allow-ips` lets the proxy say)."""
    return request.client.host if request.client is not None else "unknown"


def provide_auth(root: Root) -> AuthService:
    return AuthService(db=root.db, authz=root.authz, settings=root.settings, jwt_secret=root.jwt_secret)


Auth = NamedDependency[AuthService]


class AuthController(Controller):
    path = "/api"
    tags = ["users"]
    dependencies = {"auth": Provide(provide_auth, sync_to_thread=False)}

    @post("/auth/login", status_code=200)
    async def login(
        self, auth: Auth, data: JSONBody[LoginRequest], request: Request[Any, Any, Any]
    ) -> SignInOut:
        return await auth.login(data.username, data.password, client_address(request))

    @post("/auth/logout", status_code=200)
    async def logout(self, auth: Auth, actor: Caller, request: Request[Any, Any, Any]) -> SignedOutOut:
        return await auth.logout(actor, str(request.auth.jti))

    @post("/auth/password", status_code=200)
    async def change_password(
        self, auth: Auth, actor: Caller, data: JSONBody[PasswordChange], request: Request[Any, Any, Any]
    ) -> SignInOut:
        """Every session of the person ends (a thief's too); this answer signs them in again."""
        return await auth.change_password(
            actor, data.current_password, data.new_password, client_address(request)
        )

    @post("/users/{username:str}/password", status_code=200)
    async def reset_password(
        self, auth: Auth, actor: Caller, username: FromPath[str], data: JSONBody[PasswordReset]
    ) -> SessionsEndedOut:
        return await auth.reset_password(actor, username, data.new_password)

    @delete("/users/{username:str}/roles/{role:str}", status_code=200)
    async def take_role(
        self,
        auth: Auth,
        actor: Caller,
        username: FromPath[str],
        role: FromPath[str],
        workspace: FromQuery[str | None] = None,
    ) -> RoleRemovedOut:
        return await auth.take_role(actor, username, role, workspace)
