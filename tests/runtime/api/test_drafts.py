"""Working copies over HTTP: GET/PUT /api/flows/{id}/draft with ETags, and versions cut from them.

create flow (valid document) -> version 1 + working copy = version 1, revision 1
PUT draft (If-Match: "1", any JSON) -> revision 2, problems listed, no version, no audit entry
POST versions (no body)      -> a version from the working copy, only when valid
"""

from __future__ import annotations

import asyncio
import copy
import threading
from typing import Any

import httpx
import pytest
from litestar.testing import transport as test_transport

from tests.support.scenario import (  # noqa: F401 (fixtures sc, shared_app)
    Scenario,
    expect,
    qa_flow,
    sc_fixture,
    shared_app_fixture,
    template_flow,
)

# A missing prompt as the API reports it: where, its code with parameters, and the English.
MISSING_PROMPT = {
    "node": "answer",
    "field": "config.prompt",
    "code": "missing",
    "params": {"field": "prompt"},
    "message": "Field required",
}
pytestmark = pytest.mark.asyncio(loop_scope="module")


def draft_path(flow_id: str) -> str:
    return f"/api/flows/{flow_id}/draft"


async def read(sc: Scenario, flow_id: str, who: str = "champion") -> tuple[dict[str, Any], str]:
    response = await sc.as_(who).get(draft_path(flow_id))
    return expect(response, 200), response.headers["etag"]


async def write(
    sc: Scenario, flow_id: str, document: Any, etag: str | None, who: str = "champion", status: int = 200
) -> httpx.Response:
    headers = {"If-Match": etag} if etag is not None else {}
    response = await sc.as_(who).request(
        "PUT", draft_path(flow_id), json={"document": document}, headers=headers
    )
    assert response.status_code == status, response.text
    return response  # type: ignore[no-any-return]


def without_prompt(document: dict[str, Any]) -> dict[str, Any]:
    """Half-finished work: the LLM node's prompt is missing."""
    broken = copy.deepcopy(document)
    del broken["nodes"][1]["config"]["prompt"]
    return broken


async def test_a_new_flow_has_version_1_and_a_working_copy_equal_to_it(sc: Scenario) -> None:
    flow = await sc.create(qa_flow())
    draft, etag = await read(sc, flow["id"])
    assert etag == '"1"' and draft["etag"] == etag and draft["revision"] == 1
    assert draft["base_version"] == 1 and draft["updated_by"] == "champion"
    assert draft["validation"] == {
        "valid": True,
        "content_hash": flow["version"]["content_hash"],
        "errors": [],
    }
    version = expect(await sc.as_("champion").get(f"/api/flows/{flow['id']}/versions/1"), 200)
    assert draft["document"] == version["document"] and draft["document"]["layout"] == qa_flow()["layout"]


async def test_an_invalid_document_is_kept_with_its_problems_and_makes_no_version(sc: Scenario) -> None:
    flow = await sc.create(qa_flow())
    audit_before = await sc.audit_count()
    broken = without_prompt(qa_flow())
    saved = expect(await write(sc, flow["id"], broken, '"1"'), 200)
    assert saved["revision"] == 2 and saved["etag"] == '"2"'
    problems = saved["validation"]
    assert problems["valid"] is False and problems["content_hash"] is None
    assert MISSING_PROMPT in problems["errors"]
    # The same structure as POST /api/flows/validate answers, for the same document.
    validated = expect(await sc.as_("champion").post("/api/flows/validate", json={"document": broken}), 200)
    assert problems == validated

    again, etag = await read(sc, flow["id"])
    assert etag == '"2"' and again["document"] == broken and again["validation"] == problems
    assert [v["number"] for v in await sc.versions(flow["id"])] == [1]
    assert await sc.audit_count() == audit_before  # autosaves are not audited one by one

    # Not even an object: kept as it is, with the one problem that says so.
    odd = expect(await write(sc, flow["id"], ["not", "a", "flow"], etag), 200)
    assert odd["document"] == ["not", "a", "flow"]
    assert odd["validation"]["errors"] == [
        {
            "node": None,
            "field": None,
            "code": "not_an_object",
            "params": {},
            "message": "a flow document is a JSON object",
        }
    ]


async def test_a_write_without_if_match_is_428_and_a_stale_one_412_with_the_current_revision(
    sc: Scenario,
) -> None:
    flow = await sc.create(template_flow())
    body = expect(await write(sc, flow["id"], template_flow(marker="x"), None, status=428), 428)
    assert body["error"] == "if_match_required" and "If-Match" in body["message"]

    expect(await write(sc, flow["id"], template_flow(marker="first tab"), '"1"'), 200)
    stale = expect(await write(sc, flow["id"], template_flow(marker="second tab"), '"1"', status=412), 412)
    assert stale["error"] == "draft_changed"
    assert stale["revision"] == 2 and stale["etag"] == '"2"' and stale["updated_by"] == "champion"
    # Nothing of the refused write is kept.
    draft, _ = await read(sc, flow["id"])
    assert draft["document"]["description"] == "Grüßt first tab"

    # A weak tag never matches; `*` overwrites on purpose; a list of tags matches any of them.
    expect(await write(sc, flow["id"], template_flow(marker="w"), 'W/"2"', status=412), 412)
    forced = expect(await write(sc, flow["id"], template_flow(marker="forced"), "*"), 200)
    assert forced["revision"] == 3
    listed = expect(await write(sc, flow["id"], template_flow(marker="listed"), '"9", "3"'), 200)
    assert listed["revision"] == 4


async def test_two_concurrent_writes_with_the_same_if_match_exactly_one_wins(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    responses = await race_writes(sc, flow["id"], '"1"', [template_flow(marker=f"tab {n}") for n in range(2)])
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 412], [response.text for response in responses]
    winner = next(response for response in responses if response.status_code == 200).json()
    loser = next(response for response in responses if response.status_code == 412).json()
    assert winner["revision"] == 2 and loser["error"] == "draft_changed" and loser["revision"] == 2
    draft, etag = await read(sc, flow["id"])
    assert etag == '"2"' and draft["document"] == winner["document"]


async def race_writes(sc: Scenario, flow_id: str, etag: str, documents: list[Any]) -> list[httpx.Response]:
    """PUT the documents at the same moment, each from a thread (see `Scenario.race`)."""
    barrier = threading.Barrier(len(documents))
    transport = test_transport.TestClientTransport(client=sc.api.client)  # type: ignore[arg-type]
    base = str(sc.api.client.base_url).rstrip("/")

    def send(document: Any) -> httpx.Response:
        headers = {**sc.as_("champion")._headers(), "If-Match": etag}
        request = httpx.Request(
            "PUT", base + draft_path(flow_id), headers=headers, json={"document": document}
        )
        barrier.wait(timeout=10)
        response = transport.handle_request(request)
        response.read()
        return response

    return list(await asyncio.gather(*(asyncio.to_thread(send, document) for document in documents)))


async def test_a_version_is_cut_from_the_working_copy_only_when_valid(sc: Scenario) -> None:
    flow = await sc.create(qa_flow())
    fid = flow["id"]
    expect(await write(sc, fid, without_prompt(qa_flow()), '"1"'), 200)
    refused = expect(await sc.as_("champion").post(f"/api/flows/{fid}/versions"), 422)
    assert refused["error"] == "invalid_flow"
    assert MISSING_PROMPT in refused["errors"]
    assert [v["number"] for v in await sc.versions(fid)] == [1]

    audit_before = await sc.audit_count()
    changed = qa_flow("Antworte kurz: {{ inputs.question }}")
    expect(await write(sc, fid, changed, '"2"'), 200)
    cut = expect(await sc.as_("champion").post(f"/api/flows/{fid}/versions"), 201)
    assert (cut["number"], cut["state"], cut["created"]) == (2, "draft", True)
    version = expect(await sc.as_("champion").get(f"/api/flows/{fid}/versions/2"), 200)
    assert version["document"]["nodes"][1]["config"]["prompt"] == "Antworte kurz: {{ inputs.question }}"
    draft, etag = await read(sc, fid)
    assert draft["base_version"] == 2 and etag == '"3"'  # cutting does not change the working copy's ETag
    assert draft["validation"]["content_hash"] == cut["content_hash"]
    entries = expect(await sc.as_("board1").get("/api/audit", params={"resource_id": cut["id"]}), 200)
    assert [(e["action"], e["detail"]["source"]) for e in entries] == [("version.created", "working_copy")]
    assert await sc.audit_count() == audit_before + 1

    # Cutting again without a change answers the newest version: no duplicate.
    same = expect(await sc.as_("champion").post(f"/api/flows/{fid}/versions", json={}), 200)
    assert (same["number"], same["created"]) == (2, False)
    assert [v["number"] for v in await sc.versions(fid)] == [2, 1]


async def test_cutting_with_an_if_match_of_an_older_revision_is_412(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    expect(await write(sc, flow["id"], template_flow(marker="other tab"), '"1"'), 200)
    refused = await sc.as_("champion").post(f"/api/flows/{flow['id']}/versions", headers={"If-Match": '"1"'})
    assert expect(refused, 412)["error"] == "draft_changed"
    cut = await sc.as_("champion").post(f"/api/flows/{flow['id']}/versions", headers={"If-Match": '"2"'})
    assert expect(cut, 201)["number"] == 2


async def test_a_version_cut_from_a_document_leaves_the_working_copy_alone(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    expect(await write(sc, flow["id"], template_flow(marker="unfinished"), '"1"'), 200)
    saved = await sc.save(flow["id"], template_flow(marker="from a script"), status=201)
    assert saved["number"] == 2
    draft, etag = await read(sc, flow["id"])
    assert (
        etag == '"2"'
        and draft["document"]["description"] == "Grüßt unfinished"
        and draft["base_version"] == 1
    )


async def test_the_working_copy_is_bounded_like_a_version(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    huge = template_flow(marker="x" * (1024 * 1024))
    body = expect(await write(sc, flow["id"], huge, '"1"', status=413), 413)
    assert body["error"] == "payload_too_large" and "1 MiB" in body["message"]
    draft, etag = await read(sc, flow["id"])
    assert etag == '"1"' and draft["document"]["description"] == "Grüßt"


async def test_only_who_may_edit_the_flow_reads_or_writes_its_working_copy(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    path = draft_path(flow["id"])
    for who, status in (
        ("champion2", 200),
        ("admin", 200),
        ("board1", 403),
        ("user", 404),
        ("hrchampion", 404),
        (None, 401),
    ):
        assert (await sc.as_(who).get(path)).status_code == status, who
        response = await sc.as_(who).request("PUT", path, json={"document": {}}, headers={"If-Match": "*"})
        assert response.status_code == status, (who, response.text)
    board = expect(await sc.as_("board1").get(path), 403)
    assert "do not edit" in board["message"]
    missing = await sc.as_("champion").get(draft_path("no-such-flow"))
    assert expect(missing, 404)["error"] == "not_found"
