"""`GET /api/runs`: what the caller may read, filtered in the database, paged by a cursor.

The listing used to read the install's newest `limit * 4` runs and filter them afterwards,
so a person whose run was older than other people's newest 200 saw nothing at all.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db import models
from tests.support.scenario import (  # noqa: F401 (fixtures sc, llm, shared_app)
    Scenario,
    expect,
    llm_fixture,
    sc_fixture,
    shared_app_fixture,
    template_flow,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _add_runs(sc: Scenario, flow_id: str, starters: list[str], newest_first_from: Any) -> list[str]:
    """Runs of `flow_id`'s version 1, one per username in `starters`, each a second older than
    the one before, the first at `newest_first_from`; their ids in that order."""

    async def add(session: AsyncSession) -> list[str]:
        version = (
            await session.execute(select(models.FlowVersion).where(models.FlowVersion.flow_id == flow_id))
        ).scalar_one()
        flow = await session.get(models.Flow, flow_id)
        assert flow is not None
        users = {user.username: user.id for user in (await session.execute(select(models.User))).scalars()}
        rows = [
            models.Run(
                flow_id=flow_id,
                version_id=version.id,
                version_number=1,
                content_hash=version.content_hash,
                workspace_id=flow.workspace_id,
                started_by=users[name],
                status="succeeded",
                inputs={"name": "x"},
                outputs={"text": "Hallo x"},
                created_at=newest_first_from - timedelta(seconds=number),
                finished_at=newest_first_from - timedelta(seconds=number),
            )
            for number, name in enumerate(starters)
        ]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]

    return sc.in_app(add, write=True)


async def test_an_own_run_older_than_500_runs_of_others_is_listed(sc: Scenario) -> None:
    flow = await sc.live(template_flow(marker="listing"))
    own = await sc.invoke(flow["slug"], {"name": "Ada"}, by="user")
    assert own["status"] == "succeeded"
    later = models.utcnow() + timedelta(hours=1)
    others = _add_runs(sc, flow["id"], ["champion", "champion2", "salesadmin", "outsider"] * 125, later)
    assert len(others) == 500

    listed = expect(await sc.as_("user").get("/api/runs", params={"limit": 50}), 200)
    assert [run["id"] for run in listed] == [own["id"]]
    listed = expect(await sc.as_("user").get("/api/runs", params={"flow_id": flow["id"]}), 200)
    assert [run["id"] for run in listed] == [own["id"]]

    # The workspace's admin reads every run of it, newest first, a page at a time.
    page = await sc.as_("salesadmin").get("/api/runs", params={"limit": 200, "flow_id": flow["id"]})
    first = expect(page, 200)
    assert [run["id"] for run in first] == others[:200]
    assert page.headers["x-next-before"] == others[199]


async def test_pages_follow_the_cursor_without_gaps_or_repeats(sc: Scenario) -> None:
    flow = await sc.live(template_flow(marker="paging"))
    # The user's own runs interleaved with others'; several share one timestamp (the id
    # breaks the tie, so the cursor neither skips nor repeats them).
    starters = ["user", "champion", "user", "outsider"] * 40
    now = models.utcnow() + timedelta(hours=2)
    ids = _add_runs(sc, flow["id"], starters, now)
    same_time = _add_runs(sc, flow["id"], ["user"] * 7, now - timedelta(seconds=3.5))
    own = {run_id for run_id, who in zip(ids, starters, strict=True) if who == "user"} | set(same_time)

    seen: list[str] = []
    before: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 15, "flow_id": flow["id"]}
        if before:
            params["before"] = before
        response = await sc.as_("user").get("/api/runs", params=params)
        page = expect(response, 200)
        pages += 1
        seen += [run["id"] for run in page]
        before = response.headers.get("x-next-before")
        if not before:
            break
        assert len(page) == 15
    assert len(seen) == len(set(seen)) == len(own) == 87
    assert set(seen) == own
    assert pages == 6
    stamps = [run["created_at"] for run in await _all(sc, flow["id"])]
    assert stamps == sorted(stamps, reverse=True)


async def _all(sc: Scenario, flow_id: str) -> list[dict[str, Any]]:
    return expect(  # type: ignore[no-any-return]
        await sc.as_("user").get("/api/runs", params={"limit": 500, "flow_id": flow_id}), 200
    )


async def test_a_cursor_the_caller_cannot_see_is_refused(sc: Scenario) -> None:
    flow = await sc.live(template_flow(marker="cursor"))
    (foreign,) = _add_runs(sc, flow["id"], ["champion"], models.utcnow())
    refused = await sc.as_("user").get("/api/runs", params={"before": foreign})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_cursor"
    missing = await sc.as_("user").get("/api/runs", params={"before": "nope"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_cursor"
