"""The whole governance journey over the HTTP API: build, submit, approve, publish, invoke."""

from __future__ import annotations

from typing import Any

from tests.support.api import ApiHarness


def qa_flow(prompt: str = "Beantworte: {{ inputs.question }}", risk: str = "limited") -> dict[str, Any]:
    return {
        "schema": "dirigent.flow/v1",
        "name": "Fragen",
        "inputs": {"question": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "answer", "type": "llm", "config": {"prompt": prompt, "max_tokens": 64}},
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "answer"}, {"from": "answer", "to": "end"}],
        "outputs": {"answer": "{{ answer.text }}"},
        "card": {"purpose": "Fragen beantworten", "risk": risk, "owner": "Vertrieb"},
        "tests": [
            {
                "name": "antwortet",
                "inputs": {"question": "Wie spät?"},
                "fixed": {"answer": {"text": "Gleich zwölf."}},
                "expect": [{"check": "contains", "output": "answer", "value": "zwölf"}],
            }
        ],
        "layout": {"start": {"x": 0, "y": 0}},
    }


async def create_flow(api: ApiHarness, document: dict[str, Any], slug: str = "fragen") -> dict[str, Any]:
    response = await api.as_("champion").post(
        "/api/workspaces/sales/flows", json={"name": "Fragen", "slug": slug, "document": document}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_build_approve_publish_invoke(api: ApiHarness) -> None:
    api_flow = await create_flow(api, qa_flow())
    flow_id = api_flow["id"]
    assert api_flow["version"]["number"] == 1 and api_flow["version"]["state"] == "draft"

    # Saving the same content again (only the layout moved) creates no new version.
    moved = qa_flow()
    moved["layout"] = {"start": {"x": 99, "y": 1}}
    same = await api.as_("champion").post(f"/api/flows/{flow_id}/versions", json={"document": moved})
    assert same.status_code == 200 and same.json()["number"] == 1 and same.json()["created"] is False

    changed = await api.as_("champion").post(
        f"/api/flows/{flow_id}/versions", json={"document": qa_flow("Antworte kurz: {{ inputs.question }}")}
    )
    assert changed.status_code == 201 and changed.json()["number"] == 2

    # Only a version whose test cases passed can be submitted; version 2 needs its own report.
    refused = await api.as_("champion").post(f"/api/flows/{flow_id}/versions/2/submit")
    assert refused.status_code == 409 and refused.json()["error"] == "tests_not_passed", refused.text
    report = await api.as_("champion").post(f"/api/flows/{flow_id}/versions/2/test", json={"live": False})
    assert report.status_code == 201 and report.json()["passed"] is True, report.text
    submitted = await api.as_("champion").post(f"/api/flows/{flow_id}/versions/2/submit")
    assert submitted.json()["state"] == "submitted"
    assert submitted.json()["tests"]["gate"] == "passed"

    # Four eyes: the board approves, the author cannot — and users cannot edit at all.
    own = await api.as_("champion").post(f"/api/flows/{flow_id}/versions/2/approve", json={"comment": "ok"})
    assert own.status_code == 403
    approved = await api.as_("board1").post(
        f"/api/flows/{flow_id}/versions/2/approve", json={"comment": "passt"}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"

    published = await api.as_("champion").post(f"/api/flows/{flow_id}/versions/2/publish")
    assert published.status_code == 200 and published.json()["state"] == "published"

    assistants = (await api.as_("user").get("/api/assistants")).json()
    assert [a["slug"] for a in assistants] == ["fragen"]
    assert (await api.as_("outsider").get("/api/assistants")).json() == []

    # The LLM double answers every chat.
    run = await api.as_("user").post(
        "/api/assistants/fragen/runs", json={"inputs": {"question": "Wie spät?"}}
    )
    assert run.status_code == 200, run.text
    body = run.json()
    assert body["status"] == "succeeded", body
    assert body["version"] == 2
    assert [step["node_id"] for step in body["steps"]] == ["start", "answer", "end"]
    assert body["outputs"]["answer"]

    verify = await api.as_("board1").get("/api/audit/verify")
    assert verify.json()["ok"] is True
