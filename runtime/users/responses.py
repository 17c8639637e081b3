"""What the users API answers: the caller, workspaces, sign-in and what an admin changed.

Datetimes are ISO strings (`runtime.db.models.iso`, and `datetime.isoformat` for a
token's expiry), as the API has always sent them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from runtime.db.models import Workspace, iso
from runtime.policy.resources import Actor


class MyWorkspaceOut(BaseModel):
    id: str
    slug: str
    name: str
    roles: list[str] = Field(description="The caller's roles there: admin, champion, user")


class MeOut(BaseModel):
    id: str
    username: str
    global_roles: list[str] = Field(description="board, admin")
    workspaces: list[MyWorkspaceOut] = Field(description="Where the caller has a role, by slug")

    @classmethod
    def of(cls, actor: Actor, workspaces: list[Workspace]) -> MeOut:
        mine = [
            MyWorkspaceOut(id=w.id, slug=w.slug, name=w.name, roles=sorted(actor.workspace_roles[w.id]))
            for w in workspaces
        ]
        return cls(
            id=actor.id,
            username=actor.username,
            global_roles=sorted(actor.global_roles),
            workspaces=sorted(mine, key=lambda item: item.slug),
        )


class WorkspaceOut(BaseModel):
    id: str
    slug: str
    name: str
    created_at: str | None
    roles: list[str] = Field(description="The caller's roles there (none: visible by a global role)")

    @classmethod
    def of(cls, workspace: Workspace, actor: Actor) -> WorkspaceOut:
        return cls(
            id=workspace.id,
            slug=workspace.slug,
            name=workspace.name,
            created_at=iso(workspace.created_at),
            roles=sorted(actor.workspace_roles.get(workspace.id, ())),
        )


class WorkspaceCreatedOut(BaseModel):
    id: str
    slug: str
    name: str


# -- signing in and out, and an admin's changes (runtime/users/auth_controller.py) -------
class SignedInUserOut(BaseModel):
    id: str
    username: str


class SignInOut(BaseModel):
    token: str = Field(description="Send it as `Authorization: Bearer <token>`")
    token_type: str = Field(description="Bearer")
    expires_at: str
    user: SignedInUserOut


class SignedOutOut(BaseModel):
    signed_out: bool


class SessionsEndedOut(BaseModel):
    username: str
    sessions_ended: int


class RoleRemovedOut(BaseModel):
    username: str
    role: str
    workspace: str | None
    sessions_ended: int
