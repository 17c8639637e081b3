"""`/api/me`, `/api/workspaces` (signing in and out: `runtime/users/auth_controller.py`)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from runtime.api.deps import Caller, Root
from runtime.api.schemas import WorkspaceCreate
from runtime.users.responses import MeOut, WorkspaceCreatedOut, WorkspaceOut
from runtime.users.user_service import UserService


def provide_users(root: Root) -> UserService:
    return UserService(db=root.db, authz=root.authz)


Users = NamedDependency[UserService]


class UserController(Controller):
    path = "/api"
    tags = ["users"]
    dependencies = {"users": Provide(provide_users, sync_to_thread=False)}

    @get("/me")
    async def me(self, users: Users, actor: Caller) -> MeOut:
        return await users.me(actor)

    @get("/workspaces")
    async def list_workspaces(self, users: Users, actor: Caller) -> list[WorkspaceOut]:
        return await users.list_workspaces(actor)

    @post("/workspaces")
    async def create_workspace(
        self, users: Users, actor: Caller, data: JSONBody[WorkspaceCreate]
    ) -> WorkspaceCreatedOut:
        return await users.create_workspace(actor, data.slug, data.name)
