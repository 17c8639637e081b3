"""Remembered policy answers (`Authorizer._allow`): keyed by everything the rules can
see, so a changed actor or resource is asked afresh and never gets a stale answer."""

from __future__ import annotations

import pytest

from runtime.errors import Forbidden, NotFound
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor, Assistant, FlowVersion, Run

AUTHZ = Authorizer()


def member(*roles: str, workspace: str = "w1", user_id: str = "u1") -> Actor:
    return Actor(id=user_id, username=user_id, workspace_roles={workspace: frozenset(roles)} if roles else {})


ASSISTANT = Assistant(flow_id="f1", slug="sales", workspace_id="w1")


def test_a_role_taken_away_is_seen_at_once() -> None:
    assert AUTHZ.is_allowed(member("user"), "invoke", ASSISTANT)
    assert AUTHZ.is_allowed(member("user"), "invoke", ASSISTANT)  # remembered
    with pytest.raises(NotFound):
        AUTHZ.authorize(member(), "invoke", ASSISTANT)
    assert not AUTHZ.is_allowed(member("user", workspace="w2"), "invoke", ASSISTANT)


def test_a_changed_resource_is_asked_afresh() -> None:
    assert AUTHZ.is_allowed(member("user"), "invoke", ASSISTANT)
    retired = Assistant(flow_id="f1", slug="sales", workspace_id="w1", is_live=False)
    assert not AUTHZ.is_allowed(member("user"), "invoke", retired)


def test_four_eyes_still_holds_with_remembered_answers() -> None:
    board = Actor(id="b1", username="b1", global_roles=frozenset({"board"}))
    version = FlowVersion(
        id="v1", flow_id="f1", workspace_id="w1", author_id="c1", submitted_by="c1", state="submitted"
    )
    AUTHZ.authorize(board, "approve", version)
    AUTHZ.authorize(board, "approve", version)
    own = FlowVersion(
        id="v1", flow_id="f1", workspace_id="w1", author_id="c1", submitted_by="b1", state="submitted"
    )
    with pytest.raises(Forbidden, match="four eyes"):
        AUTHZ.authorize(board, "approve", own)


def test_who_started_a_run_decides_who_reads_it() -> None:
    run = Run(id="r1", workspace_id="w1", started_by="u1")
    assert AUTHZ.is_allowed(member("user"), "read", run)
    assert not AUTHZ.is_allowed(member("user", user_id="u2"), "read", run)
    assigned = Run(id="r1", workspace_id="w1", started_by="u1", task_assignees=("user:u2",))
    assert AUTHZ.is_allowed(member("user", user_id="u2"), "read", assigned)
