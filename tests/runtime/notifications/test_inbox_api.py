"""The inbox API: one's own notifications, newest first and paged, the unread count, marking
read — and nobody else's (404, as if they did not exist). The admin's mail settings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.runtime.notifications.conftest import Mailer, choose
from tests.support.scenario import (
    Scenario,
    expect,
    llm_fixture,
    sc_fixture,
    shared_app_fixture,
    template_flow,
)

__all__ = ["llm_fixture", "sc_fixture", "shared_app_fixture"]

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def inbox(sc: Scenario, who: str, **params: Any) -> dict[str, Any]:
    return expect(await sc.as_(who).get("/api/notifications", params=params), 200)  # type: ignore[no-any-return]


async def unread(sc: Scenario, who: str) -> int:
    return int(expect(await sc.as_(who).get("/api/notifications/unread-count"), 200)["unread"])


async def submitted(sc: Scenario, marker: str) -> dict[str, Any]:
    flow = await sc.create(template_flow(marker=marker))
    await sc.submit(flow["id"])
    return flow


async def test_the_inbox_lists_own_notifications_newest_first_in_pages(sc: Scenario) -> None:
    start = await unread(sc, "board1")
    flows = [await submitted(sc, f"page-{n}") for n in range(3)]
    assert await unread(sc, "board1") == start + 3
    assert await unread(sc, "champion") == 0  # the submitter is not told of their own submission

    first = await inbox(sc, "board1", limit=2)
    assert first["unread"] == start + 3
    assert [item["params"]["flow_id"] for item in first["items"]] == [flows[2]["id"], flows[1]["id"]]
    item = first["items"][0]
    assert item["kind"] == "version_submitted" and item["target_type"] == "version"
    assert item["params"] == {"flow_id": flows[2]["id"], "flow": "Gruss", "number": 1, "by": "champion"}
    assert item["read_at"] is None and item["created_at"]
    second = await inbox(sc, "board1", limit=2, cursor=first["next_cursor"])
    assert second["items"][0]["params"]["flow_id"] == flows[0]["id"]
    ids = [entry["id"] for entry in first["items"] + second["items"]]
    assert len(ids) == len(set(ids))  # no entry on two pages


async def test_marking_read_one_or_all(sc: Scenario) -> None:
    await submitted(sc, "read-1")
    await submitted(sc, "read-2")
    before = await unread(sc, "board2")
    newest = (await inbox(sc, "board2", limit=1))["items"][0]

    marked = expect(await sc.as_("board2").post(f"/api/notifications/{newest['id']}/read"), 200)
    assert marked["id"] == newest["id"] and marked["read_at"] is not None
    assert await unread(sc, "board2") == before - 1
    again = expect(await sc.as_("board2").post(f"/api/notifications/{newest['id']}/read"), 200)
    assert again["read_at"] == marked["read_at"]  # the first read time stays
    only_unread = await inbox(sc, "board2", unread_only="true", limit=100)
    assert newest["id"] not in {item["id"] for item in only_unread["items"]}
    assert len(only_unread["items"]) == before - 1

    everything = expect(await sc.as_("board2").post("/api/notifications/read-all"), 200)
    assert everything == {"marked": before - 1, "unread": 0}
    assert await unread(sc, "board2") == 0
    assert (await inbox(sc, "board2", unread_only="true"))["items"] == []


async def test_nobody_reads_or_marks_another_persons_notifications(sc: Scenario) -> None:
    await submitted(sc, "private")
    theirs = (await inbox(sc, "board1", limit=1))["items"][0]
    for who in ("board2", "admin", "champion"):
        for method, path in (
            ("GET", f"/api/notifications/{theirs['id']}"),
            ("POST", f"/api/notifications/{theirs['id']}/read"),
        ):
            answer = await sc.as_(who).request(method, path)
            assert answer.status_code == 404, (who, method, answer.text)
            assert answer.json() == {
                "error": "not_found",
                "message": "notification not found",
                "resource": "notification",  # the code's parameter: the same for any id
            }
        assert theirs["id"] not in {item["id"] for item in (await inbox(sc, who, limit=100))["items"]}
    mine = expect(await sc.as_("board1").get(f"/api/notifications/{theirs['id']}"), 200)
    assert mine["read_at"] is None  # nobody else's attempt marked it
    missing = await sc.as_("board1").get("/api/notifications/nope")
    assert missing.status_code == 404
    assert (await sc.as_(None).get("/api/notifications/unread-count")).status_code == 401


async def test_bad_paging_is_refused_with_a_clear_error(sc: Scenario) -> None:
    answer = await sc.as_("board1").get("/api/notifications", params={"cursor": "gestern"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_cursor", answer.text
    for limit in (0, 101):
        answer = await sc.as_("board1").get("/api/notifications", params={"limit": limit})
        assert answer.status_code == 400, answer.text


async def test_only_global_admins_choose_the_mail_connection(sc: Scenario, mailer: Mailer) -> None:
    for who in ("salesadmin", "board1", "champion"):
        answer = await sc.as_(who).request(
            "PUT", "/api/admin/notification-settings", json={"connection_id": mailer.connection_id}
        )
        assert answer.status_code == 403, (who, answer.text)
        assert (await sc.as_(who).get("/api/admin/notification-settings")).status_code == 403
    shown = expect(await sc.as_("admin").get("/api/admin/notification-settings"), 200)
    assert shown["connection_id"] == mailer.connection_id and shown["connection_name"] == "notify"
    assert shown["workspace"] == "sales" and shown["studio_url"] == "https://dirigent.firma.de"
    assert shown["updated_by"] == "admin" and set(shown["mails"]) == {"pending", "sending", "sent", "failed"}


async def test_the_choice_must_be_an_e_mail_connection_and_a_studio_address(
    sc: Scenario, mailer: Mailer
) -> None:
    http = expect(
        await sc.as_("admin").post(
            "/api/workspaces/sales/connections",
            json={"name": "crm-notify", "kind": "http", "settings": {"base_url": "https://crm.firma.de"}},
        ),
        201,
    )
    answer = await sc.as_("admin").request(
        "PUT", "/api/admin/notification-settings", json={"connection_id": http["id"]}
    )
    assert answer.status_code == 400 and answer.json()["error"] == "not_an_email_connection", answer.text
    answer = await sc.as_("admin").request(
        "PUT", "/api/admin/notification-settings", json={"connection_id": "missing"}
    )
    assert answer.status_code == 404
    for url in ("ftp://dirigent.firma.de", "dirigent.firma.de", "https://x.de/?a=1"):
        answer = await sc.as_("admin").request(
            "PUT",
            "/api/admin/notification-settings",
            json={"connection_id": mailer.connection_id, "studio_url": url},
        )
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_studio_url", (
            url,
            answer.text,
        )
    # Nothing of the refused requests was stored.
    shown = expect(await sc.as_("admin").get("/api/admin/notification-settings"), 200)
    assert (
        shown["connection_id"] == mailer.connection_id and shown["studio_url"] == "https://dirigent.firma.de"
    )

    cleared = await choose(sc, None, studio_url="")
    assert cleared["connection_id"] is None and cleared["studio_url_set"] is None
    assert cleared["studio_url"] == "http://127.0.0.1:8711"  # DIRIGENT_STUDIO_URL's default
    entries = expect(
        await sc.as_("admin").get("/api/audit", params={"action": "notifications.configured"}), 200
    )
    assert entries and entries[0]["detail"] == {"connection": None, "studio_url": None}
    await choose(sc, mailer.connection_id)
