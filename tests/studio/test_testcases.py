"""The studio's test cases, reports, gate and starter gallery without a browser."""

from __future__ import annotations

import ast
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import MappingProxyType

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.api import RuntimeClient

from nodes.registry import DEFAULT_REGISTRY
from runtime.testing.rules import case_rules
from studio import diffview, i18n, starters, testcases

STUDIO = Path(__file__).resolve().parents[2] / "studio" / "studio"
# The studio modules about test cases: none of them may keep its own copy of the runtime's rules.
CASE_MODULES = ("testcases.py", "state/testcases.py", "state/case_from_run.py")


@pytest.fixture(autouse=True)
def served_rules() -> None:
    """The rules as the runtime serves them (`GET /api/test-cases/rules` answers exactly these;
    tests/runtime/api/test_test_cases_api.py checks them against the engine)."""
    testcases.use_rules(case_rules(DEFAULT_REGISTRY).model_dump(mode="json"))


DOCUMENT = {
    "inputs": {"question": {"type": "string"}, "amount": {"type": "number"}},
    "nodes": [
        {"id": "start", "type": "input"},
        {"id": "answer", "type": "llm"},
        {"id": "check", "type": "approval"},
        {"id": "book", "type": "connector"},
        {"id": "end", "type": "output"},
    ],
    "outputs": {"text": "{{ answer.text }}"},
}
CASE = {
    "name": "Rechnung ok",
    "description": "",
    "inputs": {"question": "Bitte prüfen", "amount": 120.5},
    "fixed": {"answer": {"text": "Alles in Ordnung", "json": {"ok": True}}},
    "decisions": {"check": {"decision": "approve", "comment": "passt", "payload": {"betrag": 120.5}}},
    "expect": [
        {"check": "contains", "output": "text", "value": "Ordnung"},
        {"check": "equals", "node": "answer", "field": "json", "value": {"ok": True}},
        {"check": "json_schema", "output": "text", "value": {"type": "string"}},
        {"check": "branch", "node": "check", "value": "approved"},
        {"check": "approval_raised", "node": "check"},
        {"check": "no_connector_call"},
        {"check": "max_duration_ms", "value": 5000.0},
        {"check": "status", "value": "succeeded"},
    ],
}


@pytest.mark.parametrize(
    ("expect", "words"),
    [
        ({"check": "contains", "output": "text", "value": "Ordnung"}, "Ergebnis „text“ enthält „Ordnung“"),
        ({"check": "equals", "node": "answer", "field": "json", "value": 3}, "„answer.json“ ist genau „3“"),
        ({"check": "branch", "node": "route", "value": "hoch"}, "Baustein „route“ nimmt den Zweig „hoch“"),
        ({"check": "no_connector_call"}, "Keine Verbindung wird aufgerufen"),
        ({"check": "no_connector_call", "node": "book"}, "Baustein „book“ ruft keine Verbindung auf"),
        ({"check": "max_duration_ms", "value": 5000.0}, "Der Lauf dauert höchstens 5000 ms"),
        ({"check": "status", "value": "waiting"}, "Der Lauf endet mit Status „wartet auf Freigabe“"),
    ],
)
def test_checks_in_words(expect: dict[str, object], words: str) -> None:
    assert testcases.describe_check(expect, "de") == words


def test_values_behind_proxies_read_as_json() -> None:
    """The editor's state hands out proxies of the document; they must not show as Python repr."""
    case = {**CASE, "fixed": {"answer": MappingProxyType({"json": MappingProxyType({"ok": True})})}}
    assert testcases.case_view(case, 0, "de").fixed == ['answer.json = {"ok": true}']
    assert json.loads(testcases.form_from_case(case).fixed["answer"]) == {"json": {"ok": True}}


def test_a_case_survives_the_form_unchanged() -> None:
    document = {**DOCUMENT, "tests": [CASE]}
    form = testcases.form_from_case(CASE)
    assert form.fixed["answer"].startswith("{") and form.decisions == {"check": "approve"}
    rows = {row["check"]: row for row in form.checks}
    assert rows["equals"]["needs_field"] == "true" and rows["contains"]["needs_field"] == ""
    assert rows["approval_raised"]["needs_value"] == "" and rows["status"]["on"] == "run"
    form.inputs["amount"] = "120,5"  # as a person types it
    assert testcases.case_from_form(form, document, 0) == CASE


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda form: setattr(form, "name", " "), "case_name_required"),
        (lambda form: setattr(form, "name", "Andere"), "case_name_taken"),
        (lambda form: form.fixed.update(answer="{kaputt"), "case_bad_json"),
        (lambda form: form.fixed.update(answer="[1]"), "case_bad_json"),
        (lambda form: form.checks[1].update(field=""), "case_needs_field"),
        (lambda form: form.checks[3].update(target="output:text"), "case_needs_node"),
        (lambda form: form.checks[6].update(value="bald"), "case_bad_value"),
        (lambda form: form.checks.clear(), "case_needs_check"),
    ],
)
def test_form_mistakes_are_named(change: object, key: str) -> None:
    document = {**DOCUMENT, "tests": [CASE, {**CASE, "name": "Andere"}]}
    form = testcases.form_from_case(CASE)
    change(form)  # type: ignore[operator]
    with pytest.raises(testcases.CaseFormError) as refused:
        testcases.case_from_form(form, document, 0)
    assert refused.value.key == key
    assert not i18n.translate(key, "de", node="n", check="c", detail="d").startswith(key)


def test_cases_are_added_replaced_and_dropped() -> None:
    document = testcases.put_case(DOCUMENT, -1, CASE)
    document = testcases.put_case(document, -1, {**CASE, "name": "Zwei"})
    document = testcases.put_case(document, 0, {**CASE, "name": "Eins"})
    assert [case["name"] for case in document["tests"]] == ["Eins", "Zwei"]
    assert [case["name"] for case in testcases.drop_case(document, 0)["tests"]] == ["Zwei"]
    assert "tests" not in DOCUMENT  # edits return copies


def test_form_offers_what_a_case_can_pin_and_check() -> None:
    fixable = testcases.fixable_nodes(DOCUMENT, {"llm": ["text", "json", "usage"]})
    assert [item["id"] for item in fixable] == ["answer", "book"]
    assert json.loads(fixable[0]["example"]) == {"text": "", "json": ""}
    assert testcases.approval_nodes(DOCUMENT) == ["check"]
    assert [item["value"] for item in testcases.targets(DOCUMENT, "de")] == [
        "output:text",
        "node:answer",
        "node:check",
        "node:book",
    ]


def test_a_case_that_failed_on_the_template_budget_says_so_in_words() -> None:
    error = {
        "node": "greet",
        "kind": "TemplateBudgetExceeded",
        "code": "template_budget_exceeded",
        "limit": "lipsum_words",
        "limit_value": 10000,
        "message": "the template exceeds its budget: …",
    }
    report = {
        "id": "r2",
        "version": 1,
        "mode": "fixed",
        "passed": False,
        "total": 1,
        "failed": 1,
        "cases": [
            {
                "name": "grüßt",
                "passed": False,
                "status": "failed",
                "duration_ms": 3,
                "failures": [],
                "error": error,
                "steps": [],
            }
        ],
    }
    (case,) = testcases.report_view(report, "en").cases
    assert case.failures == [
        "The template needs more than its budget allows: words from lipsum() (at most 10000). "
        "Please simplify the template."
    ]


def test_report_and_gate_in_words() -> None:
    report = {
        "id": "r1",
        "version": 3,
        "mode": "fixed",
        "passed": False,
        "total": 2,
        "failed": 1,
        "created_at": "2026-01-05T10:11:12Z",
        "created_by": "champion",
        "duration_ms": 41.7,
        "cases": [
            {"name": "gut", "passed": True, "status": "succeeded", "duration_ms": 20, "steps": []},
            {
                "name": "schlecht",
                "passed": False,
                "status": "succeeded",
                "duration_ms": 21,
                "failures": [{"check": "contains", "message": "output 'text' does not contain 'x'"}],
                "error": None,
                "steps": [{"node": "answer", "type": "llm", "status": "succeeded", "fixed": True}],
            },
        ],
    }
    view = testcases.report_view(report, "de")
    assert view.summary == "1 von 2 Tests bestanden"
    assert view.meta == "Version 3 · fixiert · 2026-01-05 10:11 · champion · 42 ms"
    assert view.cases[1].failures == ["enthält: output 'text' does not contain 'x'"]
    assert view.cases[1].steps[0].fixed and view.cases[1].steps[0].status_label == "erfolgreich"
    assert testcases.report_view(None, "de").id == ""
    latest = {"passed": False, "total": 5, "failed": 2}
    assert testcases.gate_view({"gate": "failed", "latest_fixed": latest}, "de") == (
        "failed",
        "2 von 5 Tests fehlgeschlagen",
    )
    assert testcases.gate_view({"gate": "passed"}, "de")[1] == "Tests bestanden"
    assert testcases.gate_view(None, "de") == ("missing", "Tests fehlen")
    assert testcases.refusal_key({"cases": 0}) == ("refused_no_cases", {})
    assert testcases.refusal_key({"cases": 2, "latest_fixed": None}) == ("refused_not_run", {})
    assert testcases.refusal_key({"cases": 5, "latest_fixed": latest}) == (
        "refused_failed",
        {"failed": 2, "total": 5},
    )


def test_starter_cards_say_what_they_need() -> None:
    view = starters.starter_view(
        {
            "slug": "finance",
            "name": "FinanceGPT",
            "needs": {"connections": ["erp"], "indexes": ["rechnungen"]},
            "readme": "# FinanceGPT\n\nPrüft Rechnungen.\n## Ablauf\n",
            "document": {"tests": [{}, {}]},
        },
        "de",
    )
    assert view.needs == ["Verbindung: erp", "Wissensindex: rechnungen"] and view.cases == 2
    assert view.readme == "Prüft Rechnungen.\n## Ablauf"  # the name is shown above it
    assert starters.renamed({"name": "a", "nodes": []}, "b") == {"name": "b", "nodes": []}


async def test_client_runs_tests_and_submits_with_an_override_reason() -> None:
    seen: list[tuple[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content or b"null")))
        return httpx.Response(201, json={"id": "r1"})

    client = RuntimeClient("t", base_url="http://runtime.test", transport=httpx.MockTransport(handler))
    await client.run_tests("f1", 3, live=True)
    await client.lifecycle("f1", 3, "submit", override_reason="Notfall-Fix")
    await client.lifecycle("f1", 3, "submit")
    assert seen == [
        ("/api/flows/f1/versions/3/test", {"live": True}),
        ("/api/flows/f1/versions/3/submit", {"override_reason": "Notfall-Fix"}),
        ("/api/flows/f1/versions/3/submit", None),
    ]


def test_the_diff_names_test_cases_and_their_checks_in_words() -> None:
    changed = {**CASE, "expect": [{"check": "contains", "output": "text", "value": "Fehler"}]}
    diff = {
        "tests": {
            "added": ["Neu"],
            "removed": [],
            "changed": [{"name": CASE["name"], "old": CASE, "new": changed}],
        }
    }
    rows = diffview.diff_rows(diff, "de")
    assert [row["kind"] for row in rows] == ["section", "added", "changed"]
    assert rows[0]["label"] == "Testfälle" and rows[1]["label"] == "Neu"
    assert rows[2]["label"] == "Rechnung ok · Erwartet"
    assert rows[2]["new"] == "Ergebnis „text“ enthält „Fehler“"


# -- the runtime's rules, not a copy --------------------------------------------------------------
def copied_rules(source: str) -> list[str]:
    """Collections of literal strings in `source` that repeat the runtime's rules of test
    cases: two or more check names, or the node types whose fixing validation refuses."""
    engine = case_rules(DEFAULT_REGISTRY)
    checks = {rule.check for rule in engine.checks}
    refused = {item.type for item in engine.not_fixable if item.code is not None}  # input, approval
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            words = {
                item.value
                for item in node.elts
                if isinstance(item, ast.Constant) and isinstance(item.value, str)
            }
            if len(words & checks) >= 2 or refused <= words:
                found.append(f"line {node.lineno}: {sorted(words)}")
    return found


def test_the_studio_keeps_no_copy_of_the_runtimes_case_rules() -> None:
    copies = {name: copied_rules((STUDIO / name).read_text(encoding="utf-8")) for name in CASE_MODULES}
    assert copies == {name: [] for name in CASE_MODULES}
    # What the check finds: the copies the studio used to keep.
    assert copied_rules('CHECKS = ("equals", "contains")') and copied_rules(
        'NOT_FIXABLE = frozenset({"input", "output", "approval"})'
    )


def test_the_served_rules_give_the_form_what_it_offers() -> None:
    rules = testcases.rules()
    assert rules.checks == (
        "equals",
        "contains",
        "regex",
        "json_schema",
        "branch",
        "approval_raised",
        "no_connector_call",
        "max_duration_ms",
        "status",
        "tool_called",
        "tool_not_called",
        "steps_at_most",
    )
    assert rules.on_value == {"equals", "contains", "regex", "json_schema"}
    assert rules.on_node == {
        "branch",
        "approval_raised",
        "no_connector_call",
        "tool_called",
        "tool_not_called",
        "steps_at_most",
    }
    assert rules.with_arguments == {"tool_called"}
    assert rules.no_value == {"approval_raised", "no_connector_call"}
    assert rules.node_optional == {"no_connector_call"}
    assert rules.decisions == ("approve", "reject")
    assert rules.not_fixable == {"input", "output", "approval"}
    assert rules.from_run_checks == ("equals", "contains")


def test_the_rules_are_asked_once_and_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real HTTP server on 127.0.0.1 stands in for the runtime: the first use asks it, later
    uses do not; without an answer nothing is kept and no check is known."""
    served = json.dumps(case_rules(DEFAULT_REGISTRY).model_dump(mode="json")).encode()
    asked: list[str] = []

    class Runtime(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(served)))
            self.end_headers()
            self.wfile.write(served)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Runtime)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(testcases, "_rules", None)
        monkeypatch.setenv("DIRIGENT_RUNTIME_URL", f"http://127.0.0.1:{server.server_port}")
        assert (
            testcases.describe_check({"check": "no_connector_call"}, "de")
            == "Keine Verbindung wird aufgerufen"
        )
        assert testcases.rules().checks[0] == "equals"
        assert asked == ["/api/test-cases/rules"]
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.setattr(testcases, "_rules", None)  # and the runtime is gone
    assert testcases.rules().checks == ()
    assert testcases._rules is None


AGENT_DOCUMENT = {
    "inputs": {"question": {"type": "string"}},
    "nodes": [
        {"id": "start", "type": "input"},
        {"id": "helper", "type": "agent"},
        {"id": "end", "type": "output"},
    ],
    "outputs": {"text": "{{ helper.text }}"},
}
AGENT_CASE = {
    "name": "Notiz",
    "description": "",
    "inputs": {"question": "Aufgabe 7?"},
    "fixed": {},
    "decisions": {"helper": {"decision": "approve", "comment": ""}},
    "expect": [
        {"check": "tool_called", "node": "helper", "value": "note_task", "arguments": {"id": 7}},
        {"check": "tool_not_called", "node": "helper", "value": "delete_task"},
        {"check": "steps_at_most", "node": "helper", "value": 3},
    ],
    "agents": {"helper": {"turns": [{"text": "Fertig."}], "tools": {"note_task": {"ok": True}}}},
}


def test_an_agent_case_survives_the_form_with_its_script_and_arguments() -> None:
    """The form edits the agent checks (a tool's name, arguments as JSON, turns as a number),
    decisions for the agent's held calls, and the agent's script (turns and tool results) as JSON."""
    document = {**AGENT_DOCUMENT, "tests": [AGENT_CASE]}
    form = testcases.form_from_case(AGENT_CASE)
    rows = {row["check"]: row for row in form.checks}
    assert (
        rows["tool_called"]["takes_arguments"] == "true" and rows["tool_called"]["arguments"] == '{"id": 7}'
    )
    assert rows["tool_not_called"]["takes_arguments"] == "" and rows["steps_at_most"]["on"] == "node"
    assert testcases.approval_nodes(document) == testcases.agent_nodes(document) == ["helper"]
    assert json.loads(form.agents["helper"]) == AGENT_CASE["agents"]["helper"]
    assert testcases.case_from_form(form, document, 0) == AGENT_CASE
    # The script is edited as JSON: a mistake is named, an empty one leaves the agent unscripted.
    form.agents["helper"] = '{"turns": ['
    with pytest.raises(testcases.CaseFormError) as refused:
        testcases.case_from_form(form, document, 0)
    assert refused.value.key == "case_bad_json"
    form.agents["helper"] = ""
    assert "agents" not in testcases.case_from_form(form, document, 0)
    form.agents["helper"] = json.dumps(AGENT_CASE["agents"]["helper"])
    rows["steps_at_most"]["value"] = "4"
    rows["tool_called"]["arguments"] = ""
    changed = testcases.case_from_form(form, document, 0)
    assert changed["expect"][0] == {"check": "tool_called", "node": "helper", "value": "note_task"}
    assert changed["expect"][2]["value"] == 4


@pytest.mark.parametrize(
    ("expect", "lang", "words"),
    [
        ({"check": "tool_called", "node": "helper", "value": "note_task"}, "de",
         "Baustein „helper“ ruft das Werkzeug „note_task“ auf"),
        ({"check": "tool_called", "node": "helper", "value": "note_task", "arguments": {"id": 7}}, "en",
         'Block “helper” calls the tool “note_task” with {"id": 7}'),
        ({"check": "tool_not_called", "node": "helper", "value": "x"}, "de",
         "Baustein „helper“ ruft das Werkzeug „x“ nicht auf"),
        ({"check": "steps_at_most", "node": "helper", "value": 3}, "de",
         "Baustein „helper“ braucht höchstens „3“ Modell-Runden"),
    ],
)  # fmt: skip
def test_agent_checks_in_words(expect: dict[str, object], lang: str, words: str) -> None:
    assert testcases.describe_check(expect, lang) == words
