"""The one place that asks the Polar policy (`dirigent.polar`) who may do what.

This is the only module that imports `oso`. The policy decides; this module
explains: when the policy says no, the reason is built here from the resource's
fields, in words a champion understands.

    authorizer = Authorizer()                      # loads dirigent.polar once
    authorizer.authorize(actor, "edit", flow)      # None, NotFound or Forbidden(reason)
    authorizer.is_allowed(actor, "invoke", assistant)
    authorizer.filter_allowed(actor, "read", runs)
    authorizer.allowed_actions(actor, version)     # {"read", "test_run", ...}
    authorizer.readable_labels(actor, index, ["public", "hr-salaries"])

A resource the caller may not `read` answers 404 (`NotFound("flow not found")`),
so they do not learn it exists; a visible resource they may not act on answers
403 (`Forbidden` with a reason).

Only classes from `runtime.policy.resources` are accepted; anything else is a
programming error (`TypeError`), not a denial. Build one `Authorizer` per process
and share it: it loads the policy once.

Cost (oso 0.27.3, measured on a busy 2-core box, best of 7): an allowed `authorize`
is one Polar query, about 0.2 ms (0.4-0.5 ms for four eyes and assignee checks); a
refusal is two queries (the action, then `read`), about 0.8 ms; `allowed_actions`
tries every permission, about 2 ms, so list views should use `filter_allowed` with
the one action they need.

Answers to `allow` are remembered (an LRU of `ANSWERS_KEPT`), keyed by everything the
rules can look at: every field of the actor, the action, and the resource's type and
every field. That is sound because the policy is a pure function of those values —
the rules read the fields of these frozen views and call their pure methods, nothing
else — and the policy is loaded once. A change anywhere (a role granted or taken, a
version submitted, a task assigned) makes a different key, never a stale answer. A hit
costs about 2 µs instead of a Polar query.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from cachetools import LRUCache
from oso import Oso

from runtime.errors import Forbidden, NotFound
from runtime.policy.resources import (
    Actor,
    ApprovalTask,
    Assistant,
    Connection,
    Flow,
    FlowVersion,
    KnowledgeIndex,
    Notification,
    Platform,
    Run,
    Workspace,
)

__all__ = ["DEFAULT_POLICY", "RESOURCE_KINDS", "Authorizer"]

log = logging.getLogger(__name__)

T = TypeVar("T")
ANSWERS_KEPT = 4096

DEFAULT_POLICY = Path(__file__).with_name("dirigent.polar")

# Polar reserves the name "Actor" (it is the abstract type of actor blocks),
# so the caller's class is known to the policy as "Caller".
ACTOR_CLASS_NAME = "Caller"

# Every resource class the policy knows, with the words used for it in messages.
RESOURCE_KINDS: dict[type, str] = {
    Platform: "platform",
    Workspace: "workspace",
    Flow: "flow",
    FlowVersion: "flow version",
    Assistant: "assistant",
    Run: "run",
    ApprovalTask: "approval task",
    KnowledgeIndex: "knowledge index",
    Connection: "connection",
    Notification: "notification",
}

# What is needed for each (resource, action) the policy declares, in words. Used only
# to explain a refusal the policy already made; the policy stays the judge. Keep this
# in step with the `permissions` lists in dirigent.polar (a test checks that it is).
#   value: (what the caller tried, what it needs)
_CHAMPION = "the role champion or admin in its workspace"
_ADMIN = "the role admin in its workspace (or the global role admin)"
_EXPLANATIONS: dict[type, dict[str, tuple[str, str]]] = {
    Platform: {
        "read": ("see the platform", "a signed-in account"),
        "manage_users": ("manage users", "the global role admin"),
        "manage_endpoints": ("manage model endpoints", "the global role admin"),
        "create_workspace": ("create workspaces", "the global role admin"),
        "read_audit": ("read the audit trail", "the global role admin or board"),
        "anchor_audit": ("anchor the audit trail's head", "the global role admin or board"),
        "read_starters": (
            "see the starter flows",
            "the role champion or admin in a workspace (or the global role admin)",
        ),
        "read_health": ("see the runtime's health details", "the global role admin"),
        "manage_notifications": ("choose how notifications are mailed", "the global role admin"),
        "manage_mcp_servers": ("register MCP servers for agents", "the global role admin"),
        "read_mcp_servers": (
            "see the MCP servers and their tools",
            "the role champion or admin in a workspace (or the global role admin)",
        ),
    },
    Workspace: {
        "read": ("see this workspace", "a role in it, or the global role board or admin"),
        "read_knowledge": ("read the knowledge of this workspace", "a role in it"),
        "create_flow": ("create flows in this workspace", "the role champion or admin in it"),
        "manage_knowledge": (
            "manage the knowledge of this workspace",
            "the role champion or admin in it",
        ),
        "read_monitoring": (
            "read the monitoring of this workspace",
            "the role champion or admin in it, or the global role board",
        ),
        "manage": ("manage this workspace", "the role admin in it (or the global role admin)"),
        "manage_connections": (
            "manage the connections of this workspace",
            "the role admin in it (or the global role admin)",
        ),
    },
    Flow: {
        "read": ("see this flow", f"{_CHAMPION}, or the global role board"),
        "edit": ("edit this flow", _CHAMPION),
        "delete": ("delete this flow", _ADMIN),
    },
    FlowVersion: {
        "read": ("see this flow version", f"{_CHAMPION}, or the global role board"),
        "test_run": ("test-run this flow version", _CHAMPION),
        "run_tests": ("run the test cases of this flow version", f"{_CHAMPION}, or the global role board"),
        "submit": ("submit this flow version for approval", _CHAMPION),
        "override_test_gate": (
            "submit this flow version although its test cases did not pass",
            "the role admin in its workspace (or the global role admin)",
        ),
        "approve": (
            "approve this flow version",
            "the global role board, held by someone who neither authored nor submitted it",
        ),
        "reject": (
            "reject this flow version",
            "the global role board, held by someone who neither authored nor submitted it",
        ),
        "publish": ("publish this flow version", f"{_CHAMPION} (or the global role admin)"),
        "retire": ("retire this flow version", f"{_CHAMPION}, or the global role board"),
    },
    Assistant: {
        "read": (
            "see this assistant",
            "a role in its workspace or in one of its audience workspaces, while it is live",
        ),
        "invoke": (
            "use this assistant",
            "a role in its workspace or in one of its audience workspaces, while it is live",
        ),
    },
    Run: {
        "read": (
            "see this run",
            "that you started it, an approval task of it assigned to you, "
            "the role champion or admin in its workspace, or the global role board or admin",
        ),
        "cancel": ("cancel this run", "that you started it, or " + _ADMIN),
        "feedback": ("give feedback on this run", "that you started it"),
    },
    ApprovalTask: {
        "read": ("see this approval task", "that it is assigned to you, or " + _ADMIN),
        "decide": (
            "decide this approval task",
            "that it is assigned to you and was not raised by a run you started",
        ),
    },
    KnowledgeIndex: {
        "read": ("see this knowledge index", "a role in its workspace, or the global role board"),
        "manage": ("manage this knowledge index", _CHAMPION),
    },
    Connection: {
        "read": ("see this connection", _CHAMPION),
        "use": ("use this connection", _CHAMPION),
        "manage": ("manage this connection", _ADMIN),
    },
    Notification: {
        "read": ("see this notification", "that it was sent to you"),
        "mark_read": ("mark this notification read", "that it was sent to you"),
    },
}

# Flow work the governance board reviews but does not do.
_BOARD_DOES_NOT = {"edit": "edit", "test_run": "test-run", "submit": "submit"}


class Authorizer:
    """Asks `dirigent.polar` and turns its answers into `NotFound` / `Forbidden`."""

    def __init__(self, policy_file: Path | None = None) -> None:
        self.policy_file = Path(policy_file) if policy_file is not None else DEFAULT_POLICY
        self._oso = Oso()
        self._oso.register_class(Actor, name=ACTOR_CLASS_NAME)
        for cls in RESOURCE_KINDS:
            self._oso.register_class(cls)
        self._oso.load_files([self.policy_file])
        self._answers: LRUCache[Hashable, bool] = LRUCache(maxsize=ANSWERS_KEPT)

    # -- questions ---------------------------------------------------------------------

    def is_allowed(self, actor: Actor, action: str, resource: object) -> bool:
        self._check(actor, resource)
        return self._allow(actor, action, resource)

    def authorize(self, actor: Actor, action: str, resource: object) -> None:
        """Return if allowed; else `NotFound` when `read` is refused too, else `Forbidden`
        (the rule of `Oso.authorize`, with remembered answers)."""
        self._check(actor, resource)
        if self._allow(actor, action, resource):
            return
        if action == "read" or not self._allow(actor, "read", resource):
            self._log_denial(actor, action, resource, "not found")
            kind = _kind(resource)
            hidden = NotFound(f"{kind} not found", code="not_found", resource=kind.replace(" ", "_"))
            hidden.policy_denial = True  # audited like a 403; answered as if it did not exist
            raise hidden
        self._log_denial(actor, action, resource, "forbidden")
        denial = self.denial(actor, action, resource)
        # Every denial is `forbidden` (what clients and the policy matrix test for); `reason`
        # says which rule, with its parameters, for clients to say it in their language.
        raise Forbidden(denial.message, code="forbidden", reason=denial.reason, **denial.params)

    def filter_allowed(self, actor: Actor, action: str, resources: Iterable[T]) -> list[T]:
        return [resource for resource in resources if self.is_allowed(actor, action, resource)]

    def allowed_actions(self, actor: Actor, resource: object) -> set[str]:
        self._check(actor, resource)
        return {str(action) for action in self._oso.authorized_actions(actor, resource)}

    def readable_labels(
        self, actor: Actor, index: KnowledgeIndex, labels: Iterable[str] | None = None
    ) -> set[str]:
        """The subset of `labels` (default: the index's labels) the caller may read.

        Decided by the `can_read_label` rule of the policy: unrestricted labels are
        readable by whoever may read the index; `hr-*` and `confidential*` labels need
        admin of the workspace or the workspace role named after the prefix.
        """
        self._check(actor, index)
        if not isinstance(index, KnowledgeIndex):
            raise TypeError(f"readable_labels needs a KnowledgeIndex, got {type(index).__name__}")
        candidates = index.labels if labels is None else labels
        return {
            label for label in candidates if self._oso.query_rule_once("can_read_label", actor, label, index)
        }

    # -- reasons -----------------------------------------------------------------------

    def explain(self, actor: Actor, action: str, resource: object) -> str:
        """Why `actor` may not `action` `resource`, in words; call after the policy said no."""
        return self.denial(actor, action, resource).message

    def denial(self, actor: Actor, action: str, resource: object) -> Denial:
        """`explain`, with the code and parameters of the reason."""
        special = _special_reason(actor, action, resource)
        if special:
            return special
        kind = _kind(resource)
        what, needs = _EXPLANATIONS.get(type(resource), {}).get(
            action, (f"{action.replace('_', ' ')} this {kind}", "")
        )
        message = (
            f"you may not {what}; it needs {needs}"
            if needs
            else f"you may not {what}; no rule of the policy allows it"
        )
        return Denial(message, "policy", {"action": action, "resource": kind.replace(" ", "_")})

    # -- internals ---------------------------------------------------------------------

    def _allow(self, actor: Actor, action: str, resource: object) -> bool:
        """The policy's `allow`, remembered by everything it depends on (module docstring)."""
        key = (_actor_key(actor), action, type(resource), resource)
        try:
            answer = self._answers.get(key)
        except TypeError:  # a view with an unhashable field: ask every time
            return bool(self._oso.query_rule_once("allow", actor, action, resource))
        if answer is None:
            answer = bool(self._oso.query_rule_once("allow", actor, action, resource))
            self._answers[key] = answer  # the least recently used answer goes at ANSWERS_KEPT
        return answer

    @staticmethod
    def _check(actor: Actor, resource: object) -> None:
        if not isinstance(actor, Actor):
            raise TypeError(f"the caller must be an Actor, got {type(actor).__name__}")
        if type(resource) not in RESOURCE_KINDS:
            raise TypeError(
                f"the policy knows no resource of type {type(resource).__name__}; "
                f"build one of {', '.join(cls.__name__ for cls in RESOURCE_KINDS)}"
            )

    @staticmethod
    def _log_denial(actor: Actor, action: str, resource: object, outcome: str) -> None:
        # Ids only: no usernames, labels, payloads or other resource contents.
        log.debug(
            "policy denied %s: actor=%s action=%s %s=%s",
            outcome,
            actor.id,
            action,
            type(resource).__name__,
            getattr(resource, "id", getattr(resource, "slug", "?")),
        )


def _actor_key(actor: Actor) -> Hashable:
    """Every field of the actor, hashable (its `workspace_roles` is a dict)."""
    return (
        actor.id,
        actor.username,
        actor.global_roles,
        frozenset(actor.workspace_roles.items()),
    )


def _kind(resource: object) -> str:
    return RESOURCE_KINDS.get(type(resource), type(resource).__name__)


class Denial(NamedTuple):
    """Why the policy said no: the English words, and the reason with its parameters (the
    `reason` of the code `forbidden`, runtime/codes/answers.py) that clients say in their
    own language."""

    message: str
    reason: str
    params: dict[str, Any]


def _special_reason(actor: Actor, action: str, resource: object) -> Denial | None:
    """Reasons that depend on the resource's fields rather than on roles alone."""
    if isinstance(resource, FlowVersion) and action in ("approve", "reject"):
        if not actor.has_global_role("board"):
            return None
        this = _version_words(resource)
        number = getattr(resource, "number", None)
        if actor.id == resource.author_id:
            return Denial(
                f"four eyes: you authored {this} of this flow, so another board member must {action} it",
                "four_eyes_author",
                {"number": number, "action": action},
            )
        if actor.id == resource.submitted_by:
            return Denial(
                f"four eyes: you submitted {this} of this flow for approval, "
                f"so another board member must {action} it",
                "four_eyes_submitter",
                {"number": number, "action": action},
            )
        if actor.id in resource.reviewed_by:
            return Denial(
                "you already reviewed this version in this review round; "
                f"another board member must {action} it",
                "already_reviewed",
                {"action": action},
            )
        return None
    if (
        isinstance(resource, Flow | FlowVersion)
        and action in _BOARD_DOES_NOT
        and actor.has_global_role("board")
    ):
        return Denial(
            f"board members review flows but do not {_BOARD_DOES_NOT[action]} them",
            "board_does_not",
            {"action": action},
        )
    if isinstance(resource, ApprovalTask) and action == "decide":
        assigned_to = ", ".join(resource.assignees) or "nobody"
        assignees = {"assignees": ", ".join(resource.assignees)}
        if actor.matches_assignee(resource.assignees, resource.workspace_id):
            if actor.id in resource.decided_by:
                return Denial(
                    "you already decided this approval task; each assignee decides once",
                    "task_already_decided",
                    {},
                )
            if actor.id == resource.requested_by:
                return Denial(
                    "four eyes: you started the run that raised this approval task, so another "
                    f"assignee ({assigned_to}) must decide it",
                    "four_eyes_requester",
                    assignees,
                )
            return None
        if actor.has_global_role("admin") or actor.has_workspace_role(resource.workspace_id, "admin"):
            return Denial(
                "admins see every approval task of their workspace, but only its assignees "
                f"decide it; this one is assigned to {assigned_to}",
                "admin_not_assignee",
                assignees,
            )
        return Denial(
            f"you may not decide this approval task; it is assigned to {assigned_to}",
            "not_assignee",
            assignees,
        )
    return None


def _version_words(version: FlowVersion) -> str:
    # Views built from a stored version carry its number; hand-built ones may not.
    number = getattr(version, "number", None)
    return f"version {number}" if number is not None else "this version"
