"""`GET /api/knowledge/documents/{id}/passages/{chunk}`: a source's passage, access checked again.

The chat links each source of an answer to its passage. Whoever follows the link must be
allowed to read it now — the index, and every label of the passage; for anyone else, and
for ids that do not exist or do not belong together, the answer is the same 404.
"""

from __future__ import annotations

from tests.runtime.knowledge.conftest import create_index, search, upload
from tests.support.api import ApiHarness

SALARY = "Gehaltsband Vertrieb: 55.000 bis 70.000 Euro Bonus"
BONUS = "Bonusregeln Vertrieb allgemein: Zielvereinbarung"


async def test_a_passage_opens_for_who_may_read_it_and_for_nobody_else(kapi: ApiHarness) -> None:
    index = await create_index(kapi, name="personal")
    await upload(kapi, index["id"], [("gehalt.txt", SALARY.encode())], labels="hr-salaries")
    await upload(kapi, index["id"], [("bonus.txt", BONUS.encode())])
    hits = {hit["source"]: hit for hit in await search(kapi, index["id"], "Gehalt Bonus", user="salesadmin")}
    salary, bonus = hits["gehalt.txt"], hits["bonus.txt"]

    def path(hit: dict[str, str]) -> str:
        return f"/api/knowledge/documents/{hit['document_id']}/passages/{hit['chunk_id']}"

    opened = await kapi.as_("user").get(path(bonus))
    assert opened.status_code == 200, opened.text
    assert opened.json() == {
        "index_id": index["id"],
        "index": "personal",
        "document_id": bonus["document_id"],
        "chunk_id": bonus["chunk_id"],
        "source": "bonus.txt",
        "page": None,
        "section": None,
        "text": BONUS,
    }
    assert (await kapi.as_("salesadmin").get(path(salary))).json()["text"] == SALARY

    not_found = {"error": "not_found", "message": "passage not found", "resource": "passage"}
    # A label the caller may not read, another workspace, nobody signed in.
    for who in ("user", "champion", "outsider"):
        refused = await kapi.as_(who).get(path(salary))
        assert (refused.status_code, refused.json()) == (404, not_found), who
    assert (await kapi.as_("outsider").get(path(bonus))).status_code == 404
    assert (await kapi.as_(None).get(path(bonus))).status_code == 401
    # Ids that do not exist, or do not belong together, look exactly the same.
    mixed = f"/api/knowledge/documents/{bonus['document_id']}/passages/{salary['chunk_id']}"
    unknown = f"/api/knowledge/documents/{bonus['document_id']}/passages/nope"
    for wrong in (mixed, unknown, f"/api/knowledge/documents/nope/passages/{bonus['chunk_id']}"):
        refused = await kapi.as_("salesadmin").get(wrong)
        assert (refused.status_code, refused.json()) == (404, not_found), wrong

    # Deleted documents are gone for everyone.
    deleted = await kapi.as_("champion").request(
        "DELETE", f"/api/knowledge/{index['id']}/documents/{bonus['document_id']}"
    )
    assert deleted.status_code == 204
    assert (await kapi.as_("user").get(path(bonus))).status_code == 404
