"""`POST /api/runs/{id}/feedback` and the `feedback` of `GET /api/runs/{id}`: who may give
it, one per run and person (a second replaces the first), each post audited, bad input
refused with a message that says what is expected."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.scenario import (  # noqa: F401 (fixtures sc, shared_app)
    Scenario,
    approval_flow,
    expect,
    sc_fixture,
    shared_app_fixture,
    template_flow,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def finished_run(sc: Scenario, by: str = "user") -> dict[str, Any]:
    flow = await sc.live(template_flow())
    run = await sc.invoke(flow["slug"], {"name": "Ana"}, by=by)
    assert run["status"] == "succeeded", run
    return run  # type: ignore[no-any-return]


async def give(sc: Scenario, run_id: str, body: Any, *, by: str = "user") -> httpx.Response:
    return await sc.as_(by).post(f"/api/runs/{run_id}/feedback", json=body)


async def feedback_entries(sc: Scenario, run_id: str) -> list[dict[str, Any]]:
    entries = expect(
        await sc.as_("board1").get("/api/audit", params={"action": "run.feedback", "limit": 1000}), 200
    )
    return sorted(
        (entry for entry in entries if entry["resource_id"] == run_id), key=lambda entry: entry["seq"]
    )


def error_of(response: httpx.Response, status: int, code: str | None = None) -> str:
    body = expect(response, status)
    assert body["error"] and body["message"], body
    if code is not None:
        assert body["error"] == code, body
    return str(body["message"])


async def test_the_starter_rates_a_run_and_a_second_rating_replaces_the_first(sc: Scenario) -> None:
    run = await finished_run(sc)
    assert expect(await sc.as_("user").get(f"/api/runs/{run['id']}"), 200)["feedback"] is None

    first = expect(await give(sc, run["id"], {"rating": "up"}), 201)
    assert first["rating"] == "up" and first["correction"] is None and first["by"] == "user"
    assert first["run_id"] == run["id"]

    second = expect(await give(sc, run["id"], {"rating": "down", "correction": "  Bitte mit Anrede.  "}), 200)
    assert second["rating"] == "down" and second["correction"] == "Bitte mit Anrede."
    assert second["created_at"] == first["created_at"] and second["updated_at"] > first["updated_at"]

    # The run shows it — to its starter, and to the workspace's admin, who may read the run.
    for reader in ("user", "salesadmin"):
        shown = expect(await sc.as_(reader).get(f"/api/runs/{run['id']}"), 200)["feedback"]
        assert shown == second

    # Thumbs up again clears the correction (a correction belongs to a thumbs down).
    third = expect(await give(sc, run["id"], {"rating": "up"}), 200)
    assert third["rating"] == "up" and third["correction"] is None

    # Stored once per run and person.
    async def count(session: Any) -> int:
        from sqlalchemy import func, select

        from runtime.feedback.models import RunFeedback

        return int(
            (await session.execute(select(func.count()).where(RunFeedback.run_id == run["id"]))).scalar_one()
        )

    assert sc.in_app(count) == 1

    # Every post is audited; the correction's text stays out of the trail.
    entries = await feedback_entries(sc, run["id"])
    assert [
        (e["actor"], e["detail"]["rating"], e["detail"]["with_correction"], e["detail"]["replaced"])
        for e in entries
    ] == [("user", "up", False, None), ("user", "down", True, "up"), ("user", "up", False, "down")]
    assert all("Anrede" not in str(entry) for entry in entries)


async def test_only_the_starter_may_give_feedback(sc: Scenario) -> None:
    run = await finished_run(sc)
    # Those who may read the run (admins, champions of its workspace, the board) hear why
    # not; the others do not learn it exists.
    for reader in ("salesadmin", "admin", "champion", "board1"):
        message = error_of(await give(sc, run["id"], {"rating": "up"}, by=reader), 403, "forbidden")
        assert message == "you may not give feedback on this run; it needs that you started it"
    for stranger in ("outsider", "hrchampion"):
        assert error_of(await give(sc, run["id"], {"rating": "up"}, by=stranger), 404) == "run not found"
    error_of(await give(sc, run["id"], {"rating": "up"}, by=None), 401, "unauthorized")
    assert expect(await sc.as_("user").get(f"/api/runs/{run['id']}"), 200)["feedback"] is None
    assert await feedback_entries(sc, run["id"]) == []


async def test_an_assignee_who_may_read_a_waiting_run_may_not_rate_it_and_nobody_rates_it_before_it_ends(
    sc: Scenario,
) -> None:
    flow = await sc.live(approval_flow(assignees=("user:champion2",)))
    run = await sc.waiting_run(flow["slug"])
    assert "started it" in error_of(await give(sc, run["id"], {"rating": "up"}, by="champion2"), 403)
    message = error_of(await give(sc, run["id"], {"rating": "up"}), 409, "run_not_finished")
    assert message.startswith("the run is waiting; feedback is possible once it has ended")
    assert await feedback_entries(sc, run["id"]) == []


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"rating": "meh"}, "bad_request", "rating"),
        ({}, "bad_request", "rating"),
        ({"rating": None}, "bad_request", "rating"),
        ({"rating": "up", "correction": "Das stimmt so nicht."}, "correction_needs_down", '"down" only'),
        ({"rating": "down", "correction": "x" * 4001}, "bad_request", "4000"),
        ({"rating": "down", "correction": 42}, "bad_request", "correction"),
        ({"rating": "down", "comment": "unbekanntes Feld"}, "bad_request", "comment"),
        ("down", "bad_request", ""),
    ],
    ids=[
        "unknown-rating",
        "no-rating",
        "null-rating",
        "correction-with-up",
        "correction-too-long",
        "correction-not-text",
        "unknown-field",
        "not-an-object",
    ],
)
async def test_bad_feedback_is_refused_and_nothing_is_stored(
    sc: Scenario, body: Any, code: str, words: str
) -> None:
    run = await finished_run(sc)
    message = error_of(await give(sc, run["id"], body), 400, code)
    assert words in message
    assert expect(await sc.as_("user").get(f"/api/runs/{run['id']}"), 200)["feedback"] is None


async def test_a_correction_of_exactly_4000_characters_and_a_blank_one_are_fine(sc: Scenario) -> None:
    run = await finished_run(sc)
    long = expect(await give(sc, run["id"], {"rating": "down", "correction": "ä" * 4000}), 201)
    assert long["correction"] == "ä" * 4000
    blank = expect(await give(sc, run["id"], {"rating": "up", "correction": "   "}), 200)
    assert blank["correction"] is None


async def test_feedback_on_a_run_that_does_not_exist_or_is_not_json(sc: Scenario) -> None:
    assert error_of(await give(sc, "no-such-run", {"rating": "up"}), 404) == "run not found"
    run = await finished_run(sc)
    response = await sc.as_("user").post(
        f"/api/runs/{run['id']}/feedback",
        content=b"{rating: up",
        headers={"content-type": "application/json"},
    )
    assert "not valid JSON" in error_of(response, 400)
