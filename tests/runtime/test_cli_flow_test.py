"""`dirigent flow test FILE [--live]`: a document's test cases, run locally, as a readable report."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from runtime.cli import cli
from tests.support.messages_api_double import MessagesApiDouble
from tests.support.scenario import qa_flow

CRM_TASK = {
    "connection": "crm",
    "action": "create_task",
    "method": "POST",
    "path": "/tasks",
    "body": '{"title": {{ answer.text | json }}}',
}


def with_cases(document: dict[str, Any], *cases: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["tests"] = list(cases)
    return changed


def with_crm_task(document: dict[str, Any]) -> dict[str, Any]:
    """qa_flow with a connector after the answer: input → llm → connector → output."""
    changed = copy.deepcopy(document)
    changed["nodes"].insert(2, {"id": "task", "type": "connector", "config": CRM_TASK})
    changed["edges"] = [
        {"from": "start", "to": "answer"},
        {"from": "answer", "to": "task"},
        {"from": "task", "to": "end"},
    ]
    return changed


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    return {
        "DIRIGENT_DATA_DIR": str(tmp_path / "data"),
        "DIRIGENT_LLM_URL": None,
        "DIRIGENT_DATABASE_URL": None,
    }


def flow_test(env: dict[str, str | None], path: Path, document: Any, *options: str) -> Result:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return CliRunner().invoke(cli, ["flow", "test", str(path), *options], env=env, catch_exceptions=False)


def test_passing_cases_print_a_report_and_exit_0(env: dict[str, str | None], tmp_path: Path) -> None:
    result = flow_test(env, tmp_path / "fragen.json", qa_flow())
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Fragen: 1 test case, fixed outputs"
    assert lines[1].startswith("  ✔ beantwortet die Frage  (") and lines[1].endswith(" ms, succeeded)")
    assert lines[-1] == "1 passed, 0 failed"


def test_a_failing_case_says_why_and_exits_1(env: dict[str, str | None], tmp_path: Path) -> None:
    wrong = {
        "name": "falsch erwartet",
        "inputs": {"question": "?"},
        "fixed": {"answer": {"text": "Morgen."}},
        "expect": [{"check": "equals", "output": "answer", "value": "Heute."}],
    }
    result = flow_test(env, tmp_path / "f.json", with_cases(qa_flow(), qa_flow()["tests"][0], wrong))
    assert result.exit_code == 1, result.output
    assert "  ✘ falsch erwartet  (" in result.output
    assert '      equals: output \'answer\': expected "Heute.", got "Morgen."' in result.output
    assert result.output.splitlines()[-1] == "1 passed, 1 failed"


def test_an_unfixed_connector_or_llm_fails_naming_the_node(
    env: dict[str, str | None], tmp_path: Path
) -> None:
    case = {
        "name": "ohne Verbindung",
        "inputs": {"question": "?"},
        "fixed": {"answer": {"text": "A"}},
        "expect": [{"check": "status", "value": "succeeded"}],
    }
    result = flow_test(env, tmp_path / "f.json", with_cases(with_crm_task(qa_flow()), case))
    assert result.exit_code == 1
    assert (
        "connector node 'task' is not fixed in this case; test cases never call connections" in result.output
    )

    unfixed_llm = {
        "name": "ohne Modell",
        "inputs": {"question": "?"},
        "expect": [{"check": "status", "value": "succeeded"}],
    }
    result = flow_test(env, tmp_path / "g.json", with_cases(qa_flow(), unfixed_llm))
    assert result.exit_code == 1
    assert "llm node 'answer' is not fixed in this case" in result.output


def test_live_lets_unfixed_llm_nodes_ask_the_llm(
    env: dict[str, str | None], tmp_path: Path, messages_api: MessagesApiDouble
) -> None:
    messages_api.reply("Übermorgen.")
    case = {
        "name": "das Modell antwortet",
        "inputs": {"question": "Wann?"},
        "expect": [{"check": "equals", "output": "answer", "value": "Übermorgen."}],
    }
    result = flow_test(
        {**env, "DIRIGENT_LLM_URL": messages_api.url},
        tmp_path / "f.json",
        with_cases(qa_flow(), case),
        "--live",
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Fragen: 1 test case, live (unfixed llm nodes call the LLM)"
    assert len(messages_api.requests) == 1


def test_bad_cases_and_documents_without_cases_are_errors(env: dict[str, str | None], tmp_path: Path) -> None:
    bad = {
        "name": "x",
        "inputs": {"question": "?"},
        "fixed": {"answer": {"txt": "?"}},
        "expect": [{"check": "equals", "output": "answer", "value": 1}],
    }
    result = flow_test(env, tmp_path / "bad.json", with_cases(qa_flow(), bad))
    assert result.exit_code == 1
    assert "tests[0].fixed.answer.txt: 'answer' (llm) has no output 'txt'" in result.output

    result = flow_test(env, tmp_path / "none.json", with_cases(qa_flow()))
    assert result.exit_code == 1
    assert "none.json has no test cases" in result.output
