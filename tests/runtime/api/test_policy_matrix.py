# ruff: noqa: E501  (the table below is wider than a line, and more readable so)
"""Who may call what: every endpoint by every role, as one table.

Rules of the HTTP contract (see runtime/policy/dirigent.polar):
  - no token                                    → 401
  - a resource the caller may not see           → 404 (they do not learn it exists)
  - visible, but the caller may not do this     → 403 with a reason in words
The people (tests/support/api.py): champion, champion2 (champions of sales), board1,
board2 (global board), user (user of sales), outsider (user of hr), hrchampion
(champion of hr), admin (global admin), salesadmin (admin of sales), and nobody (no token).

Each row: method, path, the setup it needs, then the expected status per person.
Placeholders in paths: {flow} {slug} {run} {task} {report} {endpoint}. Setups:
  -            nothing
  draft        a flow of sales, version 1 a draft by champion, its test cases run ({report})
  untested     a flow of sales without test cases (only an admin's override submits it)
  submitted    … version 1 submitted by champion
  approved     … version 1 approved by board1
  published    … version 1 published (live)
  assistant    a live flow of sales ({slug})
  assistant-hr a live flow of sales with `audience: ["hr"]`
  waiting-run  a run started by `user` that waits for an approval task assigned to champion2
  own-task-run a run started by `champion2` that waits for a task assigned to role:champion:
               four eyes, champion2 sees it but only champion decides it
  done-run     a finished run started by `user` ({run}, and its flow {flow})
  other-run    a finished run started by `champion2`
  endpoint     a model endpoint registered by admin ({endpoint})
  mcp          an MCP server registered by admin ({mcp})
A row whose setup a successful call changes (`fresh`) gets a new setup per successful caller.
All rows share one app (module scope); every setup makes flows with slugs of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support.scenario import (
    Scenario,
    approval_flow,
    expect,
    shared_scenario,
    template_flow,
    unique_slug,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

PEOPLE = (
    "champion",
    "champion2",
    "board1",
    "board2",
    "user",
    "outsider",
    "hrchampion",
    "admin",
    "salesadmin",
    None,
)

Body = Callable[[str], Any] | None


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    setup: str
    expected: dict[str | None, int]
    body: Body = None
    fresh: bool = False
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def id(self) -> str:
        return f"{self.method} {self.path} [{self.setup}]"


def row(
    method: str,
    path: str,
    setup: str,
    *statuses: int,
    body: Body = None,
    fresh: bool = False,
    headers: dict[str, str] | None = None,
) -> Row:
    assert len(statuses) == len(PEOPLE), f"{method} {path}: {len(statuses)} statuses for {len(PEOPLE)} people"
    return Row(
        method,
        path,
        setup,
        dict(zip(PEOPLE, statuses, strict=True)),
        body,
        fresh,
        tuple((headers or {}).items()),
    )


def new_workspace(uniq: str) -> dict[str, Any]:
    return {"slug": f"ws-{uniq}", "name": "Neu"}


def new_flow(uniq: str) -> dict[str, Any]:
    return {"name": "Neu", "slug": f"neu-{uniq}", "document": template_flow()}


def changed_document(uniq: str) -> dict[str, Any]:
    return {"document": template_flow(marker=uniq)}


def new_endpoint(uniq: str) -> dict[str, Any]:
    # `.invalid` never resolves: the egress guard lets it pass (every call checks again).
    return {"name": f"m-{uniq}", "base_url": "http://models.invalid:8080", "api_key": "sk-matrix"}


def new_mcp_server(uniq: str) -> dict[str, Any]:
    return {"name": f"mcp-{uniq}", "url": "https://tools.invalid/mcp", "bearer_token": "mcp-matrix"}


def greet(_: str) -> dict[str, Any]:
    return {"inputs": {"name": "Ana"}, "wait_s": 10}


def comment(_: str) -> dict[str, Any]:
    return {"comment": "bitte noch die Quellen angeben"}


def override(_: str) -> dict[str, Any]:
    return {"override_reason": "ohne Testfälle, mit Begründung"}


def approve_task(_: str) -> dict[str, Any]:
    return {"decision": "approve", "comment": "ok"}


def thumbs_down(_: str) -> dict[str, Any]:
    return {"rating": "down", "correction": "Die Anrede fehlt."}


def as_test_case(_: str) -> dict[str, Any]:
    return {"check": "contains", "expected": "Hallo"}


V = "/api/flows/{flow}/versions"
# fmt: off
#  method  path                          setup            champ champ2 board1 board2 user outsdr hrchmp admin salesadm nobody
ROWS = [
    row("GET",  "/api/me",                   "-",            200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    row("GET",  "/api/workspaces",           "-",            200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    row("POST", "/api/workspaces",           "-",            403, 403, 403, 403, 403, 403, 403, 201, 403, 401,
        body=new_workspace),
    row("GET",  "/api/node-types",           "-",            200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    row("POST", "/api/flows/validate",       "-",            200, 200, 200, 200, 200, 200, 200, 200, 200, 401,
        body=lambda _: {"document": template_flow()}),
    row("POST", "/api/workspaces/sales/flows", "-",          201, 201, 403, 403, 403, 404, 404, 201, 201, 401,
        body=new_flow),
    row("POST", "/api/workspaces/nowhere/flows", "-",        404, 404, 404, 404, 404, 404, 404, 404, 404, 401,
        body=new_flow),
    row("GET",  "/api/flows",                "-",            200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    row("GET",  "/api/flows/{flow}",         "draft",        200, 200, 200, 200, 404, 404, 404, 200, 200, 401),
    row("GET",  "/api/flows/no-such-flow",   "-",            404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    row("POST", V,                           "draft",        201, 201, 403, 403, 404, 404, 404, 201, 201, 401,
        body=changed_document),
    row("POST", V,                           "draft",        200, 200, 403, 403, 404, 404, 404, 200, 200, 401),
    row("GET",  V,                           "draft",        200, 200, 200, 200, 404, 404, 404, 200, 200, 401),
    row("GET",  "/api/flows/{flow}/draft",   "draft",        200, 200, 403, 403, 404, 404, 404, 200, 200, 401),
    row("PUT",  "/api/flows/{flow}/draft",   "draft",        200, 200, 403, 403, 404, 404, 404, 200, 200, 401,
        body=changed_document, headers={"If-Match": "*"}),
    row("GET",  V + "/1",                    "draft",        200, 200, 200, 200, 404, 404, 404, 200, 200, 401),
    row("GET",  V + "/7",                    "draft",        404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    row("GET",  V + "/1/diff",               "draft",        200, 200, 200, 200, 404, 404, 404, 200, 200, 401),
    row("GET",  V + "/1/uses",               "draft",        200, 200, 200, 200, 404, 404, 404, 200, 200, 401),
    row("POST", V + "/1/runs",               "draft",        200, 200, 403, 403, 404, 404, 404, 200, 200, 401,
        body=greet),
    row("POST", V + "/1/test",               "draft",        201, 201, 201, 201, 404, 404, 404, 201, 201, 401),
    row("GET",  V + "/1/test-reports",       "draft",        200, 200, 200, 200, 404, 404, 404, 200, 200, 401),
    row("GET",  "/api/test-reports/{report}", "draft",       200, 200, 200, 200, 404, 404, 404, 200, 200, 401),
    row("POST", V + "/1/submit",             "draft",        200, 200, 403, 403, 404, 404, 404, 200, 200, 401,
        fresh=True),
    row("POST", V + "/1/submit",             "untested",     403, 403, 403, 403, 404, 404, 404, 200, 200, 401,
        body=override, fresh=True),
    row("POST", V + "/1/approve",            "submitted",    403, 403, 200, 200, 404, 404, 404, 403, 403, 401,
        body=comment, fresh=True),
    row("POST", V + "/1/reject",             "submitted",    403, 403, 200, 200, 404, 404, 404, 403, 403, 401,
        body=comment, fresh=True),
    row("POST", V + "/1/publish",            "approved",     200, 200, 403, 403, 404, 404, 404, 200, 200, 401,
        fresh=True),
    row("POST", V + "/1/retire",             "published",    200, 200, 200, 200, 404, 404, 404, 200, 200, 401,
        fresh=True),
    row("GET",  "/api/assistants",           "assistant",    200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    row("POST", "/api/assistants/{slug}/runs", "assistant",  200, 200, 404, 404, 200, 404, 404, 200, 200, 401,
        body=greet),
    row("POST", "/api/assistants/{slug}/runs", "assistant-hr", 200, 200, 404, 404, 200, 200, 200, 200, 200, 401,
        body=greet),
    row("POST", "/api/assistants/{slug}/runs", "draft",      404, 404, 404, 404, 404, 404, 404, 404, 404, 401,
        body=greet),
    row("GET",  "/api/runs",                 "-",            200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    # Runs are read by whoever started them, champions and admins of their workspace, the
    # board and their tasks' assignees; a user of the workspace and people of others get 404.
    row("GET",  "/api/runs/{run}",           "done-run",     200, 200, 200, 200, 200, 404, 404, 200, 200, 401),
    row("GET",  "/api/runs/{run}",           "waiting-run",  200, 200, 200, 200, 200, 404, 404, 200, 200, 401),
    row("GET",  "/api/runs/{run}",           "other-run",    200, 200, 200, 200, 404, 404, 404, 200, 200, 401),
    row("GET",  "/api/runs/{run}/trace",     "done-run",     200, 200, 200, 200, 200, 404, 404, 200, 200, 401),
    row("GET",  "/api/runs/{run}/trace",     "other-run",    200, 200, 200, 200, 404, 404, 404, 200, 200, 401),
    row("GET",  "/api/flows/{flow}/runs",    "done-run",     200, 200, 200, 200, 200, 404, 404, 200, 200, 401),
    row("GET",  "/api/runs/{run}/test-case", "done-run",     200, 200, 403, 403, 404, 404, 404, 200, 200, 401),
    row("POST", "/api/runs/{run}/test-case", "done-run",     201, 201, 403, 403, 404, 404, 404, 201, 201, 401,
        body=as_test_case, headers={"If-Match": "*"}),
    row("POST", "/api/runs/{run}/cancel",    "waiting-run",  403, 403, 403, 403, 200, 404, 404, 200, 200, 401,
        fresh=True),
    row("POST", "/api/runs/{run}/feedback",  "done-run",     403, 403, 403, 403, 201, 404, 404, 403, 403, 401,
        body=thumbs_down, fresh=True),
    row("GET",  "/api/monitoring?workspace=sales", "-",      200, 200, 200, 200, 403, 404, 404, 200, 200, 401),
    row("GET",  "/api/tasks",                "waiting-run",  200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    row("GET",  "/api/tasks/{task}",         "waiting-run",  404, 200, 404, 404, 404, 404, 404, 200, 200, 401),
    row("POST", "/api/tasks/{task}/decision", "waiting-run", 404, 200, 404, 404, 404, 404, 404, 403, 403, 401,
        body=approve_task, fresh=True),
    row("GET",  "/api/tasks/{task}",         "own-task-run", 200, 200, 404, 404, 404, 404, 404, 200, 200, 401),
    row("POST", "/api/tasks/{task}/decision", "own-task-run", 200, 403, 404, 404, 404, 404, 404, 403, 403, 401,
        body=approve_task, fresh=True),
    row("GET",  "/api/audit",                "-",            403, 403, 200, 200, 403, 403, 403, 200, 403, 401),
    row("GET",  "/api/audit/export",         "-",            403, 403, 200, 200, 403, 403, 403, 200, 403, 401),
    row("GET",  "/api/audit/verify",         "-",            403, 403, 200, 200, 403, 403, 403, 200, 403, 401),
    row("POST", "/api/audit/anchor",         "-",            403, 403, 201, 201, 403, 403, 403, 201, 403, 401),
    # Model endpoints: names for every form, changes for global admins only.
    row("GET",  "/api/model-endpoints",      "endpoint",     200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
    row("POST", "/api/model-endpoints",      "-",            403, 403, 403, 403, 403, 403, 403, 201, 403, 401,
        body=new_endpoint),
    row("PATCH", "/api/model-endpoints/{endpoint}", "endpoint", 403, 403, 403, 403, 403, 403, 403, 200, 403, 401,
        body=lambda _: {"model": "other/model"}),
    row("POST", "/api/model-endpoints/{endpoint}/test", "endpoint", 403, 403, 403, 403, 403, 403, 403, 200, 403, 401),
    row("DELETE", "/api/model-endpoints/{endpoint}", "endpoint", 403, 403, 403, 403, 403, 403, 403, 200, 403, 401,
        fresh=True),
    # MCP servers: global admins manage them; whoever builds flows (a champion) sees names.
    row("GET",  "/api/mcp-servers",          "mcp",          403, 403, 403, 403, 403, 403, 403, 200, 403, 401),
    row("GET",  "/api/mcp-servers/names",    "mcp",          200, 200, 403, 403, 403, 403, 200, 200, 200, 401),
    row("POST", "/api/mcp-servers",          "-",            403, 403, 403, 403, 403, 403, 403, 201, 403, 401,
        body=new_mcp_server),
    row("PATCH", "/api/mcp-servers/{mcp}",   "mcp",          403, 403, 403, 403, 403, 403, 403, 200, 403, 401,
        body=lambda _: {"read_only_tools": ["search"]}),
    row("POST", "/api/mcp-servers/{mcp}/test", "mcp",        403, 403, 403, 403, 403, 403, 403, 200, 403, 401),
    row("DELETE", "/api/mcp-servers/{mcp}",  "mcp",          403, 403, 403, 403, 403, 403, 403, 200, 403, 401,
        fresh=True),
]
# fmt: on


# --------------------------------------------------------------------------- setups


@dataclass
class Shared:
    scenario: Scenario
    approval_slug: str | None = None
    champions_slug: str | None = None

    async def setup(self, name: str) -> dict[str, Any]:
        sc = self.scenario
        if name == "-":
            return {}
        if name == "endpoint":
            created = expect(
                await sc.as_("admin").post("/api/model-endpoints", json=new_endpoint(unique_slug())), 201
            )
            return {"endpoint": created["name"]}
        if name == "mcp":
            created = expect(
                await sc.as_("admin").post("/api/mcp-servers", json=new_mcp_server(unique_slug())), 201
            )
            return {"mcp": created["name"]}
        if name == "untested":
            flow = await sc.create(template_flow() | {"tests": []})
            return {"flow": flow["id"], "slug": flow["slug"]}
        if name in ("draft", "submitted", "approved", "published"):
            flow = await sc.create(template_flow())
            if name == "draft":
                report = await sc.run_tests(flow["id"])
                return {"flow": flow["id"], "slug": flow["slug"], "report": report["id"]}
            await sc.submit(flow["id"])
            if name in ("approved", "published"):
                await sc.approve(flow["id"])
            if name == "published":
                await sc.publish(flow["id"])
            return {"flow": flow["id"], "slug": flow["slug"]}
        if name in ("assistant", "assistant-hr"):
            flow = await sc.live(template_flow(audience=["hr"] if name == "assistant-hr" else None))
            return {"flow": flow["id"], "slug": flow["slug"]}
        if name in ("done-run", "other-run"):
            flow = await sc.live(template_flow())
            run = await sc.invoke(
                flow["slug"], {"name": "Ana"}, by="user" if name == "done-run" else "champion2"
            )
            assert run["status"] == "succeeded", run
            return {"run": run["id"], "flow": flow["id"]}
        if name == "waiting-run":
            if self.approval_slug is None:
                self.approval_slug = (await sc.live(approval_flow(assignees=("user:champion2",))))["slug"]
            run = await sc.waiting_run(self.approval_slug)
            return {"run": run["id"], "task": run["tasks"][0]["id"]}
        if name == "own-task-run":
            if self.champions_slug is None:
                self.champions_slug = (await sc.live(approval_flow(assignees=("role:champion",))))["slug"]
            run = await sc.waiting_run(self.champions_slug, by="champion2")
            return {"run": run["id"], "task": run["tasks"][0]["id"]}
        raise AssertionError(f"unknown setup {name!r}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shared]:
    tmp: Path = tmp_path_factory.mktemp("policy-matrix")
    async with shared_scenario(tmp) as (scenario, _double):
        yield Shared(scenario)


async def call(sc: Scenario, row_: Row, who: str | None, context: dict[str, Any]) -> Any:
    path = row_.path.format(**context)
    kwargs: dict[str, Any] = {}
    if row_.body is not None:
        kwargs["json"] = row_.body(unique_slug("u"))
    if row_.headers:
        kwargs["headers"] = dict(row_.headers)
    return await sc.as_(who).request(row_.method, path, **kwargs)


def check_body(response: Any, status: int) -> str | None:
    """The error bodies' contract: a code and a message a person can read."""
    if status < 400:
        return None
    body = response.json()
    wanted = {401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(status)
    if wanted and body.get("error") != wanted:
        return f"error code {body.get('error')!r}, expected {wanted!r}"
    message = body.get("message") or ""
    if status == 404 and "not found" not in message:
        return f"404 with message {message!r}"
    if status != 404 and len(message) < 15:
        return f"message {message!r} says too little"
    if status == 403 and not any(
        word in message for word in ("you may not", "four eyes", "board members", "admins see", "you already")
    ):
        return f"403 without a reason: {message!r}"
    return None


@pytest.mark.parametrize("row_", ROWS, ids=[r.id for r in ROWS])
async def test_policy_matrix(shared: Shared, row_: Row) -> None:
    sc = shared.scenario
    context = await shared.setup(row_.setup)
    mismatches = []
    # Refusals first, on the shared setup: they must leave it as it was.
    refusals = [who for who, status in row_.expected.items() if status >= 400]
    successes = [who for who, status in row_.expected.items() if status < 400]
    for who in refusals + successes:
        if row_.fresh and who in successes:
            context = await shared.setup(row_.setup)
        response = await call(sc, row_, who, context)
        expected = row_.expected[who]
        if response.status_code != expected:
            mismatches.append(
                f"  {who or 'nobody':<11} expected {expected}, got {response.status_code}: "
                f"{response.text[:200]}"
            )
        elif problem := check_body(response, expected):
            mismatches.append(f"  {who or 'nobody':<11} {expected}: {problem}")
    assert not mismatches, f"{row_.id}\n" + "\n".join(mismatches)


# --------------------------------------------------------------------------- what lists show


async def test_lists_show_only_what_the_caller_may_see(shared: Shared) -> None:
    sc = shared.scenario
    flow = await sc.live(template_flow())
    hr_flow = await sc.live(template_flow(audience=["hr"]))
    draft = await sc.create(template_flow())

    async def flow_slugs(who: str) -> set[str]:
        return {f["slug"] for f in expect(await sc.as_(who).get("/api/flows"), 200)}

    ours = {flow["slug"], hr_flow["slug"], draft["slug"]}
    for who in ("champion", "champion2", "board1", "admin", "salesadmin"):
        assert ours <= await flow_slugs(who), who
    for who in ("user", "outsider", "hrchampion"):
        assert not ours & await flow_slugs(who), who

    async def assistant_slugs(who: str) -> set[str]:
        return {a["slug"] for a in expect(await sc.as_(who).get("/api/assistants"), 200)}

    assert {flow["slug"], hr_flow["slug"]} <= await assistant_slugs("user")
    assert draft["slug"] not in await assistant_slugs("user")
    assert await assistant_slugs("outsider") & ours == {hr_flow["slug"]}
    assert await assistant_slugs("board1") & ours == set()

    async def workspace_slugs(who: str) -> set[str]:
        return {w["slug"] for w in expect(await sc.as_(who).get("/api/workspaces"), 200)}

    assert await workspace_slugs("champion") == {"sales"}
    assert await workspace_slugs("outsider") == {"hr"}
    assert {"sales", "hr"} <= await workspace_slugs("board1")
    assert {"sales", "hr"} <= await workspace_slugs("admin")


async def test_tasks_and_runs_lists_follow_assignment_and_starter(shared: Shared) -> None:
    sc = shared.scenario
    context = await shared.setup("waiting-run")

    async def tasks(who: str) -> dict[str, dict[str, Any]]:
        return {t["id"]: t for t in expect(await sc.as_(who).get("/api/tasks"), 200)}

    assert tasks_can_decide(await tasks("champion2"), context["task"]) is True
    assert tasks_can_decide(await tasks("salesadmin"), context["task"]) is False  # sees, does not decide
    for who in ("champion", "user", "board1", "outsider"):
        assert context["task"] not in await tasks(who), who

    async def runs(who: str) -> set[str]:
        return {r["id"] for r in expect(await sc.as_(who).get("/api/runs"), 200)}

    for who in ("user", "salesadmin", "champion", "champion2", "board1", "admin"):
        assert context["run"] in await runs(who), who
    for who in ("outsider", "hrchampion"):
        assert context["run"] not in await runs(who), who


def tasks_can_decide(tasks: dict[str, dict[str, Any]], task_id: str) -> bool:
    assert task_id in tasks, f"task {task_id} not listed"
    return bool(tasks[task_id]["can_decide"])


async def test_refusals_are_audited_with_their_reason(shared: Shared) -> None:
    sc = shared.scenario
    context = await shared.setup("draft")
    refused = await sc.as_("board1").post(f"/api/flows/{context['flow']}/versions/1/submit")
    assert refused.status_code == 403
    reason = refused.json()["message"]
    for _ in range(50):  # written by a background task after the response
        entries = expect(await sc.as_("board1").get("/api/audit", params={"action": "policy.denied"}), 200)
        found = [e for e in entries if context["flow"] in str(e)]
        if found:
            break
        await asyncio.sleep(0.02)
    assert found, "the refusal is not in the audit trail"
    assert reason in str(found[0])
    assert expect(await sc.as_("board1").get("/api/audit/verify"), 200)["ok"] is True
