"""The starter loader: `$file` references stay inside the starter, errors name starter and file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from runtime.starters.loader import StarterInvalid, load_starter, load_starters, read_flow_file

FLOW: dict[str, Any] = {
    "schema": "dirigent.flow/v1",
    "name": "Begrüßung",
    "inputs": {"name": {"type": "string", "required": True}},
    "nodes": [
        {"id": "start", "type": "input"},
        {"id": "greet", "type": "template", "config": {"template": {"$file": "prompts/gruss.j2"}}},
        {"id": "end", "type": "output"},
    ],
    "edges": [{"from": "start", "to": "greet"}, {"from": "greet", "to": "end"}],
    "outputs": {"text": "{{ greet.text }}"},
}
CASE = {
    "name": "grüßt",
    "inputs": {"name": "Frau Müller"},
    "expect": [{"check": "equals", "output": "text", "value": "Guten Tag, Frau Müller!"}],
}


def make(root: Path, slug: str = "begruessung", flow: Any = None, **files: str) -> Path:
    """A starter directory: starter.json, flow.json, prompts/gruss.j2 and any `files`."""
    directory = root / slug
    (directory / "prompts").mkdir(parents=True)
    (directory / "starter.json").write_text(
        json.dumps({"slug": slug, "name": "Begrüßung", "description": "Grüßt", "language": "de"})
    )
    (directory / "flow.json").write_text(json.dumps(FLOW if flow is None else flow))
    (directory / "prompts" / "gruss.j2").write_text("Guten Tag, {{ inputs.name }}!\n")
    for name, text in files.items():
        (directory / name.replace("__", "/")).write_text(text)
    return directory


def with_file(reference: Any) -> dict[str, Any]:
    flow = json.loads(json.dumps(FLOW))
    flow["nodes"][1]["config"]["template"] = reference
    return flow


def test_a_starter_loads_with_its_prompts_tests_and_readme(tmp_path: Path) -> None:
    directory = make(tmp_path, **{"tests.json": json.dumps([CASE]), "README.md": "# Begrüßung\n"})
    starter = load_starter(directory)
    assert starter.document["nodes"][1]["config"]["template"] == "Guten Tag, {{ inputs.name }}!"
    assert starter.document["tests"] == [CASE]
    assert starter.readme == "# Begrüßung\n"
    assert starter.needs == {"connections": [], "indexes": []}
    assert starter.path == directory / "flow.json"
    assert [item.slug for item in load_starters(tmp_path)] == ["begruessung"]
    # A starter's flow.json read as a file (dirigent flow validate/run/import) is the same document.
    assert read_flow_file(directory / "flow.json") == starter.document


@pytest.mark.parametrize(
    ("reference", "file", "problem"),
    [
        ({"$file": "../geheim.txt"}, "../geheim.txt", "outside the starter's directory"),
        (
            {"$file": "prompts/../../geheim.txt"},
            "prompts/../../geheim.txt",
            "outside the starter's directory",
        ),
        ({"$file": "/etc/passwd"}, "/etc/passwd", "a relative path inside the starter"),
        ({"$file": "prompts/fehlt.j2"}, "prompts/fehlt.j2", "the file does not exist"),
        ({"$file": "prompts"}, "prompts", "the file does not exist"),
        ({"$file": "prompts/gruss.j2", "extra": 1}, "flow.json", "alone"),
        ({"$file": 7}, "flow.json", "alone"),
    ],
)
def test_file_references_outside_or_missing_are_refused(
    tmp_path: Path, reference: Any, file: str, problem: str
) -> None:
    (tmp_path / "geheim.txt").write_text("secret")
    directory = make(tmp_path, flow=with_file(reference))
    with pytest.raises(StarterInvalid) as error:
        load_starter(directory)
    assert error.value.message.startswith(f"starter flow 'begruessung', {file}: ")
    assert problem in error.value.message
    assert "secret" not in error.value.message


def test_a_symlink_out_of_the_starter_is_refused(tmp_path: Path) -> None:
    (tmp_path / "geheim.txt").write_text("secret")
    directory = make(tmp_path, flow=with_file({"$file": "prompts/link.j2"}))
    (directory / "prompts" / "link.j2").symlink_to(tmp_path / "geheim.txt")
    with pytest.raises(StarterInvalid, match="outside the starter's directory"):
        load_starter(directory)


@pytest.mark.parametrize(
    ("files", "file", "problem"),
    [
        (
            {"flow.json": "{nope"},
            "flow.json",
            "not valid JSON (Expecting property name enclosed in double quotes",
        ),
        ({"flow.json": "[1, 2]"}, "flow.json", "a flow document is a JSON object"),
        ({"tests.json": '[{"name": "x",]'}, "tests.json", "not valid JSON"),
        ({"tests.json": '{"name": "x"}'}, "tests.json", "a list of test cases"),
        (
            {"starter.json": '{"slug": "anders"}'},
            "starter.json",
            "slug 'anders' must be the directory's name",
        ),
        ({"starter.json": '{"needs": {"systems": []}}'}, "starter.json", "needs is"),
        (
            {"starter.json": '{"needs": {"indexes": "vertraege"}}'},
            "starter.json",
            "needs.indexes is a list",
        ),
        ({"prompts__gruss.j2": ""}, "starter.json", None),  # an empty prompt is allowed
    ],
)
def test_bad_files_name_the_starter_and_the_file(
    tmp_path: Path, files: dict[str, str], file: str, problem: str | None
) -> None:
    directory = make(tmp_path)
    for name, text in files.items():
        (directory / name.replace("__", "/")).write_text(text)
    if problem is None:
        assert load_starter(directory).document["nodes"][1]["config"]["template"] == ""
        return
    with pytest.raises(StarterInvalid) as error:
        load_starter(directory)
    assert error.value.message.startswith(f"starter flow 'begruessung', {file}: {problem}")
    assert (error.value.starter, error.value.file) == ("begruessung", file)


def test_a_prompt_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    directory = make(tmp_path)
    (directory / "prompts" / "gruss.j2").write_bytes("Grüße".encode("latin-1"))
    with pytest.raises(StarterInvalid, match=re.escape("prompts/gruss.j2: the file is not UTF-8 text")):
        load_starter(directory)


def test_a_missing_starter_json_is_an_error(tmp_path: Path) -> None:
    directory = make(tmp_path)
    (directory / "starter.json").unlink()
    with pytest.raises(
        StarterInvalid, match=re.escape("'begruessung', starter.json: the file does not exist")
    ):
        load_starters(tmp_path)


def test_a_flow_file_outside_a_starter_resolves_its_references_beside_it(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "gruss.j2").write_text("Hallo {{ inputs.name }}\n")
    (tmp_path / "mein-flow.json").write_text(json.dumps(FLOW))
    document = read_flow_file(tmp_path / "mein-flow.json")
    assert document["nodes"][1]["config"]["template"] == "Hallo {{ inputs.name }}"
    assert "tests" not in document
