"""People are told: who gets an inbox entry and a mail for which event.

    version submitted        board members who may approve it (never author or submitter)
    approved / rejected      the author, and the submitter if someone else
    task raised              assignees who may decide it (never the run's requester)
    task overdue             those assignees and the requester

Through the real API, with a real SMTP server (aiosmtpd on 127.0.0.1) behind an e-mail
connection the admin chose."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import Flow, FlowVersion, User
from runtime.notifications import service
from runtime.notifications.models import NotificationMail
from runtime.policy.resources import Actor
from tests.runtime.notifications.conftest import (
    Mailer,
    address,
    notifications_of,
    outbox_rows,
    recipients_of,
)
from tests.support.scenario import (
    Scenario,
    approval_flow,
    expect,
    llm_fixture,
    sc_fixture,
    shared_app_fixture,
    template_flow,
)

__all__ = ["llm_fixture", "sc_fixture", "shared_app_fixture"]

pytestmark = pytest.mark.asyncio(loop_scope="module")

BOARD = ["board1", "board2"]


async def test_a_submitted_version_tells_the_board_in_the_inbox_and_by_mail(
    sc: Scenario, mailer: Mailer
) -> None:
    flow = await sc.create(template_flow(marker="submit"))
    await sc.submit(flow["id"])

    assert await recipients_of(sc, kind="version_submitted", flow_id=flow["id"]) == BOARD
    entry = (await notifications_of(sc, kind="version_submitted", flow_id=flow["id"]))[0]
    assert entry.params == {"flow_id": flow["id"], "flow": flow["name"], "number": 1, "by": "champion"}
    assert entry.target_type == "version" and entry.read_at is None

    sent = mailer.deliver()
    assert len(sent.sent) == 2 and not sent.retrying and not sent.failed
    assert sorted(mailer.recipients()) == [address("board1"), address("board2")]
    mail = mailer.mails_to("board1")[0]
    assert mail["From"] == "dirigent@firma.de"
    assert mail["Subject"] == f"Freigabe erbeten: {flow['name']} v1 / Approval requested: {flow['name']} v1"
    text = mail.get_content()
    german, english = text.split("— English —")
    assert "champion hat Version 1 von „Gruss“ zur Freigabe eingereicht" in german
    assert "champion submitted version 1 of “Gruss” for approval" in english
    assert f"https://dirigent.firma.de/review?version={flow['id']}:1" in german
    assert mail["Message-ID"].startswith("<dirigent-notification.")
    assert mailer.deliver().sent == []  # sent once, not again


async def test_the_author_is_told_of_an_approval_and_nobody_of_a_review_short_of_the_quorum(
    sc: Scenario, mailer: Mailer
) -> None:
    flow = await sc.create(template_flow(risk="high", marker="quorum"))  # high: two approvals
    await sc.submit(flow["id"])
    mailer.deliver()
    mailer.clear()

    state = await sc.approve(flow["id"], by="board1")
    assert state["state"] == "submitted"
    assert await recipients_of(sc, kind="version_approved", flow_id=flow["id"]) == []
    state = await sc.approve(flow["id"], by="board2")
    assert state["state"] == "approved"
    assert await recipients_of(sc, kind="version_approved", flow_id=flow["id"]) == ["champion"]
    (entry,) = await notifications_of(sc, kind="version_approved", flow_id=flow["id"])
    assert entry.params["by"] == "board2" and entry.params["comment"] == "passt"

    assert len(mailer.deliver().sent) == 1
    assert mailer.recipients() == [address("champion")]
    assert "ist freigegeben" in mailer.mails_to("champion")[0].get_content()


async def test_a_rejection_tells_author_and_submitter_with_the_reason(sc: Scenario, mailer: Mailer) -> None:
    flow = await sc.create(template_flow(marker="reject"))  # authored by champion
    await sc.run_tests(flow["id"], by="champion2")
    await sc.act(flow["id"], 1, "submit", by="champion2")  # submitted by champion2
    assert await recipients_of(sc, kind="version_submitted", flow_id=flow["id"]) == BOARD
    mailer.deliver()
    mailer.clear()

    await sc.act(flow["id"], 1, "reject", by="board1", comment="Quelle fehlt")
    assert await recipients_of(sc, kind="version_rejected", flow_id=flow["id"]) == ["champion", "champion2"]
    entry = (await notifications_of(sc, kind="version_rejected", flow_id=flow["id"]))[0]
    assert entry.params["comment"] == "Quelle fehlt" and entry.params["by"] == "board1"
    mailer.deliver()
    assert sorted(mailer.recipients()) == sorted([address("champion"), address("champion2")])
    assert "board1 hat Version 1 von „Gruss“ abgelehnt" in mailer.mails_to("champion")[0].get_content()


async def test_a_board_member_who_submitted_is_not_asked_to_approve(sc: Scenario, mailer: Mailer) -> None:
    """Four eyes decides the recipients: the policy's approve rule, not a role list."""
    flow = await sc.create(template_flow(marker="foureyes"))

    async def submitted_by_board1(session: AsyncSession) -> None:
        version = (
            await session.execute(select(FlowVersion).where(FlowVersion.flow_id == flow["id"]))
        ).scalar_one()
        board1 = Actor(
            id=await _user_id(session, "board1"), username="board1", global_roles=frozenset({"board"})
        )
        version.state, version.submitted_by = "submitted", board1.id
        await session.flush()
        await service.version_submitted(session, await _flow(session, flow["id"]), version, board1)

    sc.in_app(submitted_by_board1, write=True)
    assert await recipients_of(sc, kind="version_submitted", flow_id=flow["id"]) == ["board2"]


async def test_a_raised_task_tells_its_deciders_but_never_the_requester(sc: Scenario, mailer: Mailer) -> None:
    flow = await sc.live(approval_flow(assignees=("role:champion",)))
    mailer.deliver()  # the board's and the author's mails of going live
    mailer.clear()
    run = await sc.waiting_run(flow["slug"], by="champion")
    task_id = run["tasks"][0]["id"]

    # champion started the run: four eyes; hrchampion is a champion elsewhere; admins decide nothing
    assert await recipients_of(sc, kind="task_assigned", target_id=task_id) == ["champion2"]
    (entry,) = await notifications_of(sc, kind="task_assigned", target_id=task_id)
    assert entry.params == {
        "task_id": task_id,
        "run_id": run["id"],
        "title": "Mail an Müller GmbH",
        "flow": "Freigabe",
    }
    mailer.deliver()
    assert mailer.recipients() == [address("champion2")]
    mail = mailer.mails_to("champion2")[0]
    assert mail["Subject"] == "Aufgabe: Mail an Müller GmbH / Task: Mail an Müller GmbH"
    text = mail.get_content()
    assert "Eine Aufgabe wartet auf Ihre Entscheidung: Mail an Müller GmbH" in text
    assert f"https://dirigent.firma.de/tasks?task={task_id}" in text
    assert "Angebot folgt" not in text  # the payload stays out of mails


async def test_an_overdue_task_tells_its_deciders_and_the_requester(sc: Scenario, mailer: Mailer) -> None:
    document = approval_flow(assignees=("user:champion2", "role:board"))
    next(node for node in document["nodes"] if node["id"] == "check")["config"]["timeout"] = "PT1S"
    flow = await sc.live(document)
    run = await sc.waiting_run(flow["slug"], by="user")
    task_id = run["tasks"][0]["id"]
    assert await recipients_of(sc, kind="task_assigned", target_id=task_id) == [
        "board1",
        "board2",
        "champion2",
    ]
    mailer.deliver()
    mailer.clear()

    for _ in range(100):  # the sweep (every 0.2 s) expires it after a second
        task = expect(await sc.as_("champion2").get(f"/api/tasks/{task_id}"), 200)
        if task["status"] == "expired":
            break
        await asyncio.sleep(0.1)
    assert task["status"] == "expired"
    overdue = await recipients_of(sc, kind="task_overdue", target_id=task_id)
    assert overdue == ["board1", "board2", "champion2", "user"]
    mailer.deliver()
    assert sorted(mailer.recipients()) == sorted(address(name) for name in overdue)
    assert "ist abgelaufen: Mail an Müller GmbH" in mailer.mails_to("user")[0].get_content()


async def test_an_event_notifies_each_person_once(sc: Scenario, mailer: Mailer) -> None:
    flow = await sc.create(template_flow(marker="once"))
    await sc.submit(flow["id"])
    before = await notifications_of(sc, kind="version_submitted", flow_id=flow["id"])

    async def again(session: AsyncSession) -> int:
        version = (
            await session.execute(select(FlowVersion).where(FlowVersion.flow_id == flow["id"]))
        ).scalar_one()
        champion = Actor(id=version.author_id, username="champion")
        return await service.version_submitted(session, await _flow(session, flow["id"]), version, champion)

    assert sc.in_app(again, write=True) == 0
    after = await notifications_of(sc, kind="version_submitted", flow_id=flow["id"])
    assert [row.id for row in after] == [row.id for row in before]
    rows = await outbox_rows(sc, [row.id for row in after])
    assert len(rows) == 2  # one mail per notification, not one per call


async def test_without_a_chosen_connection_notifications_stay_in_the_inbox(
    sc: Scenario, mailer: Mailer
) -> None:
    from tests.runtime.notifications.conftest import choose

    await choose(sc, None)
    try:
        flow = await sc.create(template_flow(marker="nomail"))
        await sc.submit(flow["id"])
        rows = await notifications_of(sc, kind="version_submitted", flow_id=flow["id"])
        assert len(rows) == 2
        assert await outbox_rows(sc, [row.id for row in rows]) == []
        assert mailer.deliver().sent == []
    finally:
        await choose(sc, mailer.connection_id)


async def test_a_person_without_an_address_gets_the_inbox_entry_only(sc: Scenario, mailer: Mailer) -> None:
    token = await sc.add_person("board3", ("board", None))  # no e-mail address
    assert token
    flow = await sc.create(template_flow(marker="noaddress"))
    await sc.submit(flow["id"])
    assert await recipients_of(sc, kind="version_submitted", flow_id=flow["id"]) == [
        "board1",
        "board2",
        "board3",
    ]
    mailer.deliver()
    assert sorted(mailer.recipients()) == [address("board1"), address("board2")]

    async def mails(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(NotificationMail))).scalar_one())

    assert sc.in_app(mails) >= 2


async def _user_id(session: AsyncSession, username: str) -> str:
    return str((await session.execute(select(User.id).where(User.username == username))).scalar_one())


async def _flow(session: AsyncSession, flow_id: str) -> Flow:
    row = await session.get(Flow, flow_id)
    assert row is not None
    return row
