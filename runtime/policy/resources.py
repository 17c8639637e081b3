"""What the policy reasons about: small, immutable views of the caller and of resources.

The Polar rules in `dirigent.polar` see only these classes, never ORM rows, so the
policy stays readable and the authorizer can be tested without a database. Services
build them with the `from_*` helpers in `runtime.policy.views`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """The caller. `workspace_roles` maps a workspace id to the roles held there."""

    id: str
    username: str
    global_roles: frozenset[str] = frozenset()
    workspace_roles: dict[str, frozenset[str]] = field(default_factory=dict)

    def has_global_role(self, role: str) -> bool:
        return role in self.global_roles

    def has_workspace_role(self, workspace_id: str, role: str) -> bool:
        return role in self.workspace_roles.get(workspace_id, frozenset())

    def workspace_ids(self) -> list[str]:
        """The workspaces in which the caller holds a role."""
        return [workspace_id for workspace_id, roles in self.workspace_roles.items() if roles]

    def is_member(self, workspace_id: str) -> bool:
        return bool(self.workspace_roles.get(workspace_id))

    def is_member_of_any(self, workspace_ids: Iterable[str]) -> bool:
        return any(self.is_member(workspace_id) for workspace_id in workspace_ids)

    def matches_assignee(self, assignees: Iterable[str], workspace_id: str) -> bool:
        """`user:<name>` names this user; `role:<role>` a role held globally or in the workspace."""
        for assignee in assignees:
            kind, _, name = assignee.partition(":")
            if kind == "user" and name == self.username:
                return True
            if kind == "role" and (self.has_global_role(name) or self.has_workspace_role(workspace_id, name)):
                return True
        return False


@dataclass(frozen=True)
class Platform:
    """The runtime as a whole: users, model endpoints, the audit trail."""

    id: str = "platform"


@dataclass(frozen=True)
class Workspace:
    id: str
    slug: str


@dataclass(frozen=True)
class Flow:
    id: str
    workspace_id: str
    created_by: str


@dataclass(frozen=True)
class FlowVersion:
    id: str
    flow_id: str
    workspace_id: str
    author_id: str
    submitted_by: str | None
    state: str
    number: int | None = None
    # Board members who already gave a decision in the current review round.
    reviewed_by: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Assistant:
    """A flow with a live version, invocable by users of its workspace and audience."""

    flow_id: str
    slug: str
    workspace_id: str
    audience_workspace_ids: frozenset[str] = frozenset()
    is_live: bool = True


@dataclass(frozen=True)
class Run:
    id: str
    workspace_id: str
    started_by: str | None
    # Assignees of approval tasks raised by this run (they may see it).
    task_assignees: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApprovalTask:
    id: str
    workspace_id: str
    assignees: tuple[str, ...]
    status: str
    decided_by: frozenset[str] = frozenset()
    # Four eyes on tasks: who started the run that raised it ("" for a run without a
    # person), whether its node lets them decide anyway, and the risk on the flow's card.
    requested_by: str = ""
    requester_may_decide: bool = False
    risk: str = ""


@dataclass(frozen=True)
class KnowledgeIndex:
    id: str
    workspace_id: str
    labels: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Connection:
    id: str
    workspace_id: str


@dataclass(frozen=True)
class Notification:
    """One entry of a person's inbox (`runtime.notifications`)."""

    id: str
    recipient_id: str
