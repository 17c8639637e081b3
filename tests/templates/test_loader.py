"""The template loader: `$file` references stay inside the template, errors name template and file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from runtime.templates.loader import TemplateInvalid, load_template, load_templates, read_flow_file

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
    """A template directory: template.json, flow.json, prompts/gruss.j2 and any `files`."""
    directory = root / slug
    (directory / "prompts").mkdir(parents=True)
    (directory / "template.json").write_text(
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


def test_a_template_loads_with_its_prompts_tests_and_readme(tmp_path: Path) -> None:
    directory = make(tmp_path, **{"tests.json": json.dumps([CASE]), "README.md": "# Begrüßung\n"})
    template = load_template(directory)
    assert template.document["nodes"][1]["config"]["template"] == "Guten Tag, {{ inputs.name }}!"
    assert template.document["tests"] == [CASE]
    assert template.readme == "# Begrüßung\n"
    assert template.needs == {"connections": [], "indexes": []}
    assert template.path == directory / "flow.json"
    assert [item.slug for item in load_templates(tmp_path)] == ["begruessung"]
    # A template's flow.json read as a file (dirigent flow validate/run/import) is the same document.
    assert read_flow_file(directory / "flow.json") == template.document


@pytest.mark.parametrize(
    ("reference", "file", "problem"),
    [
        ({"$file": "../geheim.txt"}, "../geheim.txt", "outside the template's directory"),
        (
            {"$file": "prompts/../../geheim.txt"},
            "prompts/../../geheim.txt",
            "outside the template's directory",
        ),
        ({"$file": "/etc/passwd"}, "/etc/passwd", "a relative path inside the template"),
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
    with pytest.raises(TemplateInvalid) as error:
        load_template(directory)
    assert error.value.message.startswith(f"starter template 'begruessung', {file}: ")
    assert problem in error.value.message
    assert "secret" not in error.value.message


def test_a_symlink_out_of_the_template_is_refused(tmp_path: Path) -> None:
    (tmp_path / "geheim.txt").write_text("secret")
    directory = make(tmp_path, flow=with_file({"$file": "prompts/link.j2"}))
    (directory / "prompts" / "link.j2").symlink_to(tmp_path / "geheim.txt")
    with pytest.raises(TemplateInvalid, match="outside the template's directory"):
        load_template(directory)


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
            {"template.json": '{"slug": "anders"}'},
            "template.json",
            "slug 'anders' must be the directory's name",
        ),
        ({"template.json": '{"needs": {"systems": []}}'}, "template.json", "needs is"),
        (
            {"template.json": '{"needs": {"indexes": "vertraege"}}'},
            "template.json",
            "needs.indexes is a list",
        ),
        ({"prompts__gruss.j2": ""}, "template.json", None),  # an empty prompt is allowed
    ],
)
def test_bad_files_name_the_template_and_the_file(
    tmp_path: Path, files: dict[str, str], file: str, problem: str | None
) -> None:
    directory = make(tmp_path)
    for name, text in files.items():
        (directory / name.replace("__", "/")).write_text(text)
    if problem is None:
        assert load_template(directory).document["nodes"][1]["config"]["template"] == ""
        return
    with pytest.raises(TemplateInvalid) as error:
        load_template(directory)
    assert error.value.message.startswith(f"starter template 'begruessung', {file}: {problem}")
    assert (error.value.template, error.value.file) == ("begruessung", file)


def test_a_prompt_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    directory = make(tmp_path)
    (directory / "prompts" / "gruss.j2").write_bytes("Grüße".encode("latin-1"))
    with pytest.raises(TemplateInvalid, match=re.escape("prompts/gruss.j2: the file is not UTF-8 text")):
        load_template(directory)


def test_a_missing_template_json_is_an_error(tmp_path: Path) -> None:
    directory = make(tmp_path)
    (directory / "template.json").unlink()
    with pytest.raises(
        TemplateInvalid, match=re.escape("'begruessung', template.json: the file does not exist")
    ):
        load_templates(tmp_path)


def test_a_flow_file_outside_a_template_resolves_its_references_beside_it(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "gruss.j2").write_text("Hallo {{ inputs.name }}\n")
    (tmp_path / "mein-flow.json").write_text(json.dumps(FLOW))
    document = read_flow_file(tmp_path / "mein-flow.json")
    assert document["nodes"][1]["config"]["template"] == "Hallo {{ inputs.name }}"
    assert "tests" not in document
