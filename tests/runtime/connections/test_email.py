"""E-mail connections against a real SMTP server (aiosmtpd on 127.0.0.1): an approval-gated
send, recipients restricted to allowed domains, login with the sealed password."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from runtime.connections.service import ConnectionService
from tests.runtime.connections.conftest import SECRET, create_connection
from tests.runtime.connections.servers import QUIET_AUTH_WARNING, SmtpTarget
from tests.support.scenario import Scenario, expect

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.filterwarnings(QUIET_AUTH_WARNING)]
_names = itertools.count(1)
SMTP_PASSWORD = "smtp-pw-" + SECRET
OFFER_INPUTS = {"to": "einkauf@kunde.de", "customer": "Kunde GmbH"}


def mail_flow(connection: str, *, to: str = "{{ check.payload.to }}") -> dict[str, Any]:
    """input → approval (editable mail) → connector (email) → output."""
    return {
        "schema": "dirigent.flow/v1",
        "name": "Angebotsmail",
        "inputs": {
            "to": {"type": "string", "required": True},
            "customer": {"type": "string", "required": True},
        },
        "nodes": [
            {"id": "start", "type": "input"},
            {
                "id": "check",
                "type": "approval",
                "config": {
                    "assignees": ["user:champion2"],
                    "editable": True,
                    "title": "Mail an {{ inputs.customer }}",
                    "payload": '{"to": "{{ inputs.to }}", "subject": "Ihr Angebot", '
                    '"text": "Sehr geehrte Damen und Herren von {{ inputs.customer }}, anbei das Angebot."}',
                },
            },
            {
                "id": "mail",
                "type": "connector",
                "config": {
                    "connection": connection,
                    "action": "send_offer",
                    "to": to,
                    "subject": "{{ check.payload.subject }}",
                    "text": "{{ check.payload.text }}",
                },
            },
            {"id": "end", "type": "output"},
        ],
        "edges": [
            {"from": "start", "to": "check"},
            {"from": "check", "to": "mail", "when": "approved"},
            {"from": "mail", "to": "end"},
        ],
        "outputs": {"decision": "{{ check.decision }}", "sent": "{{ mail.status }}"},
        "card": {"purpose": "Angebote per Mail nach Freigabe", "risk": "limited", "owner": "Vertrieb"},
        # Test cases never send mail: the connector's answer is fixed.
        "tests": [
            {
                "name": "freigegeben wird gesendet",
                "inputs": OFFER_INPUTS,
                "fixed": {"mail": {"status": "sent"}},
                "decisions": {"check": {"decision": "approve"}},
                "expect": [{"check": "equals", "output": "sent", "value": "sent"}],
            },
            {
                "name": "abgelehnt wird nicht gesendet",
                "inputs": OFFER_INPUTS,
                "fixed": {"mail": {"status": "sent"}},
                "decisions": {"check": {"decision": "reject", "comment": "nicht jetzt"}},
                "expect": [
                    {"check": "no_connector_call", "node": "mail"},
                    {"check": "equals", "output": "decision", "value": "rejected"},
                ],
            },
        ],
    }


async def mailer(sc: Scenario, smtp: SmtpTarget, password: str = SMTP_PASSWORD) -> str:
    name = f"mail{next(_names)}"
    await create_connection(
        sc,
        name,
        "email",
        {
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "none",
            "username": "mailer",
            "sender": "vertrieb@firma.de",
            "allowed_domains": ["kunde.de"],
        },
        {"password": password},
    )
    return name


async def until_done(sc: Scenario, run_id: str, by: str = "user") -> dict[str, Any]:
    for _ in range(200):
        run = expect(await sc.as_(by).get(f"/api/runs/{run_id}"), 200)
        if run["status"] not in ("running", "queued"):
            return run  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish: {run}")


async def decide(sc: Scenario, run: dict[str, Any], decision: str) -> dict[str, Any]:
    task = run["tasks"][0]
    expect(
        await sc.as_("champion2").post(
            f"/api/tasks/{task['id']}/decision", json={"decision": decision, "comment": "ok"}
        ),
        200,
    )
    return await until_done(sc, run["id"])


async def test_the_mail_goes_out_once_after_approval(
    sc: Scenario, smtp: SmtpTarget, allow_loopback: ConnectionService
) -> None:
    flow = await sc.live(mail_flow(await mailer(sc, smtp)))
    run = await sc.invoke(flow["slug"], {"to": "einkauf@kunde.de", "customer": "Kunde GmbH"})
    assert run["status"] == "waiting" and smtp.messages == []

    done = await decide(sc, run, "approve")
    assert done["status"] == "succeeded", done["error"]
    assert done["outputs"] == {"decision": "approved", "sent": "sent"}
    [message] = smtp.messages
    assert message["To"] == "einkauf@kunde.de" and message["From"] == "vertrieb@firma.de"
    assert message["Subject"] == "Ihr Angebot"
    assert message["Message-ID"] == f"<{run['id']}.mail@firma.de>"
    assert "Kunde GmbH, anbei das Angebot." in message.get_content()
    assert smtp.envelopes == [("vertrieb@firma.de", ["einkauf@kunde.de"])]
    assert smtp.logins == ["mailer"] * len(smtp.logins) and smtp.logins

    step = next(step for step in done["steps"] if step["node_id"] == "mail")
    assert step["outputs"]["response"]["accepted"] == ["einkauf@kunde.de"]
    entries = expect(await sc.as_("board1").get("/api/audit", params={"action": "connection.called"}), 200)
    [entry] = [entry for entry in entries if entry["detail"].get("run_id") == run["id"]]
    assert entry["detail"]["action"] == "send_offer" and entry["detail"]["recipients"] == 1
    assert entry["detail"]["status"] == "sent" and entry["detail"]["host"] == "127.0.0.1"
    assert "anbei" not in str(entry) and "einkauf@kunde.de" not in str(entry)


async def test_a_rejection_sends_nothing(
    sc: Scenario, smtp: SmtpTarget, allow_loopback: ConnectionService
) -> None:
    flow = await sc.live(mail_flow(await mailer(sc, smtp)))
    run = await sc.invoke(flow["slug"], {"to": "einkauf@kunde.de", "customer": "Kunde GmbH"})
    done = await decide(sc, run, "reject")
    assert done["status"] == "succeeded" and done["outputs"]["decision"] == "rejected"
    assert smtp.messages == []


@pytest.mark.parametrize(
    "to", ["chef@konkurrenz.de", "einkauf@kunde.de, leak@evil.example", "x@kunde.de.evil.example", "kunde.de"]
)
async def test_recipients_outside_the_allowed_domains_are_refused(
    sc: Scenario, smtp: SmtpTarget, allow_loopback: ConnectionService, to: str
) -> None:
    flow = await sc.live(mail_flow(await mailer(sc, smtp)))
    run = await sc.invoke(flow["slug"], {"to": to, "customer": "Kunde GmbH"})
    done = await decide(sc, run, "approve")
    assert done["status"] == "failed" and done["error"]["node"] == "mail", done
    assert done["error"]["kind"] == "ActionNotAllowed"
    assert smtp.messages == []


async def test_subdomains_of_an_allowed_domain_are_allowed(
    sc: Scenario, smtp: SmtpTarget, allow_loopback: ConnectionService
) -> None:
    flow = await sc.live(mail_flow(await mailer(sc, smtp)))
    run = await sc.invoke(flow["slug"], {"to": "Einkauf <einkauf@werk2.kunde.de>", "customer": "K"})
    done = await decide(sc, run, "approve")
    assert done["status"] == "succeeded", done["error"]
    assert [message["To"] for message in smtp.messages] == ["einkauf@werk2.kunde.de"]


async def test_the_connection_test_logs_in_without_sending(
    sc: Scenario, smtp: SmtpTarget, allow_loopback: ConnectionService
) -> None:
    good, bad = await mailer(sc, smtp), await mailer(sc, smtp, password="wrong")
    listed = {
        item["name"]: item["id"]
        for item in expect(await sc.as_("admin").get("/api/workspaces/sales/connections"), 200)
    }
    result = expect(await sc.as_("admin").post(f"/api/connections/{listed[good]}/test"), 200)
    assert result["ok"] is True, result
    result = expect(await sc.as_("admin").post(f"/api/connections/{listed[bad]}/test"), 200)
    assert result["ok"] is False and "refused the login" in result["message"], result
    assert smtp.messages == []


@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_tls_is_spoken_and_certificates_are_checked_by_default(
    sc: Scenario, allow_loopback: ConnectionService, tmp_path: Any, security: str
) -> None:
    from tests.runtime.connections.servers import self_signed_context

    context = self_signed_context(tmp_path)
    starttls, implicit = (context, None) if security == "starttls" else (None, context)
    server_target = SmtpTarget(
        username="mailer", password=SMTP_PASSWORD, starttls=starttls, implicit_tls=implicit
    )
    with server_target as server:
        settings = {
            "host": "127.0.0.1",
            "port": server.port,
            "security": security,
            "username": "mailer",
            "sender": "vertrieb@firma.de",
            "allowed_domains": ["kunde.de"],
            "timeout_s": 5,
        }
        strict, lenient = f"tls{next(_names)}", f"tls{next(_names)}"
        strict_id = (await create_connection(sc, strict, "email", settings, {"password": SMTP_PASSWORD}))[
            "id"
        ]
        lenient_id = (
            await create_connection(
                sc, lenient, "email", {**settings, "verify_tls": False}, {"password": SMTP_PASSWORD}
            )
        )["id"]
        refused = expect(await sc.as_("admin").post(f"/api/connections/{strict_id}/test"), 200)
        assert refused["ok"] is False and "CERTIFICATE_VERIFY_FAILED" in refused["message"], refused
        assert server.logins == []  # the password never crossed an unverified channel
        accepted = expect(await sc.as_("admin").post(f"/api/connections/{lenient_id}/test"), 200)
        assert accepted["ok"] is True, accepted
        assert server.logins == ["mailer"]
