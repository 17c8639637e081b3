"""The runs viewer's pure parts: the runtime calls it makes, and how runs and traces become
what people read (by type, in their language, never JSON)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.api import ApiError, RuntimeClient

from studio import runs_view


def _client(handler: object) -> RuntimeClient:
    return RuntimeClient("token-1", base_url="http://runtime.test", transport=httpx.MockTransport(handler))


# -- runtime calls -------------------------------------------------------------------------------
async def test_the_list_sends_only_the_filters_that_are_set_and_the_cursor() -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.raw_path.split(b"?")[0] == b"/api/flows/f%2F1/runs"
        seen.append(dict(request.url.params))
        return httpx.Response(200, json={"runs": [], "next_before": None})

    client = _client(handler)
    await client.flow_runs("f/1", {"status": "failed", "since": "", "has_correction": "true"}, 25)
    await client.flow_runs("f/1", {}, 25, before="r9")
    assert seen == [
        {"status": "failed", "has_correction": "true", "limit": "25"},
        {"limit": "25", "before": "r9"},
    ]


async def test_a_case_is_added_with_the_working_copys_etag_and_a_conflict_is_an_api_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/runs/r1/test-case"
        if request.headers["if-match"] == '"3"':
            return httpx.Response(201, json={"name": "Korrektur", "etag": '"4"'})
        body = {"error": "draft_changed", "message": "the working copy was changed", "revision": 5}
        return httpx.Response(412, json=body)

    client = _client(handler)
    created = await client.add_test_case("r1", {"check": "contains", "expected": "morgen"}, '"3"')
    assert created["etag"] == '"4"'
    try:
        await client.add_test_case("r1", {}, '"3x"')
    except ApiError as exc:
        assert (exc.status, exc.code) == (412, "draft_changed")
    else:
        raise AssertionError("a stale ETag must be refused")


# -- what people read ----------------------------------------------------------------------------
def test_a_row_is_text_in_the_persons_language() -> None:
    run: dict[str, Any] = {
        "id": "0123456789abcdef",
        "started_by": None,
        "created_at": "2026-12-07T14:03:09.123456Z",
        "version": 3,
        "status": "failed",
        "duration_ms": 1234.5,
        "total_tokens": 12345,
        "feedback": "down",
        "has_correction": True,
        "is_test": False,
    }
    german = runs_view.run_row(run, "de")
    assert german["when"] == "07.12.2026 14:03" and german["person"] == "ohne Person"
    assert (german["duration"], german["tokens"], german["status_label"]) == (
        "1,2 s",
        "12.345",
        "fehlgeschlagen",
    )
    assert (german["short"], german["version"], german["correction"], german["test"]) == (
        "01234567",
        "v3",
        "true",
        "",
    )
    english = runs_view.run_row({**run, "duration_ms": 125_000, "total_tokens": 0}, "en")
    assert english["when"] == "2026-12-07 14:03" and english["duration"] == "2 min 5 s"
    assert english["tokens"] == runs_view.EMPTY and english["status_label"] == "failed"


def test_the_trace_shows_values_by_type_and_errors_in_words() -> None:
    trace = {
        "id": "run-1",
        "flow_id": "f1",
        "status": "failed",
        "created_at": "2026-12-07T09:00:00Z",
        "version": 2,
        "started_by": "Ute Userin",
        "duration_ms": 80,
        "total_tokens": 19,
        "inputs": {"question": "Wann öffnet die Kantine?"},
        "outputs": {
            "answer": "Um 9 Uhr.",
            "sources": [{"doc": "a.pdf", "page": 1}, {"doc": "b.pdf", "page": 4}],
        },
        "error": {"node": "mail", "kind": "NodeTimeout", "message": "the node took longer than its timeout"},
        "feedback": {"rating": "down", "correction": "Um 11:30 Uhr."},
        "can_make_test_case": True,
        "steps": [
            {
                "node_id": "answer",
                "node_type": "llm",
                "title": "Antwort formulieren",
                "status": "succeeded",
                "duration_ms": 50,
                "tokens": 19,
                "inputs": {"inputs.question": "Wann öffnet die Kantine?"},
                "outputs": {"text": "Um 9 Uhr.", "usage": {"total_tokens": 19}},
                "error": None,
                "truncated": True,
            },
            {
                "node_id": "mail",
                "node_type": "connector",
                "title": "mail",
                "status": "failed",
                "duration_ms": None,
                "tokens": 0,
                "inputs": {},
                "outputs": None,
                "error": {"code": "side_effect_uncertain", "message": "unclear"},
                "truncated": False,
            },
        ],
    }
    view = runs_view.trace_view(trace, "de")
    assert view.correction == "Um 11:30 Uhr." and view.rating == "down" and view.can_make_case
    assert view.answer.startswith("Um 9 Uhr.") and "| doc | page |" in view.answer  # records: a table
    assert view.inputs == "- **Question:** Wann öffnet die Kantine?"
    assert view.error == "Fehler in „mail“: Zeitüberschreitung: the node took longer than its timeout"
    answer, mail = view.steps
    assert answer.title == "Antwort formulieren" and answer.truncated and answer.tokens == "19"
    assert answer.inputs == "`inputs.question`\n\nWann öffnet die Kantine?"  # under its reference
    assert "- **Text:** Um 9 Uhr." in answer.outputs and "**Usage:**" in answer.outputs
    for text in (view.answer, view.inputs, answer.inputs, answer.outputs):
        assert "{" not in text and '"' not in text, text  # never JSON
    assert mail.inputs == mail.outputs == "" and mail.duration == runs_view.EMPTY
    assert mail.error and not mail.error.startswith("side effect uncertain")  # the code's own sentence
    english = runs_view.trace_view(trace, "en")
    assert english.error == "Error in “mail”: Timed out: the node took longer than its timeout"
    assert runs_view.error_words({"kind": "Unheard", "message": "odd"}, "en") == "Error: odd"


def test_the_filter_form_becomes_the_runtimes_query() -> None:
    form = {"status": "failed", "feedback": "correction", "since": "2026-12-01", "until": " ", "tests": "on"}
    assert runs_view.list_filters(form) == {
        "status": "failed",
        "has_correction": "true",
        "since": "2026-12-01",
        "include_tests": "true",
    }
    assert runs_view.list_filters({"status": "__all__", "feedback": "none"}) == {"has_feedback": "false"}
    assert json.dumps(runs_view.list_filters({})) == "{}"
