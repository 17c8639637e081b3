"""`/api/me`, `/api/workspaces` (signing in and out: `runtime/users/auth_controller.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Controller, get, post
from litestar.params import JSONBody
from sqlalchemy import select

from runtime.api.deps import Caller, Rt, iso
from runtime.api.schemas import WorkspaceCreate
from runtime.db.models import Workspace
from runtime.policy.resources import Platform
from runtime.policy.views import workspace_view
from runtime.users.service import get_or_create_workspace


class UserController(Controller):
    path = "/api"
    tags = ["users"]

    @get("/me")
    async def me(self, rt: Rt, actor: Caller) -> dict[str, Any]:
        async with rt.db.read() as session:
            ids = list(actor.workspace_roles)
            rows: Iterable[Workspace] = (
                (await session.execute(select(Workspace).where(Workspace.id.in_(ids)))).scalars()
                if ids
                else []
            )
            workspaces = [
                {"id": w.id, "slug": w.slug, "name": w.name, "roles": sorted(actor.workspace_roles[w.id])}
                for w in rows
            ]
        return {
            "id": actor.id,
            "username": actor.username,
            "global_roles": sorted(actor.global_roles),
            "workspaces": sorted(workspaces, key=lambda item: item["slug"]),
        }

    @get("/workspaces")
    async def list_workspaces(self, rt: Rt, actor: Caller) -> list[dict[str, Any]]:
        async with rt.db.read() as session:
            rows = (await session.execute(select(Workspace).order_by(Workspace.slug))).scalars().all()
        visible = [row for row in rows if rt.authz.is_allowed(actor, "read", workspace_view(row))]
        return [
            {
                "id": row.id,
                "slug": row.slug,
                "name": row.name,
                "created_at": iso(row.created_at),
                "roles": sorted(actor.workspace_roles.get(row.id, ())),
            }
            for row in visible
        ]

    @post("/workspaces")
    async def create_workspace(
        self, rt: Rt, actor: Caller, data: JSONBody[WorkspaceCreate]
    ) -> dict[str, Any]:
        rt.authz.authorize(actor, "create_workspace", Platform())
        async with rt.db.write() as session:
            existing = (
                await session.execute(select(Workspace).where(Workspace.slug == data.slug))
            ).scalar_one_or_none()
            if existing:
                from runtime.errors import Conflict

                raise Conflict(
                    f"a workspace '{data.slug}' exists already",
                    code="workspace_exists",
                    slug=data.slug,
                )
            workspace = await get_or_create_workspace(session, data.slug, data.name, actor=actor.username)
        return {"id": workspace.id, "slug": workspace.slug, "name": workspace.name}
