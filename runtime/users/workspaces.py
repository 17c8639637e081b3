"""Finding a workspace by its slug: the one query every slice, the CLI and the demo use.

`workspace_by_slug` answers the API's 404 (`not_found`, resource `workspace`) when there
is none; `find_workspace` answers None, for callers that create it or word their own
error (the CLI). Neither checks the policy: the caller authorizes what it does there.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import Workspace
from runtime.errors import NotFound


async def find_workspace(session: AsyncSession, slug: str) -> Workspace | None:
    return (await session.execute(select(Workspace).where(Workspace.slug == slug))).scalar_one_or_none()


async def workspace_by_slug(session: AsyncSession, slug: str) -> Workspace:
    workspace = await find_workspace(session, slug)
    if workspace is None:
        raise NotFound("workspace not found", code="not_found", resource="workspace")
    return workspace


async def all_workspaces(session: AsyncSession) -> Sequence[Workspace]:
    """Every workspace, by slug."""
    return (await session.execute(select(Workspace).order_by(Workspace.slug))).scalars().all()


async def workspaces_with_ids(session: AsyncSession, ids: Collection[str]) -> Sequence[Workspace]:
    if not ids:
        return []
    return (await session.execute(select(Workspace).where(Workspace.id.in_(ids)))).scalars().all()
