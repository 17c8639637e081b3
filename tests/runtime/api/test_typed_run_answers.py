"""The run, approval, feedback and monitoring endpoints answer typed models (issue 11):
the OpenAPI names a model for each JSON answer, what goes over the wire is exactly that
model (no key more, none less), and the handlers take their slice's service, not the
whole runtime, nor build SQL themselves."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from runtime.approvals.controller import TaskController
from runtime.approvals.responses import DecidedTaskOut, TaskDetailOut, TaskListItemOut
from runtime.feedback.controller import FeedbackController
from runtime.feedback.responses import FeedbackOut
from runtime.monitoring.controller import MonitoringController
from runtime.monitoring.responses import MonitoringOut
from runtime.runs.controller import RunController
from runtime.runs.responses import (
    AssistantOut,
    CancelOut,
    RunListItemOut,
    RunOut,
    RunStartedOut,
    RunWithFeedbackOut,
)
from runtime.runs.viewer_controller import RunsViewerController
from tests.support.scenario import (  # noqa: F401 (fixtures sc, llm, shared_app)
    MessagesApiDouble,
    Scenario,
    approval_flow,
    expect,
    llm_fixture,
    qa_flow,
    sc_fixture,
    shared_app_fixture,
    template_flow,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONTROLLERS = (RunController, RunsViewerController, TaskController, FeedbackController, MonitoringController)


def exactly(model: type[BaseModel], body: Any) -> None:
    """`body` is what `model` says: every field and nothing else, and it dumps back as it came."""
    assert set(body) == set(model.model_fields), (model.__name__, set(body) ^ set(model.model_fields))
    assert model.model_validate(body).model_dump(mode="json") == body, model.__name__


def ref(content: dict[str, Any]) -> str:
    schema = content["application/json"]["schema"]
    return str((schema.get("items") or schema)["$ref"]).rsplit("/", 1)[1]


async def test_handlers_take_their_slice_service_and_build_no_sql() -> None:
    for controller in CONTROLLERS:
        source = Path(inspect.getfile(controller))
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                assert not (module or "").startswith("sqlalchemy"), source
                if module == "runtime.db.models":  # plain helpers only, no tables to query
                    assert {alias.name for alias in node.names} <= {"iso", "utcnow"}, source
        for name, handler in vars(controller).items():
            fn = getattr(handler, "fn", None)
            if fn is not None:
                assert "rt" not in inspect.signature(fn).parameters, f"{controller.__name__}.{name}"


async def test_the_openapi_names_a_model_for_each_answer(sc: Scenario) -> None:
    paths = expect(await sc.as_(None).get("/schema/openapi.json"), 200)["paths"]
    invoke = paths["/api/assistants/{slug}/runs"]["post"]["responses"]
    test_run = paths["/api/flows/{flow_id}/versions/{number}/runs"]["post"]["responses"]
    for answers in (invoke, test_run):
        assert ref(answers["200"]["content"]) == "RunOut"
        assert "text/event-stream" in answers["200"]["content"]
        assert ref(answers["202"]["content"]) == "RunStartedOut"
    expected = {
        ("get", "/api/assistants", "200"): "AssistantOut",
        ("get", "/api/runs", "200"): "RunListItemOut",
        ("get", "/api/runs/{run_id}", "200"): "RunWithFeedbackOut",
        ("post", "/api/runs/{run_id}/cancel", "200"): "CancelOut",
        ("post", "/api/runs/{run_id}/feedback", "201"): "FeedbackOut",
        ("post", "/api/runs/{run_id}/feedback", "200"): "FeedbackOut",
        ("get", "/api/tasks", "200"): "TaskListItemOut",
        ("get", "/api/tasks/{task_id}", "200"): "TaskDetailOut",
        ("post", "/api/tasks/{task_id}/decision", "200"): "DecidedTaskOut",
        ("get", "/api/monitoring", "200"): "MonitoringOut",
    }
    for (method, path, status), model in expected.items():
        assert ref(paths[path][method]["responses"][status]["content"]) == model, (method, path)


async def test_runs_go_over_the_wire_as_their_models(sc: Scenario, llm: MessagesApiDouble) -> None:
    quick = await sc.live(template_flow())
    ended = await sc.as_("user").post(
        f"/api/assistants/{quick['slug']}/runs", json={"inputs": {"name": "Ana"}}
    )
    assert ended.status_code == 200, ended.text
    exactly(RunOut, ended.json())
    exactly(RunWithFeedbackOut, expect(await sc.as_("user").get(f"/api/runs/{ended.json()['id']}"), 200))
    for row in expect(await sc.as_("user").get("/api/runs", params={"limit": 5}), 200):
        exactly(RunListItemOut, row)
    for assistant in expect(await sc.as_("user").get("/api/assistants"), 200):
        exactly(AssistantOut, assistant)
    rated = await sc.as_("user").post(f"/api/runs/{ended.json()['id']}/feedback", json={"rating": "up"})
    exactly(FeedbackOut, expect(rated, 201))

    slow = await sc.live(qa_flow())
    llm.reply("später", delay_s=2)
    started = await sc.as_("user").post(
        f"/api/assistants/{slow['slug']}/runs", json={"inputs": {"question": "?"}, "wait_s": 0.1}
    )
    assert started.status_code == 202, started.text
    exactly(RunStartedOut, started.json())
    exactly(CancelOut, expect(await sc.as_("user").post(f"/api/runs/{started.json()['id']}/cancel"), 200))


async def test_tasks_and_monitoring_go_over_the_wire_as_their_models(sc: Scenario) -> None:
    flow = await sc.live(approval_flow())
    run = await sc.waiting_run(flow["slug"])
    exactly(RunOut, run)
    task_id = run["tasks"][0]["id"]
    inbox = expect(await sc.as_("champion2").get("/api/tasks"), 200)
    assert task_id in {task["id"] for task in inbox}
    for task in inbox:
        exactly(TaskListItemOut, task)
    exactly(TaskDetailOut, expect(await sc.as_("champion2").get(f"/api/tasks/{task_id}"), 200))
    decided = await sc.as_("champion2").post(f"/api/tasks/{task_id}/decision", json={"decision": "approve"})
    exactly(DecidedTaskOut, expect(decided, 200))

    report = expect(await sc.as_("champion").get("/api/monitoring", params={"workspace": "sales"}), 200)
    assert report["assistants"] and report["daily"], report
    exactly(MonitoringOut, report)
