"""Bearer tokens (Litestar's JWT auth). Every request re-loads the user, so a removed
user's token stops working at once. OIDC can replace `login` later: the rest only needs
`request.user` to be an `Actor`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTAuth, Token

from runtime.policy.resources import Actor
from runtime.users.service import read_actor

PUBLIC_PATHS = ["/health", "/schema", "/api/auth/login"]


async def retrieve_actor(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
    return await read_actor(connection.app.state.runtime.db, token.sub)


def jwt_auth(secret: str, ttl_minutes: int, extra_public: list[str] | None = None) -> JWTAuth[Actor]:
    return JWTAuth[Actor](
        retrieve_user_handler=retrieve_actor,
        token_secret=secret,
        default_token_expiration=timedelta(minutes=ttl_minutes),
        exclude=[*PUBLIC_PATHS, *(extra_public or [])],
    )
