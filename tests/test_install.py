"""Dirigent installs as pyproject.toml declares it (issue 12).

* Every third-party import under runtime/ and nodes/ is satisfied by what pyproject.toml
  declares: at module level by a core dependency; inside a function by a core dependency or
  inside `with needs_extra(<extra>, ...)` whose extra declares the module's distribution.
* A virtualenv with `pip install .` (no extras, as the README's plain install and a fresh
  deployment do) imports every module of runtime/ and nodes/, starts the app, and answers
  a request that needs the `knowledge` extra with `extra_missing` (marker `install`: it
  downloads from PyPI into pip's cache, about a minute the first time).
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.errors import ExtraMissing
from runtime.extras import needs_extra
from runtime.knowledge.extract import extract
from runtime.knowledge.limits import IngestLimits

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("runtime", "nodes")
OWN = {"runtime", "nodes", "studio", "starters", "tests", "bench"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return _canonical(match[1])


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_requirement_name(item) for item in project["dependencies"]}
    extras = {
        extra: {_requirement_name(item) for item in items}
        for extra, items in project.get("optional-dependencies", {}).items()
    }
    return core, extras


@dataclass(frozen=True)
class Import:
    path: str
    line: int
    module: str  # the top-level name, e.g. "pypdf"
    lazy: bool  # inside a function
    guard: str | None  # the extra of the enclosing `with needs_extra(...)`


def _guard_of(item: ast.withitem) -> str | None:
    call = item.context_expr
    if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "needs_extra" and call.args:
        first = call.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def _imports(path: Path) -> Iterator[Import]:
    relative = str(path.relative_to(ROOT))

    def walk(node: ast.AST, lazy: bool, guard: str | None) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [child.module]
            for name in names:
                top = name.split(".", 1)[0]
                if top not in OWN and top not in sys.stdlib_module_names:
                    yield Import(relative, getattr(child, "lineno", 0), top, lazy, guard)
            if isinstance(child, ast.If) and ast.unparse(child.test).endswith("TYPE_CHECKING"):
                continue  # for the type checker only
            inner_guard = guard
            if isinstance(child, ast.With):
                inner_guard = next((g for g in map(_guard_of, child.items) if g), guard)
            inner_lazy = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from walk(child, inner_lazy, inner_guard)

    yield from walk(ast.parse(path.read_text(), str(path)), False, None)


def _all_imports() -> list[Import]:
    return [
        item
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for item in _imports(path)
    ]


def test_every_import_of_runtime_and_nodes_is_declared_where_it_is_needed() -> None:
    core, extras = _declared()
    owners = importlib.metadata.packages_distributions()
    problems = []
    for item in _all_imports():
        where = f"{item.path}:{item.line} imports {item.module}"
        distributions = {_canonical(name) for name in owners.get(item.module, [])}
        if not distributions:
            problems.append(f"{where}, which no installed distribution provides")
        elif distributions & core:
            continue
        elif not item.lazy:
            problems.append(f"{where} at module level, but {sorted(distributions)} is not a core dependency")
        elif item.guard is None:
            problems.append(
                f"{where} outside `with needs_extra(...)`, and {sorted(distributions)} is not core"
            )
        elif not distributions & extras.get(item.guard, set()):
            problems.append(
                f"{where} under needs_extra({item.guard!r}), which does not declare {sorted(distributions)}"
            )
    assert not problems, "\n".join(problems)


def test_the_check_above_sees_what_it_must() -> None:
    """The walk finds the guarded and the module-level imports it is meant to judge."""
    found = {(item.path, item.module): item for item in _all_imports()}
    pdf = found["runtime/knowledge/extract.py", "pypdf"]
    assert pdf.lazy and pdf.guard == "knowledge"
    assert not found["runtime/connections/secrets.py", "cryptography"].lazy
    assert not found["runtime/engine/cases.py", "jsonschema"].lazy


def test_needs_extra_turns_a_missing_module_into_a_clear_error() -> None:
    with pytest.raises(ExtraMissing) as caught, needs_extra("knowledge", "the embedded index"):
        import dirigent_no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert caught.value.status_code == 503
    assert caught.value.as_json() == {
        "error": "extra_missing",
        "message": "the embedded index needs the 'knowledge' extra: pip install 'dirigent[knowledge]' "
        "(the Python module 'dirigent_no_such_module' is not installed)",
        "extra": "knowledge",
        "module": "dirigent_no_such_module",
    }


@pytest.mark.parametrize(("filename", "module"), [("a.pdf", "pypdf"), ("a.docx", "docx"), ("a.html", "bs4")])
def test_a_file_whose_parser_is_missing_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, filename: str, module: str
) -> None:
    # A None entry in sys.modules makes `import` fail exactly as for an absent package.
    for name in [name for name in sys.modules if name == module or name.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ExtraMissing) as caught:
        extract(filename, b"<p>Hallo</p>", limits=IngestLimits())
    assert caught.value.extra == {"extra": "knowledge", "module": module}
    # Text files need no extra.
    assert extract("a.txt", b"Hallo Welt", limits=IngestLimits()).sections


# -- a real virtualenv ----------------------------------------------------------------------
def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


@pytest.mark.install
def test_core_install_without_extras_starts_and_names_the_missing_extra(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # A clean environment: no PYTHONPATH, so that the installed package is what runs.
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    base = getattr(sys, "_base_executable", sys.executable)
    _run([base, "-m", "venv", str(venv)], env=env)
    python, dirigent = venv / "bin" / "python", venv / "bin" / "dirigent"
    # pip's cache spares the downloads after the first run; --no-compile spares compiling
    # ~70 packages' bytecode that this short-lived venv would mostly never load.
    pip_install = [str(python), "-m", "pip", "install", "--quiet", "--no-compile", str(ROOT)]
    _run(pip_install, env=env, cwd=tmp_path, timeout=900)
    installed = _run([str(python), "-m", "pip", "list", "--format=json"], env=env, cwd=tmp_path)
    names = {_canonical(entry["name"]) for entry in json.loads(installed.stdout)}
    assert not names & {"sentence-transformers", "faiss-cpu", "pypdf", "marqo", "reflex", "torch"}, names

    data = tmp_path / "data"
    env["DIRIGENT_DATA_DIR"] = str(data)
    password = "correct-horse-battery"
    user = [str(dirigent), "user", "add", "champion", "--password", password, "--role", "champion"]
    _run([*user, "--workspace", "ws"], env=env, cwd=tmp_path, timeout=300)
    probe = ROOT / "tests" / "support" / "install_probe.py"
    # As compose.yaml sets it; nothing listens there (port 9, discard): only the client matters.
    env["DIRIGENT_MARQO_URL"] = "http://127.0.0.1:9"
    result = _run([str(python), str(probe), str(data), password], env=env, cwd=tmp_path, timeout=300)
    found = json.loads(result.stdout.strip().splitlines()[-1])

    assert found["runtime_file"].startswith(str(venv)), "the probe imported the checkout, not the install"
    assert found["failed"] == {}
    assert "runtime.app" in found["imported"] and "nodes.registry" in found["imported"]
    assert len(found["imported"]) > 100
    assert "app_error" not in found, found.get("app_error")
    assert (found["health"], found["swagger_asset"], found["login"]) == (200, 200, 200)
    knowledge = found["knowledge"]
    assert knowledge["status"] == 503
    assert knowledge["body"]["error"] == "extra_missing"
    assert knowledge["body"]["extra"] == "knowledge"
    assert "pip install 'dirigent[knowledge]'" in knowledge["body"]["message"]
    marqo = found["knowledge_marqo"]
    assert (marqo["status"], marqo["body"]["error"], marqo["body"]["module"]) == (
        503,
        "extra_missing",
        "marqo",
    )
    assert found["template"] == "ADA"
    assert found["text_file"] == ["text/plain", 1]
    assert found["pdf_file"]["code"] == "extra_missing" and found["pdf_file"]["extra"] == "knowledge"
    assert found["extras_imported"] == []
