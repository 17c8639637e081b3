"""`extra_missing` (runtime/extras.py) in the studio's words: which extra, and how to get it,
in German and English — for a refused request, a failed step and a refused upload."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio import i18n, knowledge_view

# The body the runtime answers (tests/test_install.py checks the runtime's side).
BODY = {
    "error": "extra_missing",
    "message": "the embedded index needs the 'knowledge' extra: pip install 'dirigent[knowledge]' "
    "(the Python module 'sentence_transformers' is not installed)",
    "extra": "knowledge",
    "module": "sentence_transformers",
}
GERMAN = (
    "Dafür fehlt der Runtime die Erweiterung „knowledge“. Die Administration installiert sie mit: "
    "pip install 'dirigent[knowledge]'"
)
ENGLISH = (
    "The runtime lacks the 'knowledge' extra for this. Administrators install it with: "
    "pip install 'dirigent[knowledge]'"
)


def test_a_refused_request_names_the_extra() -> None:
    assert i18n.describe_error("extra_missing", BODY["message"], 503, "de", BODY) == GERMAN
    assert i18n.describe_error("extra_missing", BODY["message"], 503, "en", BODY) == ENGLISH


def test_a_failed_step_names_the_extra() -> None:
    step_error = {"code": "extra_missing", "message": BODY["message"], "extra": "knowledge"}
    assert i18n.describe_step_error(step_error, "de") == GERMAN


def test_a_refused_file_names_the_extra() -> None:
    entry = {
        "code": "extra_missing",
        "error": "reading PDF files needs the 'knowledge' extra: pip install 'dirigent[knowledge]'",
        "params": {"extra": "knowledge", "module": "pypdf"},
    }
    assert knowledge_view.file_error(entry, "de") == GERMAN
    assert knowledge_view.file_error(entry, "en") == ENGLISH
