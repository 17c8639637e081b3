"""What people see is what the board approved, end to end in Chromium (conftest.py: the stack).

    three tasks      each e-mail that leaves after an approval carries its own task's text,
                     whatever order the cards are decided in and whichever one was edited
    outputs          the chat's bubble ends with the flow's declared outputs (a disclaimer a
                     template adds; an object as a list), not with the LLM's streamed tokens
    markdown         an answer with HTML and remote images loads nothing and runs nothing
    sources          grouped by document; a passage opens in a dialog (checked again)
    inputs           titles, hints, choices and defaults of an assistant's inputs
    demo             `user` chats with the FAQ assistant `dirigent up` published

Each journey publishes the flows it needs through the runtime's API, as champion and
board1 would, so it does not depend on the other modules.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.runtime.connections.servers import HttpTarget, SmtpTarget
from tests.studio.conftest import STREAMED_ANSWER, Stack
from tests.studio.steps import shot, sign_in
from tests.support.messages_api_double import Reply

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_numbers = itertools.count(1)
DISCLAIMER = "Hinweis: Diese Auskunft ist unverbindlich."


def publish(stack: Stack, document: dict[str, Any], slug: str) -> dict[str, Any]:
    """Create `slug` in workspace demo as champion, run its cases, submit, approve (board1), publish."""
    flow = stack.api(
        "champion",
        "POST",
        "/api/workspaces/demo/flows",
        json={"name": document["name"], "slug": slug, "document": document},
    )
    base = f"/api/flows/{flow['id']}/versions/1"
    report = stack.api("champion", "POST", f"{base}/test", json={"live": False})
    assert report["passed"], report
    stack.api("champion", "POST", f"{base}/submit")
    stack.api("board1", "POST", f"{base}/approve", json={"comment": "ok"})
    stack.api("champion", "POST", f"{base}/publish")
    return flow  # type: ignore[no-any-return]


def llm_flow(name: str, marker: str, *, after: str | None = None, json_schema: Any = None) -> dict[str, Any]:
    """input → llm (its prompt carries `marker`, so the LLM double can tell the flows apart)
    [→ template `after`] → output `answer` (the template's text, or the LLM's text/json)."""
    config: dict[str, Any] = {"prompt": f"{marker}: {{{{ inputs.question }}}}", "max_tokens": 200}
    if json_schema is not None:
        config["json_schema"] = json_schema
    nodes: list[dict[str, Any]] = [
        {"id": "start", "type": "input"},
        {"id": "llm", "type": "llm", "config": config},
    ]
    edges = [{"from": "start", "to": "llm"}]
    output = "{{ llm.json }}" if json_schema is not None else "{{ llm.text }}"
    fixed: dict[str, Any] = {"text": "Ja.", "json": {"punkt": "eins"} if json_schema else None}
    if after is not None:
        nodes.append({"id": "note", "type": "template", "config": {"template": after}})
        edges.append({"from": "llm", "to": "note"})
        output = "{{ note.text }}"
    nodes.append({"id": "end", "type": "output"})
    edges.append({"from": edges[-1]["to"], "to": "end"})
    return {
        "schema": "dirigent.flow/v1",
        "name": name,
        "inputs": {"question": {"type": "string", "required": True, "title": "Ihre Frage"}},
        "nodes": nodes,
        "edges": edges,
        "outputs": {"answer": output},
        "card": {"purpose": "Journey", "risk": "minimal", "owner": "QA"},
        "tests": [
            {
                "name": "antwortet",
                "inputs": {"question": "?"},
                "fixed": {"llm": fixed},
                "expect": [{"check": "status", "value": "succeeded"}],
            }
        ],
    }


@pytest.fixture
def scripted_llm(stack: Stack) -> Iterator[dict[str, Reply]]:
    """Answers by marker: a prompt that contains a key of the dict gets its reply; every
    other prompt the session's usual streamed answer. Restored afterwards."""
    replies: dict[str, Reply] = {}
    usual = Reply(STREAMED_ANSWER, chunk_delay_s=0.08)

    def respond(body: dict[str, Any]) -> Reply:
        prompt = " ".join(str(message.get("content")) for message in body.get("messages", []))
        return next((reply for marker, reply in replies.items() if marker in prompt), usual)

    stack.llm.respond_with(respond)
    yield replies
    stack.llm.reply(usual)


def ask(page: Any, slug: str, question: str) -> Any:
    """Choose the assistant `slug` (its chat starts empty) and send `question`."""
    page.locator(f".assistant-item[data-slug='{slug}']").click()
    page.wait_for_selector(".chat-assistant", state="detached")  # the previous chat is gone
    page.wait_for_selector("#chat-input:not([disabled])")
    page.fill("#chat-input", question)
    page.click("#chat-send")
    return page.locator(".chat-assistant").last


# -- 1. three tasks, three letters --------------------------------------------------------------
CUSTOMERS = {
    "Bäckerei Kunz": "kunz@kunde.example",
    "Autohaus Weber KG": "weber@kunde.example",
    "Metzgerei Huber": "huber@kunde.example",
}


def letter_flow(connection: str) -> dict[str, Any]:
    """input → letter (template) → approval (editable text) → e-mail (connector) → output."""
    letter = (
        "Sehr geehrte Damen und Herren der Firma {{ inputs.customer }},\n\n"
        "anbei unser Angebot Nr. {{ inputs.offer }}.\n\nMit freundlichen Grüßen"
    )
    return {
        "schema": "dirigent.flow/v1",
        "name": "Angebotsbrief",
        "inputs": {
            "customer": {"type": "string", "required": True, "title": "Kunde"},
            "to": {"type": "string", "required": True, "title": "E-Mail"},
            "offer": {"type": "string", "required": True, "title": "Angebot"},
        },
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "letter", "type": "template", "config": {"template": letter}},
            {
                "id": "check",
                "type": "approval",
                "config": {
                    "assignees": ["role:champion"],
                    "editable": True,
                    "title": "Brief an {{ inputs.customer }}",
                    "payload": "{{ letter.text }}",
                },
            },
            {
                "id": "mail",
                "type": "connector",
                "config": {
                    "connection": connection,
                    "action": "send_letter",
                    "to": "{{ inputs.to }}",
                    "subject": "Angebot {{ inputs.offer }} für {{ inputs.customer }}",
                    "text": "{{ check.payload }}",
                },
            },
            {"id": "end", "type": "output"},
        ],
        "edges": [
            {"from": "start", "to": "letter"},
            {"from": "letter", "to": "check"},
            {"from": "check", "to": "mail", "when": "approved"},
            {"from": "mail", "to": "end"},
        ],
        "outputs": {"decision": "{{ check.decision }}", "sent": "{{ mail.status }}"},
        "card": {"purpose": "Angebotsbriefe nach Freigabe", "risk": "minimal", "owner": "Vertrieb"},
        "tests": [
            {
                "name": "freigegeben wird gesendet",
                "inputs": {"customer": "Kunz", "to": "kunz@kunde.example", "offer": "1"},
                "fixed": {"mail": {"status": "sent"}},
                "decisions": {"check": {"decision": "approve"}},
                "expect": [{"check": "equals", "output": "sent", "value": "sent"}],
            }
        ],
    }


def _card_text(page: Any, task_id: str) -> str:
    return str(page.locator(f".task-card[data-task='{task_id}'] textarea").first.input_value())


def _approve(page: Any, task_id: str) -> None:
    page.locator(f".task-card[data-task='{task_id}'] .task-approve").click()
    page.wait_for_selector(f".task-card[data-task='{task_id}']", state="detached", timeout=30_000)


def test_three_tasks_each_mail_carries_exactly_its_own_text(stack: Stack, new_page: Any) -> None:
    with SmtpTarget() as smtp:
        connection = f"briefe{next(_numbers)}"
        stack.api(
            "admin",
            "POST",
            "/api/workspaces/demo/connections",
            json={
                "name": connection,
                "kind": "email",
                "settings": {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "security": "none",
                    "sender": "vertrieb@dirigent-demo.example",
                    "allowed_domains": ["kunde.example"],
                },
                "secrets": {},
            },
        )
        slug = f"briefe-{next(_numbers)}"
        publish(stack, letter_flow(connection), slug)
        tasks: dict[str, str] = {}  # customer -> task id
        for number, (customer, to) in enumerate(CUSTOMERS.items(), start=1):
            run = stack.api(
                "user",
                "POST",
                f"/api/assistants/{slug}/runs",
                json={"inputs": {"customer": customer, "to": to, "offer": f"2025-{number}"}},
            )
            assert run["status"] == "waiting", run
            tasks[customer] = run["tasks"][0]["id"]
        letters = {
            customer: next(t for t in stack.api("champion", "GET", "/api/tasks") if t["id"] == task)[
                "payload"
            ]
            for customer, task in tasks.items()
        }
        assert all(customer in letters[customer] for customer in CUSTOMERS)

        page = new_page()
        sign_in(page, stack, "champion", "/tasks")
        for task in tasks.values():
            page.wait_for_selector(f".task-card[data-task='{task}']")
        order = [page.locator(".task-card").nth(i).get_attribute("data-task") for i in range(3)]
        by_task = {task: customer for customer, task in tasks.items()}
        first, middle, last = (by_task[task] for task in order if task in by_task)
        shot(page, "40-three-tasks")

        # The middle card first, as it is.
        _approve(page, tasks[middle])
        # The first card: its letter rewritten, then approved.
        edited = f"Guten Tag {first},\n\nwie besprochen erhalten Sie das Angebot heute.\n\nViele Grüße"
        assert _card_text(page, tasks[first]) == letters[first]
        payload = page.locator(f".task-card[data-task='{tasks[first]}'] textarea").first
        payload.fill(edited)
        page.locator(f".task-card[data-task='{tasks[first]}'] textarea").nth(1).fill("Ton angepasst")
        _approve(page, tasks[first])
        # The last card has moved up to where the edited one was: it shows its own letter,
        # and a line added to it goes out with its own letter only.
        assert _card_text(page, tasks[last]) == letters[last]
        shot(page, "41-task-moved-up")
        area = page.locator(f".task-card[data-task='{tasks[last]}'] textarea").first
        area.click()
        page.keyboard.press("Control+End")
        page.keyboard.type("\nPS: Wir freuen uns auf Ihre Antwort.")
        _approve(page, tasks[last])

        deadline = time.monotonic() + 30
        while len(smtp.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        # SMTP carries CRLF line ends; the texts are compared line by line.
        sent = {str(m["To"]): m.get_content().replace("\r\n", "\n").strip() for m in smtp.messages}
        assert len(smtp.messages) == 3, [m["To"] for m in smtp.messages]
        expected = {
            CUSTOMERS[middle]: letters[middle],
            CUSTOMERS[first]: edited,
            CUSTOMERS[last]: letters[last] + "\nPS: Wir freuen uns auf Ihre Antwort.",
        }
        assert sent == {to: text.strip() for to, text in expected.items()}
        for message in smtp.messages:
            customer = next(name for name, to in CUSTOMERS.items() if to == str(message["To"]))
            assert customer in str(message["Subject"])
            others = [name for name in CUSTOMERS if name != customer]
            assert not any(name in message.get_content() for name in others), message.get_content()


# -- 2. the bubble ends with the declared outputs -------------------------------------------------
def test_the_answer_is_the_flows_output_not_the_streamed_tokens(
    stack: Stack, new_page: Any, scripted_llm: dict[str, Reply]
) -> None:
    note = "{{ llm.text }}\n\n" + DISCLAIMER
    slug = f"auskunft-{next(_numbers)}"
    publish(stack, llm_flow("Auskunft mit Hinweis", "AUSKUNFT", after=note), slug)
    scripted_llm["AUSKUNFT"] = Reply(
        "Die Kantine öffnet um 11:30 Uhr und schließt um 14 Uhr.", chunk_delay_s=0.15
    )
    plan_slug = f"plan-{next(_numbers)}"
    schema = {"type": "object", "properties": {"rolle": {"type": "string"}}}
    publish(stack, llm_flow("Einarbeitungsplan", "PLAN", json_schema=schema), plan_slug)
    scripted_llm["PLAN"] = Reply(
        '{"rolle": "Vertriebsinnendienst", "woche_1": ["Laptop abholen", "Zugänge einrichten"], '
        '"mentor": "Frau Kunz"}',
        chunk_delay_s=0.05,
    )

    page = new_page()
    sign_in(page, stack, "user", "/assistants")
    bubble = ask(page, slug, "Wann hat die Kantine offen?")
    # While the run goes on, the streamed tokens are a preview.
    page.wait_for_selector(".chat-assistant[data-kind='preview'] .answer-preview")
    bubble = page.locator(".chat-assistant[data-status='succeeded'][data-kind='final']").last
    bubble.wait_for(timeout=30_000)
    text = bubble.inner_text()
    assert "Die Kantine öffnet um 11:30 Uhr" in text and DISCLAIMER in text
    run = stack.api("user", "GET", f"/api/runs/{bubble.locator('.feedback-bar').get_attribute('data-run')}")
    assert run["outputs"]["answer"].endswith(DISCLAIMER)
    shot(page, "42-chat-output-with-disclaimer")

    bubble = ask(page, plan_slug, "Plan für den Innendienst")
    page.wait_for_selector(".chat-assistant[data-kind='preview']")
    bubble = page.locator(".chat-assistant[data-status='succeeded'][data-kind='final']").last
    bubble.wait_for(timeout=30_000)
    answer = bubble.locator(".answer")
    assert answer.locator("li").count() >= 4  # a list: rolle, woche 1 (two items), mentor
    text = answer.inner_text()
    assert "Mentor:" in text and "Frau Kunz" in text and "Laptop abholen" in text
    assert "{" not in text and '"' not in text
    shot(page, "43-chat-object-as-list")


# -- 3. markdown from a model loads nothing and runs nothing -------------------------------------
def test_an_injected_answer_loads_no_remote_image_and_runs_no_html(
    stack: Stack, new_page: Any, scripted_llm: dict[str, Reply]
) -> None:
    with HttpTarget() as target:
        slug = f"injektion-{next(_numbers)}"
        publish(stack, llm_flow("Dokumentfragen", "INJEKTION"), slug)
        scripted_llm["INJEKTION"] = Reply(
            "Laut Dokument gilt die Regel.\n\n"
            f"<img src={target.url}/x?secret=4711>\n\n"
            f"![Diagramm]({target.url}/y?secret=4711)\n\n"
            "<script>window.__pwned = 1</script>\n\n"
            '<b onmouseover="window.__hovered = 1">fett</b> und **wirklich fett**\n\n'
            f"[Quelle]({target.url}/z)",
            chunk_delay_s=0.02,
        )
        page = new_page()
        sign_in(page, stack, "user", "/assistants")
        ask(page, slug, "Was gilt?")
        bubble = page.locator(".chat-assistant[data-status='succeeded'][data-kind='final']").last
        bubble.wait_for(timeout=30_000)
        answer = bubble.locator(".answer")
        answer.hover()
        page.wait_for_timeout(1500)  # time for any image request to arrive

        assert target.requests == [], [request.path for request in target.requests]
        assert answer.locator("img, script, iframe, [onmouseover], [onerror]").count() == 0
        assert answer.locator("b").count() == 0 and answer.locator("strong").inner_text() == "wirklich fett"
        assert page.evaluate("window.__pwned === undefined && window.__hovered === undefined")
        blocked = answer.locator(".blocked-image")
        assert blocked.count() == 1
        assert blocked.inner_text() == f"[Bild blockiert: 127.0.0.1:{target.port}]"
        links = answer.locator("a")
        assert links.count() >= 1 and answer.get_by_role("link", name="Quelle").count() == 1
        for number in range(links.count()):  # every link, also ones GFM makes of bare URLs
            link = links.nth(number)
            assert (
                link.get_attribute("rel") == "noopener noreferrer"
                and link.get_attribute("target") == "_blank"
            )
        assert "Laut Dokument gilt die Regel." in answer.inner_text()
        shot(page, "44-chat-injection-blocked")


# -- 4. sources grouped by document, a passage in a dialog ---------------------------------------
def sources_flow() -> dict[str, Any]:
    return {
        "schema": "dirigent.flow/v1",
        "name": "Onboarding-Fragen",
        "inputs": {"question": {"type": "string", "required": True, "title": "Ihre Frage"}},
        "nodes": [
            {"id": "start", "type": "input"},
            {
                "id": "find",
                "type": "retrieval",
                "config": {"index": "hr-richtlinien", "query": "{{ inputs.question }}", "k": 4},
            },
            {
                "id": "llm",
                "type": "llm",
                "config": {
                    "prompt": "QUELLEN {{ find.context }}\n\n{{ inputs.question }}",
                    "max_tokens": 200,
                },
            },
            {"id": "end", "type": "output"},
        ],
        "edges": [
            {"from": "start", "to": "find"},
            {"from": "find", "to": "llm"},
            {"from": "llm", "to": "end"},
        ],
        "outputs": {"answer": "{{ llm.text }}"},
        "card": {"purpose": "Journey", "risk": "minimal", "owner": "QA", "data_sources": ["HR-Richtlinien"]},
        "tests": [
            {
                "name": "antwortet",
                "inputs": {"question": "?"},
                "fixed": {"find": {"documents": [], "context": ""}, "llm": {"text": "Ja."}},
                "expect": [{"check": "status", "value": "succeeded"}],
            }
        ],
    }


def test_sources_are_grouped_by_document_and_open_their_passage(
    stack: Stack, new_page: Any, scripted_llm: dict[str, Reply]
) -> None:
    slug = f"onboarding-{next(_numbers)}"
    publish(stack, sources_flow(), slug)
    scripted_llm["QUELLEN"] = Reply("Ihren Laptop erhalten Sie am ersten Arbeitstag von der IT.")
    page = new_page()
    sign_in(page, stack, "user", "/assistants")
    ask(page, slug, "Wann bekomme ich meinen Laptop und wie ist die Arbeitszeit?")
    bubble = page.locator(".chat-assistant[data-status='succeeded']").last
    bubble.wait_for(timeout=60_000)
    bubble.locator(".sources .source-item").first.wait_for(timeout=30_000)

    run = stack.api("user", "GET", f"/api/runs/{bubble.locator('.feedback-bar').get_attribute('data-run')}")
    documents = next(s for s in run["steps"] if s["node_id"] == "find")["outputs"]["documents"]
    by_document: dict[str, list[str]] = {}
    for passage in documents:
        by_document.setdefault(passage["source"], []).append(passage["chunk_id"])
    groups = bubble.locator(".sources .source-item")
    assert groups.count() == len(by_document)  # one group per document, not per passage
    for number in range(groups.count()):
        group = groups.nth(number)
        source = group.get_attribute("data-source")
        chunks = [
            group.locator(".source-passage").nth(i).get_attribute("data-chunk")
            for i in range(group.locator(".source-passage").count())
        ]
        assert chunks == by_document[source], source
        assert group.locator(".passage-text").first.inner_text().strip("„“ ")
    shot(page, "45-chat-sources")

    first = documents[0]
    bubble.locator(f".source-passage[data-chunk='{first['chunk_id']}'] .open-passage").click()
    dialog = page.locator("#passage-dialog")
    dialog.wait_for()
    assert first["source"] in dialog.inner_text()
    assert " ".join(first["text"].split())[:60] in " ".join(page.inner_text("#passage-text").split())
    shot(page, "46-chat-passage")
    page.click("#passage-close")
    dialog.wait_for(state="detached")


# -- 5. the inputs form ---------------------------------------------------------------------------
def test_inputs_show_titles_hints_choices_and_defaults(stack: Stack, new_page: Any) -> None:
    document = {
        "schema": "dirigent.flow/v1",
        "name": "Reiseantrag",
        "inputs": {
            "question": {
                "type": "string",
                "required": True,
                "title": "Anliegen",
                "description": "Worum geht es?",
            },
            "ziel": {
                "type": "string",
                "required": True,
                "title": "Reiseziel",
                "enum": ["Berlin", "Hamburg", "München"],
                "default": "Hamburg",
            },
            "naechte": {
                "type": "integer",
                "title": "Übernachtungen",
                "default": 2,
                "description": "0 bis 14",
            },
            "bahn": {"type": "boolean", "title": "Mit der Bahn", "default": True},
            "notiz": {"type": "string", "title": "Notiz", "description": "Was die Reisestelle wissen sollte"},
        },
        "nodes": [
            {"id": "start", "type": "input"},
            {
                "id": "sum",
                "type": "template",
                "config": {
                    "template": "{{ inputs.question }}: {{ inputs.ziel }}, {{ inputs.naechte }} Nächte, "
                    "Bahn {{ inputs.bahn }}, Notiz {{ inputs.notiz or '-' }}"
                },
            },
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "sum"}, {"from": "sum", "to": "end"}],
        "outputs": {"antrag": "{{ sum.text }}"},
        "card": {"purpose": "Journey", "risk": "minimal", "owner": "QA"},
        "tests": [
            {
                "name": "läuft",
                "inputs": {"question": "x"},
                "expect": [{"check": "status", "value": "succeeded"}],
            }
        ],
    }
    slug = f"reise-{next(_numbers)}"
    publish(stack, document, slug)
    page = new_page()
    sign_in(page, stack, "user", "/assistants")
    page.locator(f".assistant-item[data-slug='{slug}']").click()
    page.wait_for_selector(".chat-field[data-name='ziel']")  # this assistant's form, not the one before
    assert page.get_attribute("#chat-input", "placeholder") == "Worum geht es?"
    field = {
        name: page.locator(f".chat-field[data-name='{name}']")
        for name in ("ziel", "naechte", "bahn", "notiz")
    }
    assert [field[name].get_attribute("data-widget") for name in field] == [
        "select",
        "number",
        "switch",
        "text",
    ]
    assert field["ziel"].locator(".field-label").inner_text() == "Reiseziel"
    assert (
        field["ziel"].locator(".required").count() == 1 and field["notiz"].locator(".required").count() == 0
    )
    assert field["naechte"].locator(".field-hint").inner_text() == "0 bis 14"
    assert page.input_value("#chat-input-naechte") == "2"  # defaults prefilled
    assert "Hamburg" in page.inner_text("#chat-input-ziel")
    assert page.get_attribute("#chat-input-bahn", "data-state") == "checked"
    shot(page, "47-chat-inputs")

    page.click("#chat-input-ziel")
    page.get_by_role("option", name="München", exact=True).click()
    page.fill("#chat-input-naechte", "3")
    page.click("#chat-input-bahn")
    page.fill("#chat-input-notiz", "Hotel nahe Messe")
    page.fill("#chat-input", "Messebesuch")
    page.click("#chat-send")
    bubble = page.locator(".chat-assistant[data-status='succeeded']").last
    bubble.wait_for(timeout=30_000)
    assert "Messebesuch: München, 3 Nächte, Bahn False, Notiz Hotel nahe Messe" in bubble.inner_text()
    run = stack.api("user", "GET", f"/api/runs/{bubble.locator('.feedback-bar').get_attribute('data-run')}")
    assert run["inputs"] == {
        "question": "Messebesuch",
        "ziel": "München",
        "naechte": 3,
        "bahn": False,
        "notiz": "Hotel nahe Messe",
    }


# -- 6. the demo assistant is live from the start -------------------------------------------------
def test_user_chats_with_the_demo_faq_assistant_at_once(stack: Stack, new_page: Any) -> None:
    faq = next(flow for flow in stack.api("champion", "GET", "/api/flows") if flow["slug"] == "faq-assistant")
    versions = stack.api("champion", "GET", f"/api/flows/{faq['id']}/versions")
    assert any(version["number"] == 1 and version["state"] == "published" for version in versions)
    entries = stack.api("board1", "GET", "/api/audit", params={"action": "demo.setup"})
    assert entries and entries[0]["detail"]["approved_by"] == ["board1"]
    page = new_page()
    sign_in(page, stack, "user", "/assistants")
    page.wait_for_selector(".assistant-item[data-slug='faq-assistant']")
    ask(page, "faq-assistant", "Wo finde ich den Speiseplan?")
    bubble = page.locator(".chat-assistant[data-status='succeeded']").last
    bubble.wait_for(timeout=30_000)
    assert re.sub(r"\s+", " ", STREAMED_ANSWER) in re.sub(r"\s+", " ", bubble.inner_text())
