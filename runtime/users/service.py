"""Users, workspaces and memberships; building the policy's `Actor` for a request."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import append as audit
from runtime.db.database import Database
from runtime.db.models import AuthSession, Membership, User, Workspace
from runtime.errors import BadRequest, Conflict, NotFound, Unauthorized
from runtime.policy.resources import Actor
from runtime.users.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from runtime.users.sessions import revoke_user_sessions
from runtime.users.workspaces import find_workspace

WORKSPACE_ROLES = ("admin", "champion", "user")
GLOBAL_ROLES = ("board", "admin")
ROLES = ("admin", "champion", "user", "board")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")  # where notifications are mailed


# The user joined with their memberships: one query.
_ACTOR_ROWS = (
    select(User.username, User.global_roles, User.active, Membership.workspace_id, Membership.role)
    .outerjoin(Membership, Membership.user_id == User.id)
    .where(User.id == bindparam("user_id"))
)


async def load_actor(session: AsyncSession, user_id: str) -> Actor | None:
    """The caller as the policy sees it, or None when the user no longer exists/is inactive."""
    rows = (await session.execute(_ACTOR_ROWS, {"user_id": user_id})).all()
    return _actor_of(user_id, [tuple(row) for row in rows])


# ... only while the token's session is open (`runtime.users.sessions`): still one query.
_SESSION_ACTOR_ROWS = (
    select(User.username, User.global_roles, User.active, Membership.workspace_id, Membership.role)
    .join(AuthSession, AuthSession.user_id == User.id)
    .outerjoin(Membership, Membership.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        AuthSession.id == bindparam("session_id"),
        AuthSession.revoked_at.is_(None),
    )
)


async def read_actor(db: Database, user_id: str, session_id: str) -> Actor | None:
    """`load_actor` for every request: read afresh each time (a removed user's token, a
    role taken away or a session ended must count at once, also when another process
    changed it), with `Database.rows`, so that on SQLite it costs microseconds rather
    than thread hops. None when the user is gone or the session `session_id` has ended."""
    rows = await db.rows(_SESSION_ACTOR_ROWS, {"user_id": user_id, "session_id": session_id})
    return _actor_of(user_id, rows)


def _actor_of(user_id: str, rows: list[tuple[Any, ...]]) -> Actor | None:
    if not rows:
        return None
    username, global_roles, active = rows[0][:3]
    if not active:
        return None
    roles: dict[str, set[str]] = {}
    for *_, workspace_id, role in rows:
        if workspace_id is not None:
            roles.setdefault(workspace_id, set()).add(role)
    return Actor(
        id=user_id,
        username=username,
        global_roles=frozenset(global_roles or ()),
        workspace_roles={key: frozenset(value) for key, value in roles.items()},
    )


async def authenticate(session: AsyncSession, username: str, password: str) -> User:
    user = await check_password(session, username, password)
    if user is None:
        raise Unauthorized("wrong username or password", code="login_failed")
    return user


async def check_password(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user `username` if `password` is theirs, else None. An unknown name is
    checked against a dummy hash, so it takes as long as a wrong password. The hash is
    checked in a thread: Argon2 takes tens of milliseconds, other requests go on."""
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    right = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    return user if right and user is not None and user.active else None


async def set_password(
    session: AsyncSession, user: User, password: str, *, reason: str, actor: str | None
) -> int:
    """Give `user` a new password and end every session they have (`reason`:
    password_changed by themselves, password_reset by an admin); how many ended."""
    try:
        user.password_hash = hash_password(password)
    except ValueError as exc:
        raise BadRequest(str(exc), code="weak_password", min_length=MIN_PASSWORD_LENGTH) from None
    ended = await revoke_user_sessions(session, user.id, reason)
    await audit(
        session,
        actor=actor,
        action=f"user.{reason}",
        resource_type="user",
        resource_id=user.id,
        detail={"username": user.username, "sessions_ended": ended},
    )
    return ended


async def find_user(session: AsyncSession, username: str) -> User:
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user '{username}'", code="user_not_found", username=username)
    return user


async def remove_role(
    session: AsyncSession,
    username: str,
    role: str,
    workspace_slug: str | None = None,
    *,
    actor: str | None = None,
) -> int:
    """Take `role` (in `workspace_slug`, or the global one) away from `username` and end
    their sessions: whoever held the role signs in again. How many sessions ended."""
    user = await find_user(session, username)
    if workspace_slug:
        workspace = await find_workspace(session, workspace_slug)
        held = False
        if workspace is not None:
            removed = await session.execute(
                delete(Membership).where(
                    Membership.user_id == user.id,
                    Membership.workspace_id == workspace.id,
                    Membership.role == role,
                )
            )
            held = bool(removed.rowcount)  # type: ignore[attr-defined]
    else:
        held = role in (user.global_roles or [])
        user.global_roles = [name for name in (user.global_roles or []) if name != role]
    if not held:
        where = f" in workspace '{workspace_slug}'" if workspace_slug else " (as a global role)"
        raise Conflict(
            f"'{username}' does not hold the role '{role}'{where}",
            code="role_not_held",
            username=username,
            role=role,
        )
    ended = await revoke_user_sessions(session, user.id, "role_removed")
    await audit(
        session,
        actor=actor,
        action="user.role_removed",
        resource_type="user",
        resource_id=user.id,
        detail={"role": role, "workspace": workspace_slug, "sessions_ended": ended},
    )
    return ended


async def get_or_create_workspace(
    session: AsyncSession, slug: str, name: str | None = None, *, actor: str | None = None
) -> Workspace:
    if not SLUG.fullmatch(slug):
        raise BadRequest(
            f"'{slug}' is not a workspace slug: lowercase letters, digits and -",
            code="invalid_workspace_slug",
            slug=slug,
        )
    existing = await find_workspace(session, slug)
    if existing:
        return existing
    workspace = Workspace(slug=slug, name=name or slug.replace("-", " ").title())
    session.add(workspace)
    await session.flush()
    await audit(
        session,
        actor=actor,
        action="workspace.created",
        resource_type="workspace",
        resource_id=workspace.id,
        detail={"slug": slug},
    )
    return workspace


async def add_user(
    session: AsyncSession,
    username: str,
    password: str,
    role: str,
    workspace_slug: str | None = None,
    *,
    actor: str | None = None,
    display_name: str = "",
    email: str | None = None,
) -> User:
    """Create a user (or give an existing one another role). Workspace roles need a workspace.
    `email`, when given, is where notifications are mailed (it replaces an earlier one)."""
    if not USERNAME.fullmatch(username):
        raise BadRequest(
            f"'{username}' is not a username: letters, digits and _ . @ - (max 64)",
            code="invalid_username",
            username=username,
        )
    if email is not None and (len(email) > 254 or not EMAIL.fullmatch(email)):
        raise BadRequest(
            f"'{email}' is not an e-mail address like name@firma.de", code="invalid_email", email=email
        )
    if role not in ROLES:
        raise BadRequest(
            f"unknown role '{role}'; roles: {', '.join(ROLES)}",
            code="unknown_role",
            role=role,
            roles=", ".join(ROLES),
        )
    if role == "board" and workspace_slug:
        raise BadRequest(
            "'board' is a global role; give no workspace", code="role_scope", reason="global", role=role
        )
    if role in ("champion", "user") and not workspace_slug:
        raise BadRequest(
            f"the role '{role}' belongs to a workspace; give --workspace",
            code="role_scope",
            reason="workspace",
            role=role,
        )
    try:
        password_hash = hash_password(password)
    except ValueError as exc:
        raise BadRequest(str(exc), code="weak_password", min_length=MIN_PASSWORD_LENGTH) from None
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None:
        user = User(
            username=username,
            display_name=display_name or username,
            password_hash=password_hash,
            global_roles=[],
        )
        session.add(user)
        await session.flush()
        await audit(
            session,
            actor=actor,
            action="user.created",
            resource_type="user",
            resource_id=user.id,
            detail={"username": username},
        )
    else:
        if not verify_password(user.password_hash, password):
            # A new password ends the sessions that began with the old one.
            await revoke_user_sessions(session, user.id, "password_reset")
        user.password_hash = password_hash
        user.active = True
    if email is not None:
        user.email = email
    if workspace_slug:
        workspace = await get_or_create_workspace(session, workspace_slug, actor=actor)
        exists = (
            await session.execute(
                select(Membership).where(
                    Membership.user_id == user.id,
                    Membership.workspace_id == workspace.id,
                    Membership.role == role,
                )
            )
        ).scalar_one_or_none()
        if exists is None:
            session.add(Membership(user_id=user.id, workspace_id=workspace.id, role=role))
    elif role not in (user.global_roles or []):
        user.global_roles = sorted({*(user.global_roles or []), role})
    await session.flush()
    await audit(
        session,
        actor=actor,
        action="user.role_granted",
        resource_type="user",
        resource_id=user.id,
        detail={"role": role, "workspace": workspace_slug},
    )
    return user


async def remove_user(session: AsyncSession, username: str, *, actor: str | None = None) -> None:
    """Deactivate: tokens stop working at once; authored versions keep their author."""
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None:
        raise BadRequest(f"no user '{username}'", code="user_not_found", username=username)
    if not user.active:
        raise Conflict(f"'{username}' is already removed", code="user_already_removed", username=username)
    user.active = False
    await revoke_user_sessions(session, user.id, "user_removed")
    await audit(
        session,
        actor=actor,
        action="user.removed",
        resource_type="user",
        resource_id=user.id,
        detail={"username": username},
    )
