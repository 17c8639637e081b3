"""Bearer tokens (Litestar's JWT auth). Every request re-loads the user and the token's
session, so a removed user's token, a signed-out one and the tokens that began before a
password change or a role removal stop working at once, in every process
(`runtime.users.sessions`). OIDC can replace `login` later: the rest only needs
`request.user` to be an `Actor`.

A token must carry `exp`, `iat`, `sub`, `jti` (its session), `iss` (`Settings.token_issuer`)
and `aud` (`runtime.users.sessions.AUDIENCE`); the issuer and the audience are checked.

What is remembered, and why it is safe: a token that passed verification, keyed by its
exact text and everything it was verified against (`VerifiedTokens`), by each app for
itself (`VerifiedTokens.for_app`: two apps in one process never share what they verified). Whether a token
verifies depends only on those, and a forged or altered token is a different key, which
is verified afresh; the expiry is checked again at every use. Who the token's user is,
which roles they hold and whether its session is still open is never remembered:
`read_actor` reads them for every request (on SQLite without leaving the event loop's
thread, see `Database.rows`). PyJWT's verification costs a few hundred microseconds (it
checks the base64 alphabet in Python and inspects the key), more than the rest of an
authenticated request's overhead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from cachetools import LRUCache
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.security.jwt import JWTAuth, Token

from runtime.policy.resources import Actor
from runtime.users.service import read_actor
from runtime.users.sessions import ALGORITHM, AUDIENCE, REQUIRED_CLAIMS

# Patterns Litestar searches anywhere in the path: anchored, or /api/runs/schema-x would pass.
PUBLIC_PATHS = ["^/health$", "^/schema(/|$)", "^/api/auth/login$"]
TOKENS_KEPT = 4096


class VerifiedTokens(Token):
    """`Token` whose `decode` remembers tokens that verified (see the module docstring).

    Litestar calls `decode` on the class, so what is remembered is a class attribute;
    each app gets a subclass of its own (`for_app`) to keep it per app. This base class
    has its own memory too, for direct use.
    """

    _verified: ClassVar[LRUCache[tuple[Any, ...], Token]] = LRUCache(maxsize=TOKENS_KEPT)

    @classmethod
    def for_app(cls) -> type[VerifiedTokens]:
        """A token class with a memory of its own, for one app."""
        return type(cls.__name__, (cls,), {"_verified": LRUCache(maxsize=TOKENS_KEPT)})

    @classmethod
    def decode(
        cls,
        encoded_token: str,
        secret: str,
        algorithm: str,
        audience: str | Sequence[str] | None = None,
        issuer: str | Sequence[str] | None = None,
        require_claims: Sequence[str] | None = None,
        verify_exp: bool = True,
        verify_nbf: bool = True,
        strict_audience: bool = False,
    ) -> VerifiedTokens:
        key = (
            encoded_token,
            secret,
            algorithm,
            audience if isinstance(audience, str | None) else tuple(audience),
            issuer if isinstance(issuer, str | None) else tuple(issuer),
            tuple(require_claims or ()),
            verify_exp,
            verify_nbf,
            strict_audience,
        )
        token = cls._verified.get(key)
        if token is None:
            token = super().decode(
                encoded_token,
                secret,
                algorithm,
                audience,
                issuer,
                require_claims,
                verify_exp,
                verify_nbf,
                strict_audience,
            )
            cls._verified[key] = token  # the least recently used token goes at TOKENS_KEPT
        elif verify_exp and token.exp <= datetime.now(UTC):
            cls._verified.pop(key, None)
            raise NotAuthorizedException("Invalid token")
        assert isinstance(token, VerifiedTokens)
        return token


async def retrieve_actor(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
    if not isinstance(token.jti, str):
        return None
    return await read_actor(connection.app.state.composition.db, token.sub, token.jti)


async def caller_of(request: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
    """The signed-in caller of a public route (one that authentication skips), or None
    when the request carries no valid token of an open session."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "bearer" or not encoded:
        return None
    settings = request.app.state.composition.settings
    try:
        token = request.app.state.verified_tokens.decode(
            encoded.strip(),
            request.app.state.composition.jwt_secret,
            ALGORITHM,
            audience=[AUDIENCE],
            issuer=[settings.token_issuer],
            require_claims=list(REQUIRED_CLAIMS),
        )
    except NotAuthorizedException:
        return None
    return await retrieve_actor(token, request)


def jwt_auth(
    secret: str, ttl_minutes: int, issuer: str, extra_public: list[str] | None = None
) -> JWTAuth[Actor]:
    return JWTAuth[Actor](
        retrieve_user_handler=retrieve_actor,
        token_secret=secret,
        token_cls=VerifiedTokens.for_app(),
        algorithm=ALGORITHM,
        default_token_expiration=timedelta(minutes=ttl_minutes),
        accepted_issuers=[issuer],
        accepted_audiences=[AUDIENCE],
        require_claims=list(REQUIRED_CLAIMS),
        exclude=[*PUBLIC_PATHS, *(extra_public or [])],
    )
