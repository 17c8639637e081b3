"""A test case's retrieval node searches for real, as the person who runs the cases."""

from __future__ import annotations

from tests.runtime.knowledge.conftest import create_index, upload
from tests.runtime.knowledge.test_retrieval_flow import retrieval_flow
from tests.support.api import ApiHarness

QUESTION = {"question": "Gehalt Bonus Vertrieb"}


async def test_retrieval_in_a_case_sees_what_the_tester_may_read(kapi: ApiHarness) -> None:
    index = await create_index(kapi, name="personal")
    await upload(
        kapi,
        index["id"],
        [("gehalt.txt", b"Gehaltsband Vertrieb: 55.000 bis 70.000 Euro Bonus")],
        labels="hr-salaries",
    )
    await upload(kapi, index["id"], [("bonus.txt", b"Bonusregeln Vertrieb: Zielvereinbarung im Januar")])
    document = retrieval_flow()
    document["tests"] = [
        {
            "name": "findet die Bonusregeln",
            "inputs": QUESTION,
            "expect": [
                {"check": "contains", "output": "context", "value": "Quelle: bonus.txt"},
                {"check": "contains", "output": "context", "value": "Quelle: gehalt.txt"},
            ],
        }
    ]
    created = await kapi.as_("champion").post(
        "/api/workspaces/sales/flows",
        json={"name": "Personal", "slug": "personal-tests", "document": document},
    )
    assert created.status_code == 201, created.text
    path = f"/api/flows/{created.json()['id']}/versions/1/test"

    # The champion may not read hr-* documents: the case, run by them, does not find the salaries.
    by_champion = (await kapi.as_("champion").post(path)).json()
    assert by_champion["passed"] is False, by_champion
    (case,) = by_champion["cases"]
    assert case["status"] == "succeeded" and "bonus.txt" in case["outputs"]["context"]
    assert [failure["check"] for failure in case["failures"]] == ["contains"]
    assert "gehalt.txt" in case["failures"][0]["message"]
    step = {step["node"]: step for step in case["steps"]}["find"]
    assert step["fixed"] is False and step["outputs"]["documents"]

    # The workspace's admin may: the same case passes when they run it.
    by_admin = (await kapi.as_("salesadmin").post(path)).json()
    assert by_admin["passed"] is True, by_admin["cases"][0]["failures"]
