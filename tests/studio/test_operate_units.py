"""The pure parts of the knowledge, connections, monitoring and audit pages and of chat
feedback: the runtime calls they make, and how they turn answers into what people read."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.api import RuntimeClient

from studio import audit_view, connection_forms, i18n, knowledge_view, monitoring_view


def _client(handler: object) -> RuntimeClient:
    return RuntimeClient("token-1", base_url="http://runtime.test", transport=httpx.MockTransport(handler))


# -- runtime calls -------------------------------------------------------------------------------
async def test_upload_is_multipart_with_labels_and_answers_the_job() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/knowledge/ix1/documents"
        assert request.url.params["labels"] == "intern,vertrieb"
        assert request.headers["content-type"].startswith("multipart/form-data")
        body = request.read()
        assert b'name="files"; filename="a.txt"' in body and b"Hallo" in body
        return httpx.Response(202, json={"id": "job1", "status": "queued"})

    job = await _client(handler).upload_documents("ix1", [("a.txt", b"Hallo")], ["intern", "vertrieb"])
    assert job["id"] == "job1"


async def test_feedback_sends_a_correction_only_with_thumbs_down() -> None:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(201, json={"rating": bodies[-1]["rating"]})

    client = _client(handler)
    await client.give_feedback("r1", "up", "ignored")
    await client.give_feedback("r1", "down", "  Richtig wäre: 30 Tage.  ")
    await client.give_feedback("r1", "down", "   ")
    assert bodies == [
        {"rating": "up"},
        {"rating": "down", "correction": "Richtig wäre: 30 Tage."},
        {"rating": "down"},
    ]


async def test_audit_export_is_text_and_empty_filters_are_left_out() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert dict(request.url.params) == {"action": "run.started"}
        return httpx.Response(
            200, text='{"seq":1}\n{"seq":2}\n', headers={"content-type": "application/x-ndjson"}
        )

    text = await _client(handler).audit_export({"action": "run.started", "since": "", "until": None})
    assert text.count("\n") == 2


# -- connections ---------------------------------------------------------------------------------
def test_connection_form_round_trip_keeps_settings_and_never_holds_secrets() -> None:
    stored = {
        "base_url": "https://crm.firma.de/api",
        "auth": {"type": "basic", "username": "dirigent", "header": "X-API-Key"},
        "allowed_methods": ["GET", "POST"],
        "allowed_paths": ["/api/tasks"],
        "timeout_s": 10.0,
        "verify_tls": True,
        "test_path": "/health",
    }
    values = connection_forms.form_values("http", stored)
    assert values["allowed_methods"] == "GET, POST" and values["timeout_s"] == "10"
    form = {f"s:{path}": value for path, value in values.items()}
    settings, problems = connection_forms.settings_from_form("http", form)
    assert problems == {}
    assert settings["auth"] == {
        "type": "basic",
        "username": "dirigent",
    }  # the header field is for "header" auth
    assert settings["allowed_methods"] == ["GET", "POST"] and settings["verify_tls"] is True
    assert connection_forms.secrets_from_form("http", {"secret:password": "", "secret:token": "t0p"}) == {
        "token": "t0p"
    }
    _, problems = connection_forms.settings_from_form(
        "sql", {"s:url": "sqlite:///x.db", "s:max_rows": "viele"}
    )
    assert problems == {"max_rows": "conn_not_a_number"}


def test_the_test_target_form_sets_changes_keeps_and_removes() -> None:
    form = {
        "t:host": "sandbox.firma.de",
        "t:port": "2525",
        "t:security": "none",
        "t:sender": "test@firma.de",
        "t:allowed_domains": "firma.de",
        "tsecret:password": "sandbox-pw",
        "s:host": "mail.firma.de",
    }
    target, problems = connection_forms.test_target_from_form("email", form, enabled=True, stored=False)
    assert problems == {} and isinstance(target, dict)
    assert target["settings"]["host"] == "sandbox.firma.de" and target["settings"]["port"] == 2525
    assert target["secrets"] == {"password": "sandbox-pw"}
    # switched off: a stored one is removed (None), none stored means leave it out (False)
    assert connection_forms.test_target_from_form("email", form, enabled=False, stored=True) == (None, {})
    assert connection_forms.test_target_from_form("email", form, enabled=False, stored=False) == (False, {})
    _, problems = connection_forms.test_target_from_form(
        "sql", {"t:max_rows": "viele"}, enabled=True, stored=True
    )
    assert problems == {"t:max_rows": "conn_not_a_number"}
    # the runtime's errors about the test target land on its fields
    assert connection_forms.field_problems(
        [{"field": "test_target.settings.base_url", "message": "must start with http"}]
    ) == {"t:base_url": "must start with http"}


async def test_connection_calls_send_the_test_target_only_when_asked() -> None:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(
            json.loads(request.content) if request.content else {"target": request.url.params["target"]}
        )
        return httpx.Response(200, json={"id": "c1"})

    client = _client(handler)
    await client.update_connection("c1", "crm", {}, {})
    await client.update_connection("c1", "crm", {}, {}, None)
    await client.update_connection("c1", "crm", {}, {}, {"settings": {"timeout_s": 3}, "secrets": {}})
    await client.create_connection("sales", "crm", "http", {}, {})
    await client.test_connection("c1", "test")
    assert [body.get("test_target", "-") for body in bodies[:4]] == [
        "-",
        None,
        {"settings": {"timeout_s": 3}, "secrets": {}},
        "-",
    ]
    assert bodies[4] == {"target": "test"}


async def test_a_test_run_asks_for_live_reads_only_when_ticked() -> None:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(
            200, text='event: run\ndata: {"type": "end"}\n\n', headers={"content-type": "text/event-stream"}
        )

    client = _client(handler)
    for allow in (False, True):
        async for _ in client.test_run("f1", 1, {"q": "x"}, allow):
            pass
    assert [body.get("allow_live_reads") for body in bodies] == [None, True]
    assert all(body["inputs"] == {"q": "x"} for body in bodies)


def test_connection_test_results_read_as_sentences() -> None:
    ok = {"ok": True, "status": 200, "message": "127.0.0.1 answered HTTP 200", "duration_ms": 12.4}
    assert (
        connection_forms.test_result_text(ok, "de")
        == "Test bestanden: 127.0.0.1 antwortet mit HTTP 200 (12 ms)"
    )
    denied = {
        "ok": False,
        "message": "outbound connections to 10.0.0.5 are not allowed: the address is private; an admin ...",
    }
    assert connection_forms.test_result_text(denied, "de").startswith(
        "Test fehlgeschlagen: Die Adresse 10.0.0.5 ist gesperrt."
    )
    odd = {"ok": False, "message": "something new"}
    assert connection_forms.test_result_text(odd, "en") == "Test failed: something new"


# -- knowledge -----------------------------------------------------------------------------------
def test_an_upload_shows_progress_and_each_failed_file_in_words() -> None:
    job = {
        "status": "running",
        "files_total": 3,
        "files_done": 2,
        "files_failed": 1,
        "chunks_done": 14,
        "files": [
            {"name": "a.pdf", "status": "indexed", "chunks": 14},
            {"name": "b.exe", "status": "failed", "code": "unsupported_file_type", "error": "..."},
            {"name": "c.docx", "status": "running"},
        ],
    }
    assert knowledge_view.job_progress(job) == 67
    assert knowledge_view.job_summary(job, "de") == "2 von 3 Dateien verarbeitet, 14 Abschnitte"
    rows = knowledge_view.file_rows(job, "de")
    assert rows[1]["error"].startswith("Dieser Dateityp wird nicht unterstützt")
    assert rows[2]["status_text"] == "wird verarbeitet"
    documents = [knowledge_view.document_row({"id": "d1", "filename": "a.pdf", "chunks": 14}, "de")]
    shown = knowledge_view.documents_with_uploads(documents, rows, "de")
    assert [row["filename"] for row in shown] == ["c.docx", "a.pdf"]  # the file in work first
    assert knowledge_view.parse_labels(" Vertrieb; intern,, vertrieb ") == ["intern", "vertrieb"]


# -- monitoring ----------------------------------------------------------------------------------
def test_monitoring_scope_points_and_tiles() -> None:
    summary = {
        "runs": {"total": 4, "succeeded": 3, "failed": 1},
        "success_rate": 0.75,
        "latency_ms": {"p50": 1234.0, "p95": 2500.0},
        "tokens": 12345,
        "feedback": {"up": 1, "down": 1, "corrections": 1, "rate": 0.5},
        "approvals": {"raised": 0, "approval_rate": None, "median_wait_s": None},
        "automated_actions": {"connector_calls": 2, "failed": 0},
    }
    daily = [
        {"day": "2026-11-03", "runs": 4, "median_wait_s": 150.0, "connector_calls": 2, "connector_failed": 1}
    ]
    report = {
        "summary": {},
        "daily": [],
        "assistants": [
            {"flow_id": "f1", "name": "Urlaub", "live_version": 3, "summary": summary, "daily": daily}
        ],
        "roles": [{"role": "user", "summary": summary, "daily": daily}],
    }
    part = monitoring_view.scope_part(report, "flow:f1")
    point = monitoring_view.chart_points(part["daily"])[0]
    assert (point["label"], point["median_wait_min"], point["connector_ok"]) == ("03.11.", 2.5, 1)
    tiles = {tile["key"]: tile for tile in monitoring_view.tiles(part["summary"], "de")}
    assert tiles["tile_success"]["value"] == "75 %"
    assert tiles["tile_latency"]["value"] == "1,2 s"
    assert tiles["tile_tokens"]["value"] == "12\u202f345"
    assert tiles["tile_approvals"]["value"] == "\u2013"
    assert monitoring_view.assistant_rows(report, "de")[0]["extra"] == "v3"
    assert monitoring_view.role_rows(report, "de")[0]["name"] == "Nutzer"
    assert monitoring_view.scope_part(report, "role:nobody") == {"summary": {}, "daily": []}


# -- audit ---------------------------------------------------------------------------------------
def test_audit_filters_include_the_last_day_and_the_chain_reads_as_a_sentence() -> None:
    params = audit_view.query_params(
        {"action": "run.started", "who": " ", "since": "2026-11-01", "until": "2026-11-30"}
    )
    assert params == {"action": "run.started", "since": "2026-11-01", "until": "2026-12-01"}
    ok, text, _ = audit_view.verify_text({"ok": True, "entries": 42}, "de")
    assert ok and text == "Prüfkette intakt: alle 42 Einträge sind unverändert."
    ok, text, problem = audit_view.verify_text(
        {"ok": False, "entries": 6, "first_bad_seq": 7, "problem": "entry 7 was altered"}, "de"
    )
    assert not ok and "Eintrag #7" in text and problem == "entry 7 was altered"
    row = audit_view.entry_row({"seq": 3, "action": "version.approved", "detail": {"comment": "ok"}}, "de")
    assert row["action_text"] == "Version freigegeben" and row["detail"] == '{"comment": "ok"}'


def test_anchor_sentences_follow_the_verify_answer() -> None:
    anchored = {
        "ok": True,
        "entries": 9,
        "anchors": {
            "anchors": 2,
            "last_anchored_seq": 7,
            "last_anchored_at": "2026-12-07T18:00:00.000000Z",
            "unanchored_entries": 2,
            "problems": [],
        },
    }
    assert audit_view.anchor_text(anchored, "de") == (
        "Verankert bis Eintrag #7 (2026-12-07 18:00 UTC); 2 neuere Einträge sind noch nicht verankert."
    )
    assert audit_view.anchor_text({"ok": True, "anchors": {"anchors": 0}}, "en").startswith("No anchor yet")
    cut = {
        "ok": False,
        "entries": 5,
        "first_bad_seq": None,
        "problem": None,
        "anchors": {"anchors": 1, "problems": ["entry 7, anchored at …, is gone"]},
    }
    ok, headline, problem = audit_view.verify_text(cut, "de")
    assert not ok and headline == "Prüfkette verletzt." and problem == "entry 7, anchored at …, is gone"
    assert audit_view.anchor_text(cut, "de").startswith("1 Anker passen nicht zur Kette")


# -- signing out -----------------------------------------------------------------------------------
async def test_signing_out_ends_the_session_in_the_runtime() -> None:
    seen: list[tuple[str, str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.headers["authorization"]))
        return httpx.Response(200, json={"signed_out": True})

    await _client(handler).logout()
    assert seen == [("POST", "/api/auth/logout", "Bearer token-1")]


def test_a_file_over_an_ingestion_limit_is_explained_with_its_numbers() -> None:
    from runtime.knowledge.limits import LIMIT_SENTENCES

    # Every limit the runtime can name has its own sentence in both languages.
    for limit in LIMIT_SENTENCES:
        assert i18n.has_text(f"file_too_complex_{limit}"), limit

    def error(params: dict[str, object], lang: str) -> str:
        entry = {
            "name": "x",
            "status": "failed",
            "code": "file_too_complex",
            "error": "...",
            "params": params,
        }
        return knowledge_view.file_rows({"files": [entry]}, lang)[0]["error"]

    pages = {"limit": "pages", "maximum": 2000, "value": 3000}
    assert error(pages, "de").startswith("Das PDF hat 3.000 Seiten; erlaubt sind höchstens 2.000.")
    assert error(pages, "en").startswith("The PDF has 3,000 pages; at most 2,000 are allowed.")
    assert error(pages, "de").endswith("fragen Sie die Administration nach der Grenze.")
    bomb = {"limit": "decompressed_bytes", "maximum": 256 * 1024 * 1024, "value": 1024**3}
    assert "entpackt 1.024 MB groß; erlaubt sind höchstens 256 MB" in error(bomb, "de")
    assert "more than 512 levels" in error({"limit": "nesting_depth", "maximum": 512, "value": None}, "en")
    assert error({"limit": "unheard_of"}, "de").startswith("Die Datei ist zu komplex")
    crashed = {"name": "y", "status": "failed", "code": "extraction_failed", "error": "worker ended"}
    assert knowledge_view.file_rows({"files": [crashed]}, "de")[0]["error"].startswith(
        "Das Lesen der Datei brach"
    )
