"""Users, workspaces and memberships; building the policy's `Actor` for a request."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import append as audit
from runtime.db.database import Database
from runtime.db.models import Membership, User, Workspace
from runtime.errors import BadRequest, Conflict, Unauthorized
from runtime.policy.resources import Actor
from runtime.users.passwords import hash_password, verify_password

WORKSPACE_ROLES = ("admin", "champion", "user")
GLOBAL_ROLES = ("board", "admin")
ROLES = ("admin", "champion", "user", "board")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


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


async def read_actor(db: Database, user_id: str) -> Actor | None:
    """`load_actor` for every request: read afresh each time (a removed user's token, or
    a role taken away, must count at once, also when another process changed it), with
    `Database.rows`, so that on SQLite it costs microseconds rather than thread hops."""
    return _actor_of(user_id, await db.rows(_ACTOR_ROWS, {"user_id": user_id}))


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
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if not verify_password(user.password_hash if user else None, password) or user is None or not user.active:
        raise Unauthorized("wrong username or password", code="login_failed")
    return user


async def get_or_create_workspace(
    session: AsyncSession, slug: str, name: str | None = None, *, actor: str | None = None
) -> Workspace:
    if not SLUG.fullmatch(slug):
        raise BadRequest(f"'{slug}' is not a workspace slug: lowercase letters, digits and -")
    existing = (await session.execute(select(Workspace).where(Workspace.slug == slug))).scalar_one_or_none()
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
) -> User:
    """Create a user (or give an existing one another role). Workspace roles need a workspace."""
    if not USERNAME.fullmatch(username):
        raise BadRequest(f"'{username}' is not a username: letters, digits and _ . @ - (max 64)")
    if role not in ROLES:
        raise BadRequest(f"unknown role '{role}'; roles: {', '.join(ROLES)}")
    if role == "board" and workspace_slug:
        raise BadRequest("'board' is a global role; give no workspace")
    if role in ("champion", "user") and not workspace_slug:
        raise BadRequest(f"the role '{role}' belongs to a workspace; give --workspace")
    try:
        password_hash = hash_password(password)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
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
        user.password_hash = password_hash
        user.active = True
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
        raise BadRequest(f"no user '{username}'")
    if not user.active:
        raise Conflict(f"'{username}' is already removed")
    user.active = False
    await audit(
        session,
        actor=actor,
        action="user.removed",
        resource_type="user",
        resource_id=user.id,
        detail={"username": username},
    )
