"""The access policy (`runtime/policy/dirigent.polar`) through `runtime.policy.authorizer`.

The matrix below is the policy's specification in one table: every resource kind x
action x caller, with the expected outcome

    A  allowed
    F  forbidden  (403: the caller sees the resource but may not do this)
    N  not found  (404: the caller may not even see it)

All resources live in workspace `w1`. The callers:

    admin     role admin in w1            board     global role board
    champion  role champion in w1         gadmin    global role admin
    user      role user in w1             stranger  no role at all
    other     role user in w2 (another workspace)

The approval task and the run's task are assigned to `role:champion`; the run was
started by somebody else; the flow version was authored and submitted by somebody
else (four eyes is covered separately below).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runtime.errors import Forbidden, NotFound
from runtime.policy.authorizer import DEFAULT_POLICY, RESOURCE_KINDS, Authorizer
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


def actor(
    user_id: str,
    *,
    global_roles: tuple[str, ...] = (),
    **workspace_roles: tuple[str, ...],
) -> Actor:
    return Actor(
        id=user_id,
        username=user_id,
        global_roles=frozenset(global_roles),
        workspace_roles={ws: frozenset(roles) for ws, roles in workspace_roles.items()},
    )


CALLERS: dict[str, Actor] = {
    "admin": actor("ada", w1=("admin",)),
    "champion": actor("cara", w1=("champion",)),
    "user": actor("ute", w1=("user",)),
    "other": actor("otto", w2=("user",)),
    "board": actor("bea", global_roles=("board",)),
    "gadmin": actor("gus", global_roles=("admin",)),
    "stranger": actor("stan"),
}

RESOURCES: dict[str, object] = {
    "platform": Platform(),
    "workspace": Workspace(id="w1", slug="sales"),
    "flow": Flow(id="f1", workspace_id="w1", created_by="cara"),
    "version": FlowVersion(
        id="v1",
        flow_id="f1",
        workspace_id="w1",
        author_id="someone",
        submitted_by="someone-else",
        state="submitted",
    ),
    "assistant": Assistant(flow_id="f1", slug="salesgpt", workspace_id="w1"),
    "run": Run(id="r1", workspace_id="w1", started_by="someone", task_assignees=("role:champion",)),
    "task": ApprovalTask(id="t1", workspace_id="w1", assignees=("role:champion",), status="open"),
    "index": KnowledgeIndex(id="k1", workspace_id="w1", labels=frozenset({"public"})),
    "connection": Connection(id="c1", workspace_id="w1"),
    "notification": Notification(id="n1", recipient_id="ute"),
}

MATRIX = """
resource    action              admin champion user other board gadmin stranger
platform    read                A     A        A    A     A     A      A
platform    manage_users        F     F        F    F     F     A      F
platform    manage_endpoints    F     F        F    F     F     A      F
platform    create_workspace    F     F        F    F     F     A      F
platform    read_audit          F     F        F    F     A     A      F
platform    anchor_audit        F     F        F    F     A     A      F
platform    read_starters       A     A        F    F     F     A      F
platform    read_health         F     F        F    F     F     A      F
platform    manage_notifications F    F        F    F     F     A      F
platform    manage_mcp_servers  F     F        F    F     F     A      F
platform    read_mcp_servers    A     A        F    F     F     A      F

workspace   read                A     A        A    N     A     A      N
workspace   read_knowledge      A     A        A    N     F     A      N
workspace   create_flow         A     A        F    N     F     A      N
workspace   manage_knowledge    A     A        F    N     F     A      N
workspace   read_monitoring     A     A        F    N     A     A      N
workspace   manage              A     F        F    N     F     A      N
workspace   manage_connections  A     F        F    N     F     A      N

flow        read                A     A        N    N     A     A      N
flow        edit                A     A        N    N     F     A      N
flow        delete              A     F        N    N     F     A      N

version     read                A     A        N    N     A     A      N
version     test_run            A     A        N    N     F     A      N
version     run_tests           A     A        N    N     A     A      N
version     submit              A     A        N    N     F     A      N
version     override_test_gate  A     F        N    N     F     A      N
version     approve             F     F        N    N     A     F      N
version     reject              F     F        N    N     A     F      N
version     publish             A     A        N    N     F     A      N
version     retire              A     A        N    N     A     A      N

assistant   read                A     A        A    N     N     A      N
assistant   invoke              A     A        A    N     N     A      N

run         read                A     A        N    N     A     A      N
run         cancel              A     F        N    N     F     A      N
run         feedback            F     F        N    N     F     F      N

task        read                A     A        N    N     N     A      N
task        decide              F     A        N    N     N     F      N

index       read                A     A        A    N     A     A      N
index       manage              A     A        F    N     F     A      N

connection  read                A     A        N    N     N     A      N
connection  use                 A     A        N    N     N     A      N
connection  manage              A     F        N    N     N     A      N

notification read               N     N        A    N     N     N      N
notification mark_read          N     N        A    N     N     N      N
"""


def _parse_matrix() -> list[tuple[str, str, str, str]]:
    lines = [line.split() for line in MATRIX.strip().splitlines() if line.strip()]
    header, rows = lines[0], lines[1:]
    callers = header[2:]
    assert callers == list(CALLERS), "matrix columns must match CALLERS"
    cases = []
    for resource, action, *outcomes in rows:
        assert len(outcomes) == len(callers), f"row {resource} {action} has a wrong width"
        for caller, outcome in zip(callers, outcomes, strict=True):
            cases.append((resource, action, caller, outcome))
    return cases


CASES = _parse_matrix()


@pytest.fixture(scope="module")
def authz() -> Authorizer:
    return Authorizer()


def outcome_of(authz: Authorizer, who: Actor, action: str, resource: object) -> str:
    try:
        authz.authorize(who, action, resource)
    except NotFound:
        return "N"
    except Forbidden:
        return "F"
    return "A"


@pytest.mark.parametrize(
    ("resource", "action", "caller", "expected"),
    CASES,
    ids=[f"{r}-{a}-{c}" for r, a, c, _ in CASES],
)
def test_matrix(authz: Authorizer, resource: str, action: str, caller: str, expected: str) -> None:
    who, target = CALLERS[caller], RESOURCES[resource]
    assert outcome_of(authz, who, action, target) == expected
    # The other entry points agree with authorize().
    assert authz.is_allowed(who, action, target) is (expected == "A")
    assert (action in authz.allowed_actions(who, target)) is (expected == "A")
    assert authz.filter_allowed(who, action, [target]) == ([target] if expected == "A" else [])


def test_matrix_covers_every_resource_kind_and_declared_permission() -> None:
    """Each permission declared in dirigent.polar has a row, and nothing else does."""
    declared = _declared_permissions()
    in_matrix: dict[str, set[str]] = {}
    for resource, action, _, _ in CASES:
        in_matrix.setdefault(type(RESOURCES[resource]).__name__, set()).add(action)
    assert in_matrix == declared
    assert {type(r) for r in RESOURCES.values()} == set(RESOURCE_KINDS)


def test_every_declared_permission_has_an_explanation() -> None:
    from runtime.policy.authorizer import _EXPLANATIONS

    explained = {cls.__name__: set(actions) for cls, actions in _EXPLANATIONS.items()}
    assert explained == _declared_permissions()


def _declared_permissions() -> dict[str, set[str]]:
    text = DEFAULT_POLICY.read_text()
    blocks = re.findall(r"resource (\w+) \{(.*?)\n\}", text, flags=re.S)
    declared = {}
    for name, body in blocks:
        match = re.search(r"permissions = \[(.*?)\];", body, flags=re.S)
        assert match, f"resource {name} declares no permissions"
        declared[name] = set(re.findall(r'"(\w+)"', match.group(1)))
    return declared


# -- four eyes ---------------------------------------------------------------------------

BEA = actor("bea", global_roles=("board",))
BRUNO = actor("bruno", global_roles=("board",))


def version(**changes: object) -> FlowVersion:
    fields: dict[str, object] = {
        "id": "v3",
        "flow_id": "f1",
        "workspace_id": "w1",
        "author_id": "cara",
        "submitted_by": "cara",
        "state": "submitted",
    }
    fields.update(changes)
    return FlowVersion(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_four_eyes_author_may_not_decide(authz: Authorizer, action: str) -> None:
    authored = version(author_id="bea", submitted_by="cara")
    with pytest.raises(Forbidden) as raised:
        authz.authorize(BEA, action, authored)
    assert raised.value.message == (
        f"four eyes: you authored this version of this flow, so another board member must {action} it"
    )
    authz.authorize(BRUNO, action, authored)


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_four_eyes_submitter_may_not_decide(authz: Authorizer, action: str) -> None:
    submitted = version(author_id="cara", submitted_by="bea")
    with pytest.raises(Forbidden) as raised:
        authz.authorize(BEA, action, submitted)
    assert "four eyes: you submitted this version" in raised.value.message
    assert f"another board member must {action} it" in raised.value.message
    authz.authorize(BRUNO, action, submitted)


def test_author_and_submitter_in_one_person_hears_about_authoring(authz: Authorizer) -> None:
    with pytest.raises(Forbidden, match="you authored"):
        authz.authorize(BEA, "approve", version(author_id="bea", submitted_by="bea"))


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_a_board_member_decides_once_per_round(authz: Authorizer, action: str) -> None:
    reviewed = version(reviewed_by=frozenset({"bea"}))
    with pytest.raises(Forbidden, match="you already reviewed this version"):
        authz.authorize(BEA, action, reviewed)
    authz.authorize(BRUNO, action, reviewed)


def test_another_board_member_may_decide_a_version_not_yet_submitted_by_anyone(
    authz: Authorizer,
) -> None:
    authz.authorize(BRUNO, "approve", version(submitted_by=None))
    assert {"approve", "reject"} <= authz.allowed_actions(BRUNO, version())


def test_board_member_who_is_also_champion_still_cannot_approve_own_work(
    authz: Authorizer,
) -> None:
    both = actor("cara", global_roles=("board",), w1=("champion",))
    with pytest.raises(Forbidden, match="four eyes: you authored"):
        authz.authorize(both, "approve", version())
    assert "approve" not in authz.allowed_actions(both, version())
    authz.authorize(both, "test_run", version())


def test_global_admin_is_not_a_reviewer(authz: Authorizer) -> None:
    with pytest.raises(Forbidden, match="it needs the global role board"):
        authz.authorize(CALLERS["gadmin"], "approve", version())


# -- assistants and their audience -------------------------------------------------------


def test_audience_workspaces_may_use_an_assistant(authz: Authorizer) -> None:
    shared = Assistant(
        flow_id="f1", slug="hr-bot", workspace_id="w1", audience_workspace_ids=frozenset({"w2"})
    )
    assert authz.allowed_actions(CALLERS["other"], shared) == {"read", "invoke"}
    outsider = actor("olga", w3=("admin",))
    with pytest.raises(NotFound, match=r"^assistant not found$"):
        authz.authorize(outsider, "invoke", shared)


def test_any_workspace_role_makes_an_audience_member(authz: Authorizer) -> None:
    shared = Assistant(
        flow_id="f1", slug="hr-bot", workspace_id="w1", audience_workspace_ids=frozenset({"w2"})
    )
    assert authz.is_allowed(actor("hera", w2=("hr",)), "invoke", shared)


def test_an_assistant_that_is_not_live_is_hidden_except_from_global_admins(
    authz: Authorizer,
) -> None:
    retired = Assistant(
        flow_id="f1",
        slug="old",
        workspace_id="w1",
        audience_workspace_ids=frozenset({"w2"}),
        is_live=False,
    )
    for caller in ("admin", "champion", "user", "other"):
        with pytest.raises(NotFound):
            authz.authorize(CALLERS[caller], "invoke", retired)
    authz.authorize(CALLERS["gadmin"], "invoke", retired)


# -- assignees: by role and by user ------------------------------------------------------


def task(*assignees: str, decided_by: frozenset[str] = frozenset()) -> ApprovalTask:
    return ApprovalTask(id="t9", workspace_id="w1", assignees=assignees, status="open", decided_by=decided_by)


def test_assignee_by_user_name(authz: Authorizer) -> None:
    assigned = task("user:ute")
    assert authz.allowed_actions(CALLERS["user"], assigned) == {"read", "decide"}
    with pytest.raises(NotFound, match=r"^approval task not found$"):
        authz.authorize(actor("uwe", w1=("user",)), "read", assigned)


def test_assignee_by_workspace_role(authz: Authorizer) -> None:
    assigned = task("role:sales-lead")
    lead = actor("lena", w1=("user", "sales-lead"))
    assert authz.allowed_actions(lead, assigned) == {"read", "decide"}
    # The role has to be held in the task's workspace ...
    lead_elsewhere = actor("lars", w2=("sales-lead",))
    assert authz.allowed_actions(lead_elsewhere, assigned) == set()
    # ... or globally.
    assert authz.is_allowed(CALLERS["board"], "decide", task("role:board"))


def test_an_assignee_decides_once(authz: Authorizer) -> None:
    decided = task("user:ute", "role:champion", decided_by=frozenset({"ute"}))
    with pytest.raises(Forbidden, match="you already decided this approval task"):
        authz.authorize(CALLERS["user"], "decide", decided)
    authz.authorize(CALLERS["champion"], "decide", decided)


def test_admins_see_but_do_not_decide_unless_assigned(authz: Authorizer) -> None:
    with pytest.raises(Forbidden) as raised:
        authz.authorize(CALLERS["admin"], "decide", task("user:ute"))
    assert raised.value.message == (
        "admins see every approval task of their workspace, but only its assignees "
        "decide it; this one is assigned to user:ute"
    )
    assert authz.is_allowed(CALLERS["admin"], "decide", task("user:ada"))


# -- four eyes on tasks: the requester does not decide their own run's task ------------------


def requested(by: str, *, may_decide: bool = False, risk: str = "limited") -> ApprovalTask:
    return ApprovalTask(
        id="t10",
        workspace_id="w1",
        assignees=("role:champion",),
        status="open",
        requested_by=by,
        requester_may_decide=may_decide,
        risk=risk,
    )


def test_the_requester_sees_but_does_not_decide_their_runs_task(authz: Authorizer) -> None:
    own = requested("cara")
    assert authz.allowed_actions(CALLERS["champion"], own) == {"read"}
    with pytest.raises(Forbidden) as raised:
        authz.authorize(CALLERS["champion"], "decide", own)
    assert raised.value.message.startswith("four eyes: you started the run that raised this approval task")
    other_champion = actor("carl", w1=("champion",))
    assert authz.allowed_actions(other_champion, own) == {"read", "decide"}


@pytest.mark.parametrize(
    ("may_decide", "risk", "allowed"),
    [(True, "minimal", True), (True, "limited", False), (True, "high", False), (True, "", False),
     (False, "minimal", False)],
)  # fmt: skip
def test_requester_may_decide_needs_the_node_flag_and_minimal_risk(
    authz: Authorizer, may_decide: bool, risk: str, allowed: bool
) -> None:
    own = requested("cara", may_decide=may_decide, risk=risk)
    assert authz.is_allowed(CALLERS["champion"], "decide", own) is allowed


def test_a_task_without_a_requester_is_decided_by_its_assignees(authz: Authorizer) -> None:
    assert authz.is_allowed(CALLERS["champion"], "decide", requested(""))


def test_run_visible_to_starter_and_assignees(authz: Authorizer) -> None:
    run = Run(id="r2", workspace_id="w1", started_by="ute", task_assignees=("user:otto",))
    assert authz.allowed_actions(CALLERS["user"], run) == {"read", "cancel", "feedback"}
    assert authz.allowed_actions(CALLERS["other"], run) == {"read"}
    with pytest.raises(Forbidden) as raised:
        authz.authorize(CALLERS["other"], "cancel", run)
    assert raised.value.message == (
        "you may not cancel this run; it needs that you started it, "
        "or the role admin in its workspace (or the global role admin)"
    )
    with pytest.raises(Forbidden) as raised:
        authz.authorize(CALLERS["other"], "feedback", run)
    assert raised.value.message == "you may not give feedback on this run; it needs that you started it"
    nobody_started = Run(id="r3", workspace_id="w1", started_by=None)
    with pytest.raises(NotFound, match=r"^run not found$"):
        authz.authorize(CALLERS["user"], "read", nobody_started)


def test_runs_are_read_by_champions_of_their_workspace_and_the_board_only(authz: Authorizer) -> None:
    """The runs viewer: champions (and admins) of the run's workspace and the board read a
    run without a task; a champion of another workspace and another user of the same
    workspace do not even see it; reading gives no right to cancel or rate it."""
    run = Run(id="r4", workspace_id="w1", started_by="ute")
    assert authz.allowed_actions(CALLERS["champion"], run) == {"read"}
    assert authz.allowed_actions(CALLERS["board"], run) == {"read"}
    assert authz.allowed_actions(CALLERS["admin"], run) == {"read", "cancel"}
    elsewhere = actor("cleo", w2=("champion",))
    fellow_user = actor("uwe", w1=("user",))
    for outsider in (elsewhere, fellow_user, CALLERS["other"], CALLERS["stranger"]):
        with pytest.raises(NotFound, match=r"^run not found$"):
            authz.authorize(outsider, "read", run)
    with pytest.raises(Forbidden, match="that you started it"):
        authz.authorize(CALLERS["board"], "feedback", run)


# -- knowledge labels --------------------------------------------------------------------

LABELS = {"public", "sales", "hr-salaries", "confidential", "confidential-mna"}
INDEX = KnowledgeIndex(id="k2", workspace_id="w1", labels=frozenset(LABELS))


@pytest.mark.parametrize(
    ("who", "readable"),
    [
        (CALLERS["admin"], LABELS),
        (CALLERS["gadmin"], LABELS),
        (CALLERS["champion"], {"public", "sales"}),
        (CALLERS["user"], {"public", "sales"}),
        (CALLERS["board"], {"public", "sales"}),
        (actor("hera", w1=("user", "hr")), {"public", "sales", "hr-salaries"}),
        (actor("hera", w2=("hr",)), set()),
        (
            actor("cleo", w1=("confidential",)),
            {"public", "sales", "confidential", "confidential-mna"},
        ),
        (CALLERS["other"], set()),
        (CALLERS["stranger"], set()),
    ],
)
def test_readable_labels(authz: Authorizer, who: Actor, readable: set[str]) -> None:
    assert authz.readable_labels(who, INDEX, LABELS) == readable
    assert authz.readable_labels(who, INDEX) == readable  # defaults to the index's labels


# -- reasons and messages ----------------------------------------------------------------


def test_board_members_do_not_edit(authz: Authorizer) -> None:
    with pytest.raises(Forbidden) as raised:
        authz.authorize(CALLERS["board"], "edit", RESOURCES["flow"])
    assert raised.value.message == "board members review flows but do not edit them"
    assert raised.value.status_code == 403
    with pytest.raises(Forbidden, match=r"^board members review flows but do not test-run them$"):
        authz.authorize(CALLERS["board"], "test_run", RESOURCES["version"])


def test_generic_reason_names_the_role(authz: Authorizer) -> None:
    with pytest.raises(Forbidden) as raised:
        authz.authorize(CALLERS["champion"], "delete", RESOURCES["flow"])
    assert raised.value.message == (
        "you may not delete this flow; it needs the role admin in its workspace (or the global role admin)"
    )
    with pytest.raises(Forbidden) as raised:
        authz.authorize(CALLERS["board"], "manage_users", RESOURCES["platform"])
    assert raised.value.message == "you may not manage users; it needs the global role admin"


def test_every_refusal_in_the_matrix_reads_as_words(authz: Authorizer) -> None:
    for resource, action, caller, expected in CASES:
        if expected == "A":
            continue
        target = RESOURCES[resource]
        with pytest.raises((Forbidden, NotFound)) as raised:
            authz.authorize(CALLERS[caller], action, target)
        message = raised.value.message
        if expected == "N":
            assert message == f"{RESOURCE_KINDS[type(target)]} not found"
            assert raised.value.status_code == 404
            continue
        assert raised.value.status_code == 403
        assert "_" not in message, message  # no identifiers such as manage_users
        assert "oso" not in message.lower(), message
        assert message.startswith(("you ", "four eyes: ", "board members ", "admins ")), message
        assert "needs" in message or "assigned" in message or "review" in message, message


def test_unknown_action_on_a_visible_resource_is_forbidden(authz: Authorizer) -> None:
    with pytest.raises(Forbidden, match=r"^you may not frobnicate this flow; no rule"):
        authz.authorize(CALLERS["champion"], "frobnicate", RESOURCES["flow"])


# -- the authorizer itself ---------------------------------------------------------------


def test_filter_allowed_keeps_order_and_drops_the_rest(authz: Authorizer) -> None:
    flows = [Flow(id=f"f{i}", workspace_id=ws, created_by="x") for i, ws in enumerate(["w1", "w2", "w1"])]
    assert authz.filter_allowed(CALLERS["champion"], "read", flows) == [flows[0], flows[2]]
    assert authz.filter_allowed(CALLERS["gadmin"], "read", iter(flows)) == flows


def test_only_policy_classes_and_actors_are_accepted(authz: Authorizer) -> None:
    with pytest.raises(TypeError, match="knows no resource of type dict"):
        authz.is_allowed(CALLERS["admin"], "read", {"id": "f1"})
    with pytest.raises(TypeError, match="must be an Actor"):
        authz.authorize(None, "read", RESOURCES["flow"])  # type: ignore[arg-type]


def test_policy_file_can_be_given(tmp_path: Path) -> None:
    copy = tmp_path / "copy.polar"
    copy.write_text(DEFAULT_POLICY.read_text())
    assert Authorizer(copy).is_allowed(CALLERS["gadmin"], "manage_users", Platform())


def test_only_the_authorizer_imports_oso() -> None:
    root = Path(__file__).resolve().parents[3]
    importers = sorted(
        str(path.relative_to(root))
        for package in ("runtime", "nodes", "studio")
        if (root / package).is_dir()
        for path in (root / package).rglob("*.py")
        if re.search(r"^\s*(import oso|from oso\b|import polar|from polar\b)", path.read_text(), re.M)
    )
    assert importers == ["runtime/policy/authorizer.py"]
