"""`readable_runs`: the policy's `read` rule for runs as a SQL filter agrees with the policy.

A mixed data set — runs in two workspaces, started by different people, with and without
approval tasks assigned to users and roles (held globally, in the run's workspace, or in
another one), including assignee names with LIKE's wildcards — and a cast of callers
(starters, assignees, champions and admins of one workspace, the board, a global admin,
department roles only, nobody). For every caller and every run, the filter's answer must
be the policy's answer.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select

from runtime.db import models
from runtime.db.database import Database
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import readable_runs, run_view


def _actor(
    user: models.User, global_roles: tuple[str, ...] = (), roles: dict[str, tuple[str, ...]] | None = None
) -> Actor:
    return Actor(
        id=user.id,
        username=user.username,
        global_roles=frozenset(global_roles),
        workspace_roles={ws: frozenset(held) for ws, held in (roles or {}).items()},
    )


ASSIGNEE_SETS: list[list[str]] = [
    [],
    ["user:ana"],
    ["user:a_a"],  # `_` is a LIKE wildcard: must not match `user:ana` ... nor the reverse
    ["role:champion"],
    ["role:board"],
    ["role:hr"],
    ["role:sales-lead", "user:ben"],
    ["user:anaX"],  # a longer name that starts with a caller's name
]


async def test_the_filter_and_the_policy_agree_on_every_run(db: Database) -> None:
    async with db.write() as session:
        w1 = models.Workspace(slug="w1", name="W1")
        w2 = models.Workspace(slug="w2", name="W2")
        people = {
            name: models.User(username=name, password_hash="-")
            for name in ("ana", "a_a", "ben", "carla", "dora", "emil", "fritz", "gabi", "hugo", "ida", "jan")
        }
        session.add_all([w1, w2, *people.values()])
        await session.flush()
        flows = {}
        for ws in (w1, w2):
            flow = models.Flow(workspace_id=ws.id, name="F", slug=f"f-{ws.slug}", created_by=people["ana"].id)
            session.add(flow)
            await session.flush()
            version = models.FlowVersion(
                flow_id=flow.id, number=1, content_hash="0" * 64, document={}, author_id=people["ana"].id
            )
            session.add(version)
            await session.flush()
            flows[ws.id] = (flow, version)
        start = models.utcnow()
        combos = itertools.product((w1, w2), (None, "ana", "ben", "carla"), ASSIGNEE_SETS)
        for number, (ws, starter, assignees) in enumerate(combos):
            flow, version = flows[ws.id]
            run = models.Run(
                flow_id=flow.id,
                version_id=version.id,
                version_number=1,
                content_hash="0" * 64,
                workspace_id=ws.id,
                started_by=people[starter].id if starter else None,
                status="waiting" if assignees else "succeeded",
                created_at=start - timedelta(seconds=number),
            )
            session.add(run)
            await session.flush()
            if assignees:
                session.add(
                    models.ApprovalTask(
                        run_id=run.id,
                        node_id="check",
                        workspace_id=ws.id,
                        title="t",
                        request={},
                        assignees=assignees,
                    )
                )
        await session.flush()

        p = people
        callers = [
            _actor(p["ana"], roles={w1.id: ("user",)}),  # starter of some runs, assignee of some
            _actor(p["a_a"], roles={w2.id: ("user",)}),
            _actor(p["ben"], roles={w1.id: ("champion", "sales-lead")}),  # role assignee in w1 only
            _actor(p["carla"], ("board",)),  # global role board: assignee wherever role:board
            _actor(p["dora"], roles={w1.id: ("admin",), w2.id: ("user", "hr")}),  # admin of w1, hr in w2
            _actor(p["emil"], ("admin",)),  # global admin: every run
            _actor(p["fritz"]),  # no role at all: nothing
            _actor(p["gabi"], roles={w2.id: ("champion",)}),  # champion of w2: every run of w2
            # Champion of w1 (every run of w1) and department role in w2 (role assignee there).
            _actor(p["hugo"], roles={w1.id: ("champion",), w2.id: ("hr",)}),
            _actor(p["ida"], ("board",), roles={w2.id: ("user",)}),  # the board: every run
            _actor(p["jan"], roles={w1.id: ("hr",), w2.id: ("user",)}),  # a department role only
        ]
        runs = (await session.execute(select(models.Run))).scalars().all()
        views = {run.id: await run_view(session, run) for run in runs}
        authz = Authorizer()
        for caller in callers:
            filtered = set(
                (await session.execute(select(models.Run.id).where(readable_runs(caller)))).scalars()
            )
            allowed = {run_id for run_id, view in views.items() if authz.is_allowed(caller, "read", view)}
            assert filtered == allowed, (
                caller.username,
                sorted(views[i].task_assignees for i in filtered - allowed),
                sorted(views[i].task_assignees for i in allowed - filtered),
            )
        # The data set is mixed enough to matter: each caller sees some runs and misses some
        # (the global admin and the caller without roles aside).
        counts = {
            c.username: len(
                set((await session.execute(select(models.Run.id).where(readable_runs(c)))).scalars())
            )
            for c in callers
        }
    assert counts["emil"] == counts["carla"] == counts["ida"] == len(runs) and counts["fritz"] == 0
    partial = ("ana", "a_a", "ben", "dora", "gabi", "hugo", "jan")
    assert all(0 < counts[name] < len(runs) for name in partial), counts
    # A champion reads every run of their workspace (not only what they started or were
    # assigned); a user of it only their own and their tasks' runs.
    per_workspace = len(runs) // 2
    assert counts["gabi"] == per_workspace, counts  # neither starter nor assignee in w1
    assert counts["ben"] > per_workspace, counts  # w1, plus the runs he started in w2
    assert counts["hugo"] > per_workspace, counts  # w1, plus w2's runs with tasks for role:hr
