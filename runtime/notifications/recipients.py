"""Who is told: people found by role or name, then asked of the policy.

The candidates are wide on purpose (everybody who holds a role an assignee names, every
board member); the policy (`dirigent.polar`) then keeps exactly those who may act — the
same rule that decides their request later, four eyes included. So a notification never
tells someone about a task or version they could not decide, and who may decide is
written in one place only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import ApprovalTask, Flow, FlowVersion, Membership, User
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import task_view, version_view


async def actors(session: AsyncSession, user_ids: Iterable[str]) -> list[Actor]:
    """The active users among `user_ids`, as the policy sees them (one query)."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return []
    rows = await session.execute(
        select(User.id, User.username, User.global_roles, Membership.workspace_id, Membership.role)
        .outerjoin(Membership, Membership.user_id == User.id)
        .where(User.id.in_(wanted), User.active.is_(True))
    )
    people: dict[str, tuple[str, frozenset[str], dict[str, set[str]]]] = {}
    for user_id, username, global_roles, workspace_id, role in rows:
        _, _, roles = people.setdefault(user_id, (username, frozenset(global_roles or ()), {}))
        if workspace_id is not None:
            roles.setdefault(workspace_id, set()).add(role)
    return [
        Actor(
            id=user_id,
            username=username,
            global_roles=global_roles,
            workspace_roles={key: frozenset(value) for key, value in roles.items()},
        )
        for user_id, (username, global_roles, roles) in sorted(people.items())
    ]


def _global_role_like(role: str) -> Any:
    # global_roles is a JSON list; its text holds the role in quotes on every backend. The
    # policy checks each candidate properly; this only keeps the candidate list short.
    return cast(User.global_roles, String).like(f'%"{role}"%')


async def holders_of_global_role(session: AsyncSession, role: str) -> list[str]:
    rows = await session.execute(
        select(User.id, User.global_roles).where(User.active.is_(True), _global_role_like(role))
    )
    return [user_id for user_id, roles in rows if role in (roles or ())]


async def assignee_candidates(session: AsyncSession, assignees: Iterable[str], workspace_id: str) -> set[str]:
    """Users an assignee list may mean: `user:<name>`, and holders of the role a
    `role:<role>` (or `department:<name>`) names, globally or in the workspace."""
    names, roles = set(), set()
    for assignee in assignees:
        kind, _, name = str(assignee).partition(":")
        if not name:
            continue
        if kind == "user":
            names.add(name)
        else:  # role:, department: -- whether such a holder may decide is the policy's call
            roles.add(name)
    found: set[str] = set()
    if names:
        found |= set(
            (await session.execute(select(User.id).where(User.username.in_(sorted(names))))).scalars()
        )
    if roles:
        found |= set(
            (
                await session.execute(
                    select(Membership.user_id).where(
                        Membership.workspace_id == workspace_id, Membership.role.in_(sorted(roles))
                    )
                )
            ).scalars()
        )
        rows = await session.execute(
            select(User.id, User.global_roles).where(
                or_(*(_global_role_like(role) for role in sorted(roles)))
            )
        )
        found |= {user_id for user_id, held in rows if roles & set(held or ())}
    return found


async def version_deciders(
    session: AsyncSession, authz: Authorizer, flow: Flow, version: FlowVersion
) -> list[str]:
    """Board members the policy lets approve `version` now (not its author or submitter)."""
    view = await version_view(session, flow, version)
    candidates = await actors(session, await holders_of_global_role(session, "board"))
    return [actor.id for actor in candidates if authz.is_allowed(actor, "approve", view)]


async def task_deciders(session: AsyncSession, authz: Authorizer, task: ApprovalTask) -> list[str]:
    """Assignees the policy lets decide `task` (never the run's requester under four eyes)."""
    # Asked as of an open task: an expired one is told to those who could have decided it.
    view = replace(await task_view(session, task), status="open")
    candidates = await actors(session, await assignee_candidates(session, task.assignees, task.workspace_id))
    return [actor.id for actor in candidates if authz.is_allowed(actor, "decide", view)]
