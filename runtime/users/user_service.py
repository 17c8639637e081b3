"""`UserService`: what `/api/me` and `/api/workspaces` ask of the users slice, bound to the
database and the policy (given to handlers by `provide_users` in `runtime.users.controller`)."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.db.database import Database
from runtime.errors import Conflict
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor, Platform
from runtime.policy.views import workspace_view
from runtime.users.responses import MeOut, WorkspaceCreatedOut, WorkspaceOut
from runtime.users.service import get_or_create_workspace
from runtime.users.workspaces import all_workspaces, find_workspace, workspaces_with_ids


@dataclass(frozen=True, slots=True)
class UserService:
    db: Database
    authz: Authorizer

    async def me(self, actor: Actor) -> MeOut:
        """The caller, their global roles and their workspaces with their roles there."""
        async with self.db.read() as session:
            workspaces = list(await workspaces_with_ids(session, list(actor.workspace_roles)))
        return MeOut.of(actor, workspaces)

    async def list_workspaces(self, actor: Actor) -> list[WorkspaceOut]:
        """The workspaces the caller may see, by slug."""
        async with self.db.read() as session:
            rows = await all_workspaces(session)
        visible = [row for row in rows if self.authz.is_allowed(actor, "read", workspace_view(row))]
        return [WorkspaceOut.of(row, actor) for row in visible]

    async def create_workspace(self, actor: Actor, slug: str, name: str | None) -> WorkspaceCreatedOut:
        self.authz.authorize(actor, "create_workspace", Platform())
        async with self.db.write() as session:
            if await find_workspace(session, slug) is not None:
                raise Conflict(f"a workspace '{slug}' exists already", code="workspace_exists", slug=slug)
            workspace = await get_or_create_workspace(session, slug, name, actor=actor.username)
        return WorkspaceCreatedOut(id=workspace.id, slug=workspace.slug, name=workspace.name)
