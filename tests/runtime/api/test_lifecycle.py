"""The governance lifecycle of a flow version over HTTP.

draft ──submit──▶ submitted ──approve (quorum)──▶ approved ──publish──▶ published ──retire──▶ retired
                      └──reject (comment)──▶ rejected          ▲ publish again = rollback ┘
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.scenario import (  # noqa: F401 (fixtures sc, shared_app)
    Scenario,
    expect,
    sc_fixture,
    shared_app_fixture,
    template_flow,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def version(sc: Scenario, flow_id: str, number: int, who: str = "champion") -> dict[str, Any]:
    return expect(await sc.as_(who).get(f"/api/flows/{flow_id}/versions/{number}"), 200)  # type: ignore[no-any-return]


async def flow_of(sc: Scenario, flow_id: str) -> dict[str, Any]:
    return expect(await sc.as_("champion").get(f"/api/flows/{flow_id}"), 200)  # type: ignore[no-any-return]


async def assistant(sc: Scenario, slug: str, who: str = "user") -> dict[str, Any] | None:
    listed = expect(await sc.as_(who).get("/api/assistants"), 200)
    return next((a for a in listed if a["slug"] == slug), None)


async def actions_for(sc: Scenario, version_id: str) -> list[str]:
    entries = expect(await sc.as_("board1").get("/api/audit", params={"resource_id": version_id}), 200)
    return [e["action"] for e in sorted(entries, key=lambda e: e["seq"])]


async def test_draft_submitted_approved_published_retired(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    fid, slug = flow["id"], flow["slug"]
    v1 = flow["version"]
    assert (v1["number"], v1["state"]) == (1, "draft")
    assert await assistant(sc, slug) is None

    submitted = await sc.submit(fid)
    assert submitted["state"] == "submitted" and submitted["submitted_by"] == "champion"
    assert submitted["submitted_at"]

    approved = await sc.approve(fid, by="board1")
    assert approved["state"] == "approved"
    detail = await version(sc, fid, 1, "board1")
    reviews = [(r["reviewer"], r["decision"], r["comment"]) for r in detail["reviews"]]
    assert reviews == [("board1", "approve", "passt")]
    assert detail["is_live"] is False and await assistant(sc, slug) is None  # approved is not live yet

    published = await sc.publish(fid)
    assert published["state"] == "published" and published["published_at"]
    assert (await flow_of(sc, fid))["live_version"] == {"number": 1, "content_hash": v1["content_hash"]}
    assert (await version(sc, fid, 1))["is_live"] is True
    listed = await assistant(sc, slug)
    assert listed is not None and listed["version"] == 1 and listed["content_hash"] == v1["content_hash"]

    retired = await sc.act(fid, 1, "retire", by="champion")
    assert retired["state"] == "retired"
    assert (await flow_of(sc, fid))["live_version"] is None
    assert await assistant(sc, slug) is None

    # Every step is in the audit trail, in order, under the version's id and hash.
    assert await actions_for(sc, v1["id"]) == [
        "version.created",
        "version.tested",
        "version.submitted",
        "version.approved",
        "version.published",
        "version.retired",
    ]


async def test_transitions_out_of_order_are_409_with_the_state(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    fid = flow["id"]
    before = await sc.counts()
    for action, who in (
        ("publish", "champion"),
        ("retire", "champion"),
        ("approve", "board1"),
        ("reject", "board1"),
    ):
        body = await sc.act(
            fid, 1, action, by=who, status=409, comment="nein" if action == "reject" else None
        )
        assert "draft" in body["message"], (action, body)
        assert body["state"] == "draft"
    await sc.approved(fid)
    body = await sc.act(fid, 1, "submit", by="champion", status=409)
    assert "approved" in body["message"]
    await sc.publish(fid)
    body = await sc.act(fid, 1, "publish", by="champion", status=409)
    assert "already live" in body["message"]
    await sc.act(fid, 1, "retire", by="board1")
    for action in ("publish", "retire", "submit"):
        body = await sc.act(fid, 1, action, by="champion", status=409)
        assert "retired" in body["message"], (action, body)
    assert await sc.counts() == {**before, "version_reviews": before["version_reviews"] + 1}


async def test_rejection_needs_a_comment_and_the_next_try_is_a_new_version(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    fid = flow["id"]
    await sc.submit(fid)
    body = await sc.act(fid, 1, "reject", by="board1", status=400)
    assert body["error"] == "comment_required"
    assert (await version(sc, fid, 1))["state"] == "submitted"

    rejected = await sc.act(fid, 1, "reject", by="board1", comment="Bitte die Datenquellen nennen")
    assert rejected["state"] == "rejected"
    detail = await version(sc, fid, 1)
    assert detail["reviews"][0]["decision"] == "reject"
    assert detail["reviews"][0]["comment"] == "Bitte die Datenquellen nennen"
    await sc.act(fid, 1, "submit", by="champion", status=409)  # rejected stays rejected

    fixed = template_flow()
    fixed["card"]["data_sources"] = ["CRM"]
    v2 = await sc.save(fid, fixed, status=201)
    assert (v2["number"], v2["state"]) == (2, "draft")
    assert (await sc.submit(fid, 2))["state"] == "submitted"


async def test_a_new_number_only_when_the_hash_changes(sc: Scenario) -> None:
    document = template_flow()
    flow = await sc.create(document)
    fid, v1 = flow["id"], flow["version"]

    # Only the layout moved: same number, same hash, the new layout is kept.
    moved = template_flow()
    moved["layout"] = {"start": {"x": 500, "y": 9}, "greet": {"x": 640, "y": 9}, "end": {"x": 800, "y": 9}}
    same = await sc.save(fid, moved, status=200)
    assert (same["number"], same["created"], same["content_hash"]) == (1, False, v1["content_hash"])
    stored = await version(sc, fid, 1)
    assert stored["document"]["layout"] == moved["layout"]
    assert [v["number"] for v in await sc.versions(fid)] == [1]

    # The same document again (even with keys in another order): nothing new either.
    reordered = dict(reversed(list(moved.items())))
    assert (await sc.save(fid, reordered, status=200))["number"] == 1

    # A changed template: version 2, another hash.
    changed = await sc.save(fid, template_flow("Servus {{ inputs.name }}"), status=201)
    assert changed["number"] == 2 and changed["created"] is True
    assert changed["content_hash"] != v1["content_hash"]
    # A changed description is a change of the flow too (only the layout is not).
    described = await sc.save(fid, template_flow("Servus {{ inputs.name }}", marker="neu"), status=201)
    assert described["number"] == 3
    # Going back to the first content is a change against the latest: version 4, v1's hash.
    back = await sc.save(fid, document, status=201)
    assert back["number"] == 4 and back["content_hash"] == v1["content_hash"]
    assert [v["number"] for v in await sc.versions(fid)] == [4, 3, 2, 1]
    assert (await flow_of(sc, fid))["latest_version"]["number"] == 4


async def test_high_risk_needs_two_board_approvals(sc: Scenario) -> None:
    flow = await sc.create(template_flow(risk="high"))
    fid = flow["id"]
    await sc.submit(fid)
    detail = await version(sc, fid, 1, "board1")
    assert detail["risk"] == "high" and detail["quorum"] == 2

    first = await sc.approve(fid, by="board1")
    assert first["state"] == "submitted"  # one of two
    await sc.act(fid, 1, "publish", by="champion", status=409)  # not approved yet
    second = await sc.approve(fid, by="board2")
    assert second["state"] == "approved"
    reviews = (await version(sc, fid, 1))["reviews"]
    assert [r["reviewer"] for r in reviews] == ["board1", "board2"]
    assert (await sc.publish(fid))["state"] == "published"

    # One rejection ends a high-risk review even after an approval.
    other = await sc.create(template_flow(risk="high"))
    await sc.submit(other["id"])
    await sc.approve(other["id"], by="board1")
    rejected = await sc.act(other["id"], 1, "reject", by="board2", comment="zu riskant")
    assert rejected["state"] == "rejected"


async def test_publish_rollback_and_retire(sc: Scenario) -> None:
    flow = await sc.live(template_flow("Eins {{ inputs.name }}"))
    fid, slug = flow["id"], flow["slug"]
    assert (await sc.invoke(slug, {"name": "A"}))["outputs"]["text"] == "Eins A"

    await sc.save(fid, template_flow("Zwei {{ inputs.name }}"), status=201)
    await sc.approved(fid, 2)
    assert (await sc.publish(fid, 2))["state"] == "published"
    run = await sc.invoke(slug, {"name": "A"})
    assert (run["version"], run["outputs"]["text"]) == (2, "Zwei A")
    assert (await version(sc, fid, 1))["state"] == "published"  # still callable by number
    assert (await version(sc, fid, 1))["is_live"] is False

    # Rollback: publish version 1 again.
    rolled = await sc.publish(fid, 1)
    assert rolled["state"] == "published"
    assert (await flow_of(sc, fid))["live_version"]["number"] == 1
    listed = await assistant(sc, slug)
    assert listed is not None and listed["version"] == 1
    run = await sc.invoke(slug, {"name": "A"})
    assert (run["version"], run["outputs"]["text"]) == (1, "Eins A")
    assert run["content_hash"] == flow["version"]["content_hash"]
    published = expect(await sc.as_("board1").get("/api/audit", params={"action": "version.published"}), 200)
    rollback = next(
        e
        for e in published
        if e["resource_id"] == flow["version"]["id"] and e["detail"]["previous_live_version_id"]
    )
    assert rollback["detail"]["number"] == 1

    # Retiring the version that is not live leaves the assistant alone …
    await sc.act(fid, 2, "retire", by="board1")
    assert (await assistant(sc, slug)) is not None
    body = await sc.invoke(slug, {"name": "A"}, version=2, status=409)
    assert "retired" in body["message"]
    # … retiring the live one takes the assistant away, for everybody.
    await sc.act(fid, 1, "retire", by="champion")
    assert await assistant(sc, slug) is None
    assert await assistant(sc, slug, "admin") is None
    for who in ("user", "champion", "admin"):
        await sc.invoke(slug, {"name": "A"}, by=who, status=404)


async def test_runs_can_pin_a_published_version(sc: Scenario) -> None:
    flow = await sc.live(template_flow("Alt {{ inputs.name }}"))
    fid, slug = flow["id"], flow["slug"]
    v2 = await sc.save(fid, template_flow("Neu {{ inputs.name }}"), status=201)
    await sc.approved(fid, 2)
    await sc.publish(fid, 2)

    live = await sc.invoke(slug, {"name": "B"})
    pinned = await sc.invoke(slug, {"name": "B"}, version=1)
    assert (live["version"], live["outputs"]["text"]) == (2, "Neu B")
    assert live["content_hash"] == v2["content_hash"]
    assert (pinned["version"], pinned["outputs"]["text"]) == (1, "Alt B")
    assert pinned["content_hash"] == flow["version"]["content_hash"]
    stored = expect(await sc.as_("user").get(f"/api/runs/{pinned['id']}"), 200)
    assert stored["version"] == 1


async def test_diff_against_live_and_against_a_number(sc: Scenario) -> None:
    flow = await sc.create(template_flow())
    fid = flow["id"]
    # Nothing is live yet: everything is new.
    first = expect(await sc.as_("board1").get(f"/api/flows/{fid}/versions/1/diff"), 200)
    assert first["from"] is None and first["to"] == 1
    assert {n["id"] for n in first["nodes"]["added"]} == {"start", "greet", "end"}

    await sc.approved(fid)
    await sc.publish(fid)
    changed = template_flow("Servus {{ inputs.name }}")
    shout = {"id": "shout", "type": "template", "config": {"template": "{{ greet.text }}!"}}
    changed["nodes"].insert(2, shout)
    changed["edges"] = [
        {"from": "start", "to": "greet"},
        {"from": "greet", "to": "shout"},
        {"from": "shout", "to": "end"},
    ]
    changed["outputs"] = {"text": "{{ shout.text }}"}
    await sc.save(fid, changed, status=201)
    await sc.save(fid, template_flow("Moin {{ inputs.name }}"), status=201)  # v3

    against_live = expect(await sc.as_("board1").get(f"/api/flows/{fid}/versions/2/diff"), 200)
    assert (against_live["from"], against_live["to"]) == (1, 2)
    assert [n["id"] for n in against_live["nodes"]["added"]] == ["shout"]
    (greet,) = against_live["nodes"]["changed"]
    assert greet["id"] == "greet"
    assert greet["fields"][0]["field"] == "config.template"
    assert greet["fields"][0]["new"] == "Servus {{ inputs.name }}"
    added = {(e["from"], e["to"]) for e in against_live["edges"]["added"]}
    assert added == {("greet", "shout"), ("shout", "end")}
    assert against_live["summary"]["changed"] is True
    explicit = expect(
        await sc.as_("board1").get(f"/api/flows/{fid}/versions/2/diff", params={"against": "live"}), 200
    )
    assert explicit == against_live

    against_two = expect(
        await sc.as_("champion").get(f"/api/flows/{fid}/versions/3/diff", params={"against": "2"}), 200
    )
    assert (against_two["from"], against_two["to"]) == (2, 3)
    assert [n["id"] for n in against_two["nodes"]["removed"]] == ["shout"]
    # The same content against itself: no change.
    diff = f"/api/flows/{fid}/versions/1/diff"
    same = expect(await sc.as_("champion").get(diff, params={"against": "1"}), 200)
    assert same["summary"]["changed"] is False

    diff = f"/api/flows/{fid}/versions/2/diff"
    bad = expect(await sc.as_("champion").get(diff, params={"against": "x"}), 400)
    assert "version number or 'live'" in bad["message"]
    expect(await sc.as_("champion").get(diff, params={"against": "99"}), 404)
    expect(await sc.as_("user").get(diff), 404)
