"""The `retrieval` node inside a flow run: it searches as the person who started the run."""

from __future__ import annotations

from typing import Any

from tests.runtime.knowledge.conftest import create_index, upload
from tests.support.api import ApiHarness


def retrieval_flow(index: str = "personal", **config: Any) -> dict[str, Any]:
    return {
        "schema": "dirigent.flow/v1",
        "name": "Personalfragen",
        "inputs": {"question": {"type": "string", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {
                "id": "find",
                "type": "retrieval",
                "config": {"index": index, "query": "{{ inputs.question }}", "k": 3, **config},
            },
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "find"}, {"from": "find", "to": "end"}],
        "outputs": {"context": "{{ find.context }}", "documents": "{{ find.documents }}"},
        "card": {"purpose": "Fragen zu Personalthemen", "risk": "limited", "owner": "HR"},
    }


async def run_version(api: ApiHarness, user: str, flow_id: str, question: str) -> dict[str, Any]:
    response = await api.as_(user).post(
        f"/api/flows/{flow_id}/versions/1/runs", json={"inputs": {"question": question}, "wait_s": 30}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_retrieval_node_filters_by_the_run_callers_labels(kapi: ApiHarness) -> None:
    index = await create_index(kapi, name="personal")
    await upload(
        kapi,
        index["id"],
        [("gehalt.txt", b"Gehaltsband Vertrieb: 55.000 bis 70.000 Euro Bonus")],
        labels="hr-salaries",
    )
    await upload(kapi, index["id"], [("bonus.txt", b"Bonusregeln Vertrieb: Zielvereinbarung im Januar")])
    created = await kapi.as_("champion").post(
        "/api/workspaces/sales/flows",
        json={"name": "Personalfragen", "slug": "personalfragen", "document": retrieval_flow()},
    )
    assert created.status_code == 201, created.text
    flow_id = created.json()["id"]

    champion = await run_version(kapi, "champion", flow_id, "Gehalt Bonus Vertrieb")
    assert champion["status"] == "succeeded", champion
    assert "Quelle: bonus.txt" in champion["outputs"]["context"]
    assert "gehalt" not in champion["outputs"]["context"].lower()

    admin = await run_version(kapi, "salesadmin", flow_id, "Gehalt Bonus Vertrieb")
    assert admin["status"] == "succeeded", admin
    assert "Quelle: gehalt.txt" in admin["outputs"]["context"]


async def test_unknown_index_fails_the_node_with_the_choices(kapi: ApiHarness) -> None:
    await create_index(kapi, name="personal")
    created = await kapi.as_("champion").post(
        "/api/workspaces/sales/flows",
        json={"name": "Falsch", "slug": "falsch", "document": retrieval_flow(index="gibtsnicht")},
    )
    run = await run_version(kapi, "champion", created.json()["id"], "Frage")
    assert run["status"] == "failed"
    assert run["error"]["node"] == "find"
    assert "no knowledge index named 'gibtsnicht'" in run["error"]["message"]
    assert "available: personal" in run["error"]["message"]
