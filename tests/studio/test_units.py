"""The studio's pure parts without a browser: the runtime client, the document edits,
the forms from JSON schema, the translations and the starter flows."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.api import ApiError, RuntimeClient, SignedOut, Unreachable

from studio import flowdoc, i18n, starters

LLM_SCHEMA = {
    "properties": {
        "model": {"default": "default", "type": "string", "title": "Model"},
        "prompt": {"format": "template", "type": "string", "title": "Prompt"},
        "temperature": {"default": 0.2, "type": "number"},
        "max_tokens": {"default": 512, "type": "integer"},
        "json_schema": {"anyOf": [{"type": "object"}, {"type": "null"}], "default": None},
        "timeout_s": {"default": 120.0, "type": "number"},
    },
    "required": ["prompt"],
}
TYPES = {
    "input": {"outputs": []},
    "output": {"outputs": []},
    "llm": {"outputs": ["text", "json", "usage"]},
    "template": {"outputs": ["text"]},
}


# -- runtime client ------------------------------------------------------------------------------
def _client(handler: object) -> RuntimeClient:
    return RuntimeClient("token-1", base_url="http://runtime.test", transport=httpx.MockTransport(handler))


async def test_client_sends_the_token_and_returns_json() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers["authorization"]
        seen["params"] = dict(request.url.params)
        return httpx.Response(200, json=[{"id": "f1"}])

    assert await _client(handler).flows("demo") == [{"id": "f1"}]
    assert seen == {"auth": "Bearer token-1", "params": {"workspace": "demo"}}


async def test_client_maps_error_bodies() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/me"):
            return httpx.Response(401, json={"error": "unauthorized", "message": "sign in first"})
        return httpx.Response(
            422,
            json={
                "error": "invalid_flow",
                "message": "1 error",
                "errors": [{"node": "a", "field": "config.x", "message": "bad"}],
            },
        )

    with pytest.raises(SignedOut):
        await _client(handler).me()
    with pytest.raises(ApiError) as caught:
        await _client(handler).save_version("f1", {})
    assert caught.value.code == "invalid_flow"
    assert caught.value.errors == [{"node": "a", "field": "config.x", "message": "bad"}]


async def test_client_reports_an_unreachable_runtime() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(Unreachable) as caught:
        await _client(handler).me()
    assert "Laufzeit antwortet nicht" in i18n.describe_error(caught.value.code, caught.value.message, 0)


async def test_client_reads_server_sent_events() -> None:
    events = [
        {"type": "started", "run_id": "r1"},
        {"type": "token", "node": "a", "text": "Hal"},
        {"type": "run", "status": "succeeded"},
    ]
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    received = [event async for event in _client(handler).test_run("f1", 2, {"q": "x"})]
    assert received == events


# -- errors in words -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "message", "status", "expected"),
    [
        ("login_failed", "wrong", 401, "Benutzername oder Passwort stimmt nicht."),
        ("not_found", "flow not found", 404, "Das gibt es nicht (mehr), oder Sie dürfen es nicht sehen."),
        # A code the catalog does not know: a lead-in, the runtime's message and the code.
        ("something_new", "odd", 409, "Geht gerade nicht: Odd (something_new)"),
        ("run_not_stored", "the run could not be stored", 503, "Der Lauf konnte nicht gespeichert werden"),
    ],
)
def test_errors_become_sentences(code: str, message: str, status: int, expected: str) -> None:
    assert i18n.describe_error(code, message, status, "de").startswith(expected)


def test_a_code_is_said_with_its_parameters_in_the_chosen_language() -> None:
    four_eyes = {"number": 2, "action": "approve", "reason": "four_eyes_author"}
    message = "four eyes: you authored version 2 of this flow, so another board member must approve it"
    german = i18n.describe_error("forbidden", message, 403, "de", four_eyes)
    assert german.startswith("Vier-Augen-Prinzip: Sie haben Version 2 verfasst")
    english = i18n.describe_error("forbidden", message, 403, "en", four_eyes)
    assert english.startswith("Four eyes: you authored version 2")
    # A variant by reason, and a failed check that names what it checked.
    scope = {"role": "board", "reason": "global"}
    assert "keinen Arbeitsbereich" in i18n.describe_error("role_scope", "x", 400, "de", scope)
    check = {
        "code": "not_equal",
        "params": {"output": "answer", "node": "", "field": "", "expected": '"Ja."', "got": '"Nein."'},
    }
    assert i18n.describe_problem(check, "de") == 'Ausgabe „answer“: erwartet "Ja.", erhalten "Nein.".'
    assert i18n.describe_problem(check, "en") == 'Output \'answer\': expected "Ja.", got "Nein.".'
    status = {"code": "other_status", "params": {"status": "failed", "expected": "succeeded", "error": None}}
    assert i18n.describe_problem(status, "de") == "Der Lauf endete mit „fehlgeschlagen“ statt „erfolgreich“."
    # An unknown code: the runtime's English with the code, never a crash.
    assert (
        i18n.describe_problem({"code": "brand_new", "params": {}, "message": "odd"}, "de")
        == "odd (brand_new)"
    )
    answer = {
        "error": "bad_request",
        "errors": [{"field": "name", "code": "missing", "params": {"field": "name"}}],
    }
    assert i18n.describe_answer("bad_request", "x", 400, answer, "de") == (
        "Die Anfrage ist ungültig. name: Pflichtfeld: Bitte ausfüllen."
    )


def test_a_step_refused_by_the_template_budget_is_told_in_words_with_its_limit() -> None:
    error = {
        "node": "greet",
        "kind": "TemplateBudgetExceeded",
        "code": "template_budget_exceeded",
        "limit": "loop_iterations",
        "limit_value": 100000,
        "message": "the template exceeds its budget: its loops would run more than 100000 times",
    }
    german = i18n.describe_step_error(error, "de")
    english = i18n.describe_step_error(error, "en")
    assert german.startswith("Die Textvorlage braucht mehr, als ihr Budget erlaubt: Schleifendurchläufe")
    assert "höchstens 100000" in german
    assert english.startswith("The template needs more than its budget allows: loop iterations")
    assert "(at most 100000)" in english
    assert "0.5" in i18n.describe_step_error({**error, "limit": "cpu_seconds", "limit_value": 0.5}, "de")
    # Without a known code, the runtime's message stays as it is.
    assert i18n.describe_step_error({"message": "the node took longer"}, "de") == "the node took longer"


def test_every_template_limit_the_runtime_names_has_german_and_english() -> None:
    from nodes.rendering.budget import LIMIT_DESCRIPTIONS

    limits = {key.removeprefix("limit.") for key in i18n.CATALOGS["de"] if key.startswith("limit.")}
    assert limits == set(LIMIT_DESCRIPTIONS)
    for key in [f"limit.{limit}" for limit in limits] + ["error.template_budget_exceeded"]:
        german, english = i18n.text_pair(key)
        assert german.strip() and english.strip()


def test_every_label_has_german_and_english() -> None:
    for key in i18n.CATALOGS["de"]:
        german, english = i18n.text_pair(key)
        assert german.strip() or not english.strip(), key
        assert english.strip() or not german.strip(), key


# -- document edits --------------------------------------------------------------------------------
def test_edits_add_connect_move_and_remove() -> None:
    document = starters.blank_document("Test")
    document, node_id = flowdoc.add_node(document, "llm", 300.4, 99.6, LLM_SCHEMA)
    assert node_id == "llm_1"
    assert flowdoc.find_node(document, "llm_1")["config"] == {}  # required prompt left for the person
    assert document["layout"]["llm_1"] == {"x": 300, "y": 100}
    document = flowdoc.connect(document, "start", "llm_1")
    with pytest.raises(flowdoc.EditRefused) as refused:
        flowdoc.connect(document, "start", "llm_1")
    assert refused.value.key == "edge_exists"
    with pytest.raises(flowdoc.EditRefused):
        flowdoc.connect(document, "llm_1", "llm_1")
    document = flowdoc.move(document, [{"id": "llm_1", "x": 10, "y": 20}, {"id": "ghost", "x": 1, "y": 1}])
    assert document["layout"]["llm_1"] == {"x": 10, "y": 20} and "ghost" not in document["layout"]
    document = flowdoc.remove(document, nodes=["llm_1"])
    assert flowdoc.node_ids(document) == ["start", "end"]
    assert {(edge["from"], edge["to"]) for edge in document["edges"]} == {("start", "end")}
    assert "llm_1" not in document["layout"]


def test_canvas_shows_errors_and_run_status_on_nodes() -> None:
    document = starters.blank_document("Test")
    errors = flowdoc.errors_by_node(
        [
            {"node": "end", "field": "config.x", "message": "bad"},
            {"node": None, "field": "outputs.a", "message": "flow-level"},
        ]
    )
    steps = {
        "start": {"status": "succeeded", "duration_ms": 1.5},
        "end": {"status": "failed", "error": "boom"},
    }
    nodes = {
        node["id"]: node
        for node in flowdoc.canvas_nodes(
            document, TYPES, errors, steps, {"input": "Eingabe"}, {"failed": "fehlgeschlagen"}
        )
    }
    assert nodes["start"]["data"]["typeTitle"] == "Eingabe"
    assert nodes["start"]["data"]["hasInput"] is False
    assert nodes["end"]["data"]["errors"] == ["boom", "x: bad"]
    assert nodes["end"]["data"]["statusLabel"] == "fehlgeschlagen"
    assert nodes["end"]["position"] == {"x": 520.0, "y": 160.0}


def test_form_fields_from_json_schema() -> None:
    config = {"prompt": "Hallo {{ inputs.q }}", "json_schema": {"type": "object"}}
    fields = {
        field["name"]: field
        for field in flowdoc.form_fields(
            LLM_SCHEMA, config, {"prompt": "Field required"}, {"model": ["default", "mistral"]}
        )
    }
    assert "timeout_s" not in fields
    assert fields["model"]["kind"] == "select"
    assert fields["prompt"]["kind"] == "template" and fields["prompt"]["required"] == "true"
    assert fields["prompt"]["error"] == "Field required"
    assert fields["temperature"]["kind"] == "number" and fields["temperature"]["value"] == "0.2"
    assert fields["max_tokens"]["kind"] == "integer"
    assert fields["json_schema"]["kind"] == "json"
    assert json.loads(fields["json_schema"]["value"]) == {"type": "object"}


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        ("integer", "7", 7),
        ("number", "0,5", 0.5),
        ("boolean", "True", True),
        ("list", "a\nb, c", ["a", "b", "c"]),
        ("json", '{"a": 1}', {"a": 1}),
        ("template", "{{ x }}", "{{ x }}"),
        ("number", "", None),
    ],
)
def test_parse_value(kind: str, raw: str, value: object) -> None:
    assert flowdoc.parse_value(kind, raw) == value


def test_variables_are_inputs_and_upstream_outputs() -> None:
    document = starters.blank_document("Test")
    document, llm = flowdoc.add_node(document, "llm", 0, 0)
    document, tpl = flowdoc.add_node(document, "template", 0, 0)
    document = flowdoc.connect(flowdoc.connect(document, "start", llm), llm, tpl)
    assert flowdoc.upstream_variables(document, tpl, TYPES) == [
        "inputs.question",
        "llm_1.text",
        "llm_1.json",
        "llm_1.usage",
    ]
    assert flowdoc.upstream_variables(document, llm, TYPES) == ["inputs.question"]


def test_edge_branches() -> None:
    document = {
        "nodes": [
            {"id": "check", "type": "approval"},
            {"id": "route", "type": "router", "config": {"classes": ["a", "b"]}},
        ]
    }
    assert flowdoc.edge_branches(document, "check") == ["approved", "rejected", "timeout"]
    assert flowdoc.edge_branches(document, "route") == ["a", "b", "review"]


# -- starters ----------------------------------------------------------------------------------------
def test_short_names_spell_out_umlauts() -> None:
    assert starters.slugify("Größe & Übersicht") == "groesse-uebersicht"
