"""One language: every page of the studio, in German and then in English, shows no word of
the other language (end to end in Chromium; conftest.py: the stack).

The crawler signs in as each kind of person, visits every page that person has (with
something on it that goes wrong: a working copy with problems, a failed test case, a
chat whose model fails, a file the knowledge index refused, a connection that does not
answer), reads the visible text and looks for the fragments of `language_fragments`.
What people entered (flow names, documents, prompts, answers) carries
`data-user-content` and is not read.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.studio.conftest import STREAMED_ANSWER, Stack
from tests.studio.language_fragments import foreign
from tests.studio.steps import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_numbers = itertools.count(1)
FAILING = "MODELLFEHLER"
SOURCES = "QUELLEN"

# The visible text of the page: text nodes of rendered elements, placeholders and the
# titles people see on hover; not what is marked as user content.
VISIBLE_TEXT = """() => {
  const skip = (el) => !el || el.closest('[data-user-content], script, style, noscript, template');
  const shown = (el) => {
    if (!el.getClientRects().length) return false;
    const style = getComputedStyle(el);
    return style.visibility !== 'hidden' && style.display !== 'none';
  };
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    const text = walker.currentNode.textContent.trim();
    if (text && !skip(el) && shown(el)) texts.push(text);
  }
  for (const el of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
    if (skip(el) || !shown(el)) continue;
    // A title nobody can hover: Reflex's connection overlay is a 0-px-high strip.
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    for (const name of ['placeholder', 'title', 'aria-label']) {
      const value = (el.getAttribute(name) || '').trim();
      if (value) texts.push(value);
    }
  }
  return texts;
}"""


# -- the world the pages show -------------------------------------------------------------------
def _document(name: str, marker: str, tests: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schema": "dirigent.flow/v1",
        "name": name,
        "inputs": {"question": {"type": "string", "required": True, "title": "Frage"}},
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "llm", "type": "llm", "config": {"prompt": f"{marker}: {{{{ inputs.question }}}}"}},
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "llm"}, {"from": "llm", "to": "end"}],
        "outputs": {"answer": "{{ llm.text }}"},
        "card": {"purpose": "Sprachprüfung", "risk": "minimal", "owner": "QA"},
        "tests": tests,
    }


PASSES = {
    "name": "antwortet",
    "inputs": {"question": "?"},
    "fixed": {"llm": {"text": "Ja."}},
    "expect": [{"check": "status", "value": "succeeded"}],
}
FAILS = {
    "name": "sagt ja",
    "inputs": {"question": "?"},
    "fixed": {"llm": {"text": "Nein."}},
    "expect": [
        {"check": "equals", "output": "answer", "value": "Ja."},
        {"check": "contains", "node": "llm", "field": "text", "value": "Ja"},
    ],
}


def _sources_document() -> dict[str, Any]:
    document = _document("Richtlinien-Fragen", SOURCES, [])
    document["nodes"].insert(
        1,
        {
            "id": "find",
            "type": "retrieval",
            "config": {"index": "hr-richtlinien", "query": "{{ inputs.question }}", "k": 3},
        },
    )
    document["nodes"][2]["config"]["prompt"] = f"{SOURCES} {{{{ find.context }}}} {{{{ inputs.question }}}}"
    document["edges"] = [
        {"from": "start", "to": "find"},
        {"from": "find", "to": "llm"},
        {"from": "llm", "to": "end"},
    ]
    document["tests"] = [
        {**PASSES, "fixed": {"find": {"documents": [], "context": ""}, "llm": {"text": "Ja."}}}
    ]
    return document


def _broken(document: dict[str, Any]) -> dict[str, Any]:
    """A working copy with one problem of each kind the editor shows."""
    broken = copy.deepcopy(document)
    broken["nodes"][1]["config"] = {"temperature": "heiß"}  # prompt missing, a number that is not one
    broken["nodes"].append({"id": "lonely", "type": "template", "config": {"template": "{{ nowhere.text }}"}})
    broken["outputs"]["extra"] = "{{ inputs.unknown }}"
    broken["tests"].append(
        {"name": "kaputt", "expect": [{"check": "equals", "output": "missing", "value": 1}]}
    )
    # No unknown key at the top ("colour"): pydantic would refuse the document's shape
    # first, and the problems of the nodes, the graph and the cases would not be checked.
    return broken


@dataclass
class World:
    broken_id: str
    review_id: str
    sources_slug: str
    failing_slug: str
    failing_id: str


def _create(stack: Stack, document: dict[str, Any], slug: str) -> dict[str, Any]:
    return stack.api(  # type: ignore[no-any-return]
        "champion",
        "POST",
        "/api/workspaces/demo/flows",
        json={"name": document["name"], "slug": slug, "document": document},
    )


def _publish(stack: Stack, document: dict[str, Any], slug: str) -> dict[str, Any]:
    flow = _create(stack, document, slug)
    base = f"/api/flows/{flow['id']}/versions/1"
    assert stack.api("champion", "POST", f"{base}/test", json={"live": False})["passed"]
    stack.api("champion", "POST", f"{base}/submit")
    stack.api("board1", "POST", f"{base}/approve", json={"comment": "ok"})
    stack.api("champion", "POST", f"{base}/publish")
    return flow


@pytest.fixture(scope="module")
def world(stack: Stack) -> World:
    number = next(_numbers)
    # The editor: version 1 has a failing case; the working copy has problems of every kind.
    broken = _create(stack, _document("Sprachprüfung", "PRUEFUNG", [PASSES, FAILS]), f"sprache-{number}")
    stack.api("champion", "POST", f"/api/flows/{broken['id']}/versions/1/test", json={"live": False})
    document = stack.api("champion", "GET", f"/api/flows/{broken['id']}/versions/1")["document"]
    httpx.put(
        f"{stack.runtime_url}/api/flows/{broken['id']}/draft",
        json={"document": _broken(document)},
        headers={"authorization": f"Bearer {stack.token('champion')}", "if-match": "*"},
        timeout=30,
    ).raise_for_status()
    # The review: a version waiting for the board.
    review = _create(stack, _document("Zur Prüfung", "PRUEFUNG", [PASSES]), f"pruefung-{number}")
    base = f"/api/flows/{review['id']}/versions/1"
    stack.api("champion", "POST", f"{base}/test", json={"live": False})
    stack.api("champion", "POST", f"{base}/submit")
    # The chat: an answer with sources, and an assistant whose model fails.
    sources = _publish(stack, _sources_document(), f"richtlinien-{number}")
    failing = _publish(stack, _document("Störung", FAILING, [PASSES]), f"stoerung-{number}")
    # A task: a run of an approval flow the user started waits for a champion.
    demo = next(
        flow for flow in stack.api("champion", "GET", "/api/flows") if flow["slug"] == "approval-demo"
    )
    letter = stack.api("champion", "GET", f"/api/flows/{demo['id']}/versions/1")["document"]
    approval = _publish(stack, letter, f"freigabe-{number}")
    stack.api(
        "user",
        "POST",
        f"/api/assistants/{approval['slug']}/runs",
        json={"inputs": {"recipient": "Frau Schmidt", "topic": "Lieferung"}},
    )
    return World(broken["id"], review["id"], sources["slug"], failing["slug"], failing["id"])


@pytest.fixture
def failing_model(stack: Stack) -> Iterator[None]:
    """The LLM double fails for the failing assistant's prompt, answers the others."""
    from tests.support.messages_api_double import Reply

    usual = Reply(STREAMED_ANSWER)

    def respond(body: dict[str, Any]) -> Reply:
        prompt = " ".join(str(message.get("content")) for message in body.get("messages", []))
        if FAILING in prompt:
            return Reply(status=500, error="model server exploded")
        if SOURCES in prompt:
            return Reply("Ihren Laptop erhalten Sie am ersten Arbeitstag.")
        return usual

    stack.llm.respond_with(respond)
    yield
    stack.llm.reply(Reply(STREAMED_ANSWER, chunk_delay_s=0.08))


# -- what to visit --------------------------------------------------------------------------------
@dataclass
class Visit:
    name: str
    path: str
    ready: str  # a selector that is there once the page has loaded what it shows
    act: Callable[[Any], None] | None = None


def _ask(slug: str, status: str) -> Callable[[Any], None]:
    def act(page: Any) -> None:
        page.locator(f".assistant-item[data-slug='{slug}']").click()
        page.wait_for_selector("#chat-input:not([disabled])")
        page.fill("#chat-input", "Wann bekomme ich meinen Laptop?")
        page.click("#chat-send")
        page.locator(f".chat-assistant[data-status='{status}']").last.wait_for(timeout=60_000)

    return act


def _upload_refused(page: Any) -> None:
    """An empty file and one of a type the index does not take: the job names both."""
    page.locator(".index-item[data-name='hr-richtlinien']").click()
    page.wait_for_selector("#index-title:has-text('hr-richtlinien')")
    page.set_input_files(
        "#knowledge-upload input[type=file]",
        [
            {"name": "leer.txt", "mimeType": "text/plain", "buffer": b""},
            {"name": "programm.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"},
        ],
    )
    page.wait_for_selector("#picked-files >> text=programm.exe")
    page.click("#upload-start")
    page.wait_for_selector(
        "#job-panel[data-status='completed_with_errors'], #job-panel[data-status='failed']", timeout=180_000
    )


def _editor(page: Any) -> None:
    page.wait_for_selector("#validity")
    page.click("#tab-cases")
    page.click("#run-cases")
    page.wait_for_selector("#report-summary[data-report]", timeout=60_000)


def _editor_node(page: Any) -> None:
    """The llm node selected: its form names the missing prompt and the number that is not one."""
    page.wait_for_selector("#validity")
    page.locator(".react-flow__node[data-id='llm']").click()
    page.wait_for_selector(".field-error")


def _connection_test(page: Any) -> None:
    button = page.locator(".conn-test").first
    if button.count():
        button.click()
        page.wait_for_timeout(3000)


def _model_test(page: Any) -> None:
    button = page.locator(".model-test").first
    if button.count():
        button.click()
        page.wait_for_timeout(2000)


def _audit(page: Any) -> None:
    page.wait_for_selector("#chain-result", timeout=30_000)


def _trace(page: Any) -> None:
    row = page.locator(".run-row[data-status='failed']").first
    row.wait_for(timeout=30_000)
    row.click()
    page.wait_for_selector("#run-trace")


def _password_refused(page: Any) -> None:
    """A wrong current password: the refusal, by its code, at its field."""
    page.fill("#account-current-password", "nicht-das-passwort")
    page.fill("#account-new-password", "ein-neues-passwort-42")
    page.fill("#account-repeat-password", "ein-neues-passwort-43")
    page.click("#password-save")
    page.wait_for_selector("#repeat_password-error")
    page.fill("#account-repeat-password", "ein-neues-passwort-42")
    page.click("#password-save")
    page.wait_for_selector("#current_password-error")


def visits(who: str, world: World) -> list[Visit]:
    if who == "champion":
        return [
            Visit("flows", "/flows", ".flow-row"),
            Visit("editor", f"/flows/{world.broken_id}", "#validity", _editor),
            Visit("editor-node", f"/flows/{world.broken_id}", "#validity", _editor_node),
            Visit("versions", f"/flows/{world.broken_id}/versions", "#diff-from"),
            Visit("runs", f"/flows/{world.failing_id}/runs", "#runs-table", _trace),
            Visit("knowledge", "/knowledge", "#new-index", _upload_refused),
            Visit("monitoring", "/monitoring", "#scope-select"),
            Visit("tasks", "/tasks", ".task-card"),
            Visit("inbox", "/inbox", "#inbox-list, .empty-state"),
        ]
    if who == "board1":
        return [
            Visit("review", f"/review?version={world.review_id}:1", "#approve-version"),
            Visit("audit", "/audit", "#audit-table", _audit),
            Visit("inbox", "/inbox", "#inbox-list, .empty-state"),
        ]
    if who == "user":
        return [
            Visit("chat-sources", "/assistants", ".assistant-item", _ask(world.sources_slug, "succeeded")),
            Visit("chat-error", "/assistants", ".assistant-item", _ask(world.failing_slug, "failed")),
            Visit("tasks", "/tasks", ".empty-state"),
            Visit("inbox", "/inbox", "#inbox-list, .empty-state"),
            Visit("account", "/account", "#password-form", _password_refused),
        ]
    if who == "admin":
        return [
            Visit("connections", "/connections", "#new-connection", _connection_test),
            Visit("models", "/models", "#new-model", _model_test),
            Visit("audit", "/audit", "#audit-table", _audit),
        ]
    raise AssertionError(who)


def choose_language(page: Any, lang: str) -> None:
    """Switch the language and wait until the studio has stored the choice (its cookie)."""
    page.click(f"#lang-{lang}")
    stored = "document.cookie.includes('dirigent_lang=en')"
    page.wait_for_function(stored if lang == "en" else f"!{stored}")


def _read(page: Any) -> list[str]:
    page.wait_for_timeout(800)  # let toasts, streamed text and transitions settle
    return list(page.evaluate(VISIBLE_TEXT))


def crawl(page: Any, stack: Stack, who: str, world: World) -> list[str]:
    """Visit every page of `who` in German, then switch to English on the page: what
    the page says must follow the switch (texts built once, in one language, would not).
    The fragments of the other language found, as lines."""
    findings = []
    for visit in visits(who, world):
        choose_language(page, "de")
        page.goto(f"{stack.studio_url}{visit.path}")
        page.wait_for_selector(visit.ready, timeout=30_000)
        if visit.act:
            visit.act(page)
        for lang in ("de", "en"):
            choose_language(page, lang)
            for fragment, text in foreign(_read(page), lang):
                findings.append(f"{lang} {who} {visit.name}: {fragment!r} in {text!r}")
            shot(page, f"language-{lang}-{who}-{visit.name}")
    return findings


# The user first: their chats are the runs the champion's runs viewer shows.
@pytest.mark.parametrize("who", ["user", "champion", "board1", "admin"])
def test_every_page_speaks_one_language(
    stack: Stack, new_page: Any, world: World, failing_model: None, who: str
) -> None:
    page = new_page()
    sign_in(page, stack, who)
    findings = crawl(page, stack, who, world)
    assert not findings, "\n".join(findings)


def test_the_sign_in_page_speaks_one_language(stack: Stack, new_page: Any) -> None:
    page = new_page()
    findings = []
    for lang in ("de", "en"):
        page.goto(f"{stack.studio_url}/login")
        choose_language(page, lang)
        page.fill("#login-username", "champion")
        page.fill("#login-password", "falsch")
        page.click("#login-submit")
        page.wait_for_selector("#login-error")
        findings += [
            f"{lang} login: {fragment!r} in {text!r}" for fragment, text in foreign(_read(page), lang)
        ]
    assert not findings, "\n".join(findings)
