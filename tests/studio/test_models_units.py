"""The models page and the no-model error without a browser: the sentence a champion reads
(test panel and chat), the list rows, the form back to a request, the test button's answer,
and the runtime client's calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.api import RuntimeClient
from studio.chat_view import run_error_text
from studio.model_forms import endpoint_row, probe_result_text, request_from_form

from runtime.llm.client import FAILURE_REASONS
from studio import i18n

NO_MODEL = {
    "node": "answer",
    "type": "llm",
    "kind": "NoModelEndpoint",
    "field": "config.model",
    "code": "no_model_endpoint",
    "model": "default",
    "message": "there is no model endpoint named 'default' (known endpoints: none); "
    "set DIRIGENT_LLM_URL or register an endpoint",
}
GERMAN = (
    "Für diesen Flow ist kein Sprachmodell angebunden. Eine Administratorin oder ein Administrator "
    "kann unter „Modelle“ eines anbinden."
)
ENGLISH = "No language model is connected for this flow. An administrator can connect one under “Models”."


# -- the error a champion meets ------------------------------------------------------------------
def test_without_a_model_the_champion_reads_what_to_do_and_who_can() -> None:
    assert i18n.describe_step_error(NO_MODEL, "de") == GERMAN
    assert i18n.describe_step_error(NO_MODEL, "en") == ENGLISH
    assert "Modelle" in i18n.translate("nav_models", "de")  # the page the sentence names exists
    assert i18n.translate("nav_models", "en") == "Models"


def test_a_named_model_that_is_not_connected_is_named_too() -> None:
    error = {**NO_MODEL, "model": "gpu-gross"}
    assert i18n.describe_step_error(error, "de") == f"{GERMAN} Gewählt ist „gpu-gross“."
    assert i18n.describe_step_error(error, "en") == f"{ENGLISH} The flow asks for “gpu-gross”."


def test_the_test_panel_says_it_at_the_failed_step() -> None:
    """The editor's test panel: „Fehler in „answer“: …“ with the sentence, not the runtime's English."""
    words = i18n.translate(
        "step_failed_at", "de", node="answer", message=i18n.describe_step_error(NO_MODEL, "de")
    )
    assert words == f"Fehler in „answer“: {GERMAN}"


def test_the_chat_says_it_in_the_readers_language() -> None:
    run = {"status": "failed", "error": NO_MODEL}
    assert run_error_text(run, "de") == GERMAN
    assert run_error_text(run, "en") == ENGLISH
    # Errors without a code stay the runtime's words, as before.
    assert run_error_text({"error": {"message": "the node took longer than its timeout"}}, "de") == (
        "the node took longer than its timeout"
    )
    assert run_error_text({"status": "failed"}, "de") == ""


# -- the models page -----------------------------------------------------------------------------
def test_every_reason_the_runtime_gives_has_a_sentence_in_both_languages() -> None:
    for reason in FAILURE_REASONS:
        german, english = i18n.text_pair(f"model_error_{reason}")
        assert german and english and german != english, reason
        failed = probe_result_text({"ok": False, "error": reason, "latency_ms": 3.0}, "de")
        assert failed == f"Test fehlgeschlagen: {german}"


def test_the_test_button_answers_with_the_latency() -> None:
    assert probe_result_text({"ok": True, "latency_ms": 86.6, "error": None}, "de") == "Antwortet (87 ms)"
    assert probe_result_text({"ok": True, "latency_ms": 12.0}, "en") == "Answers (12 ms)"
    assert probe_result_text({"ok": False, "error": "unauthorized"}, "en") == (
        "Test failed: The server refuses the API key – check the key."  # noqa: RUF001
    )


def test_a_list_row_says_whether_a_key_is_stored_and_how_the_last_test_went() -> None:
    item = {
        "name": "gpu",
        "base_url": "http://vllm:8000/v1",
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "source": "admin",
        "has_api_key": True,
        "created_by": "admin",
        "created_at": "2026-03-02T09:15:02+00:00",
        "last_test": {
            "ok": False,
            "at": "2026-03-02T09:16:40.5+00:00",
            "latency_ms": 5.0,
            "error": "timeout",
        },
    }
    row = endpoint_row(item, "de")
    assert row["has_key"] == "true" and row["created_by"] == "angelegt von admin"
    assert row["last_test_state"] == "failed" and row["last_test_at"] == "2026-03-02 09:16"
    assert row["last_test"].startswith("Test fehlgeschlagen: Der Server hat nicht rechtzeitig")
    assert all(isinstance(value, str) for value in row.values())

    environment = endpoint_row(
        {
            "name": "default",
            "base_url": "http://tgi",
            "model": "tgi",
            "source": "environment",
            "has_api_key": False,
        },
        "en",
    )
    assert environment["source"] == "environment" and environment["has_key"] == "false"
    assert environment["last_test"] == "not tested yet" and environment["last_test_state"] == "none"


FORM = {"name": "gpu", "base_url": " http://vllm:8000/v1 ", "model": "meta-llama/x", "api_key": ""}


@pytest.mark.parametrize(
    ("form", "editing", "has_key", "choice", "body", "problems"),
    [
        # New, without and with a key.
        (
            FORM,
            False,
            False,
            "keep",
            {"name": "gpu", "base_url": "http://vllm:8000/v1", "model": "meta-llama/x"},
            {},
        ),
        (
            {**FORM, "api_key": "sk-1"},
            False,
            False,
            "keep",
            {"name": "gpu", "base_url": "http://vllm:8000/v1", "model": "meta-llama/x", "api_key": "sk-1"},
            {},
        ),
        # Editing with a stored key: kept (left out), replaced, removed (null).
        (
            {**FORM, "api_key": "typed"},
            True,
            True,
            "keep",
            {"base_url": "http://vllm:8000/v1", "model": "meta-llama/x"},
            {},
        ),
        (
            {**FORM, "api_key": "sk-2"},
            True,
            True,
            "replace",
            {"base_url": "http://vllm:8000/v1", "model": "meta-llama/x", "api_key": "sk-2"},
            {},
        ),
        (
            FORM,
            True,
            True,
            "replace",
            {"base_url": "http://vllm:8000/v1", "model": "meta-llama/x"},
            {"api_key": "model_key_missing"},
        ),
        (
            FORM,
            True,
            True,
            "remove",
            {"base_url": "http://vllm:8000/v1", "model": "meta-llama/x", "api_key": None},
            {},
        ),
        # Editing without a stored key: a typed one is set.
        (
            {**FORM, "api_key": "sk-3"},
            True,
            False,
            "keep",
            {"base_url": "http://vllm:8000/v1", "model": "meta-llama/x", "api_key": "sk-3"},
            {},
        ),
        # What is missing or malformed, by field.
        (
            {"name": "", "base_url": "", "model": ""},
            False,
            False,
            "keep",
            {"name": "", "base_url": "", "model": ""},
            {"name": "model_name_missing", "base_url": "model_url_missing", "model": "model_id_missing"},
        ),
        ({**FORM, "name": "mit leerzeichen"}, False, False, "keep", None, {"name": "model_name_invalid"}),
    ],
)
def test_the_form_becomes_the_request_the_runtime_expects(
    form: dict[str, Any],
    editing: bool,
    has_key: bool,
    choice: str,
    body: dict[str, Any] | None,
    problems: dict[str, str],
) -> None:
    built, found = request_from_form(form, editing=editing, has_key=has_key, key_choice=choice)
    assert found == problems
    if body is not None:
        assert built == body
    for key in problems.values():
        assert i18n.has_text(key)


async def test_the_client_calls_the_model_endpoint_routes() -> None:
    seen: list[tuple[str, str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.raw_path.decode(), body))
        return httpx.Response(200, json={"name": "gpu", "ok": True})

    client = RuntimeClient("t", base_url="http://runtime.test", transport=httpx.MockTransport(handler))
    await client.create_model_endpoint({"name": "gpu", "base_url": "http://x", "model": "m"})
    await client.update_model_endpoint("gpu/1", {"api_key": None})
    await client.test_model_endpoint("gpu")
    await client.delete_model_endpoint("gpu")
    assert seen == [
        ("POST", "/api/model-endpoints", {"name": "gpu", "base_url": "http://x", "model": "m"}),
        ("PATCH", "/api/model-endpoints/gpu%2F1", {"api_key": None}),
        ("POST", "/api/model-endpoints/gpu/test", None),
        ("DELETE", "/api/model-endpoints/gpu", None),
    ]
