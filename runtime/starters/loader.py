"""Reading starter flows from `starters/<slug>/` (layout: `starters/README.md`).

    starter.json    slug, name, description, language, needs {connections, indexes}
    flow.json       the flow document; any value {"$file": "prompts/system.j2"} is replaced
                    by that file's text (one final newline dropped, as editors add one)
    tests.json      the test cases, appended to the document's `tests`
    README.md       the description the studio shows

A `$file` must name a file inside the starter's own directory: absolute paths, `..`
that leaves it and symlinks pointing out of it are refused, so a starter can never
pull in other files of the machine. Every error is a `StarterInvalid` that names the
starter and the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.errors import DirigentError

STARTERS_DIR = Path(__file__).resolve().parents[2] / "starters"
FILE_KEY = "$file"
MAX_FILE_BYTES = 256 * 1024
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class StarterInvalid(DirigentError):
    """A shipped starter cannot be loaded: a fault of the installation, not of the caller.

    Its code and its `template` parameter keep their first names: studios translate them.
    """

    code = "template_invalid"

    def __init__(self, starter: str, file: str, problem: str) -> None:
        super().__init__(f"starter flow '{starter}', {file}: {problem}", template=starter, file=file)
        self.starter = starter
        self.file = file


@dataclass(frozen=True)
class Starter:
    slug: str
    name: str
    description: str
    language: str
    document: dict[str, Any]
    directory: Path
    readme: str = ""
    needs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """The starter's `flow.json`."""
        return self.directory / "flow.json"


def _read_text(directory: Path, relative: str, starter: str) -> str:
    """The text of `relative` inside `directory`; refused when it would leave the directory."""
    if not relative or Path(relative).is_absolute() or "\\" in relative:
        raise StarterInvalid(starter, relative or "$file", "a $file is a relative path inside the starter")
    root = directory.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise StarterInvalid(starter, relative, "the file is outside the starter's directory")
    if not path.is_file():
        raise StarterInvalid(starter, relative, "the file does not exist")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise StarterInvalid(starter, relative, f"the file is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise StarterInvalid(starter, relative, "the file is not UTF-8 text") from None


def _read_json(directory: Path, name: str, starter: str) -> Any:
    try:
        return json.loads(_read_text(directory, name, starter))
    except json.JSONDecodeError as error:
        raise StarterInvalid(
            starter, name, f"not valid JSON ({error.msg}, line {error.lineno} column {error.colno})"
        ) from None


def resolve_files(value: Any, directory: Path, starter: str) -> Any:
    """`value` with every {"$file": path} replaced by the text of that file."""
    if isinstance(value, dict):
        if FILE_KEY in value:
            reference = value[FILE_KEY]
            if len(value) != 1 or not isinstance(reference, str):
                raise StarterInvalid(
                    starter, "flow.json", f'a file reference is {{"{FILE_KEY}": "prompts/name.j2"}} alone'
                )
            return _read_text(directory, reference, starter).removesuffix("\n")
        return {key: resolve_files(item, directory, starter) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_files(item, directory, starter) for item in value]
    return value


def uses_files(value: Any) -> bool:
    """Whether `value` holds a {"$file": ...} reference anywhere."""
    if isinstance(value, dict):
        return FILE_KEY in value or any(uses_files(item) for item in value.values())
    if isinstance(value, list):
        return any(uses_files(item) for item in value)
    return False


def _needs(raw: Any, starter: str) -> dict[str, list[str]]:
    raw = raw if raw is not None else {}
    if not isinstance(raw, dict) or set(raw) - {"connections", "indexes"}:
        raise StarterInvalid(starter, "starter.json", 'needs is {"connections": [...], "indexes": [...]}')
    needs = {}
    for key in ("connections", "indexes"):
        items = raw.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise StarterInvalid(starter, "starter.json", f"needs.{key} is a list of names")
        needs[key] = items
    return needs


def load_starter(directory: Path) -> Starter:
    """One starter directory, read and resolved; `StarterInvalid` names what is wrong."""
    starter = directory.name
    meta = _read_json(directory, "starter.json", starter)
    if not isinstance(meta, dict):
        raise StarterInvalid(starter, "starter.json", "not a JSON object")
    slug = meta.get("slug", starter)
    if slug != starter or not SLUG.match(slug):
        raise StarterInvalid(
            starter, "starter.json", f"slug '{slug}' must be the directory's name, lowercase-with-dashes"
        )
    document = _read_json(directory, "flow.json", starter)
    if not isinstance(document, dict):
        raise StarterInvalid(starter, "flow.json", "a flow document is a JSON object")
    document = resolve_files(document, directory, starter)
    if (directory / "tests.json").exists():
        tests = _read_json(directory, "tests.json", starter)
        if not isinstance(tests, list):
            raise StarterInvalid(starter, "tests.json", "a list of test cases")
        document["tests"] = [*document.get("tests", []), *tests]
    readme = _read_text(directory, "README.md", starter) if (directory / "README.md").exists() else ""
    return Starter(
        slug=slug,
        name=str(meta.get("name") or document.get("name") or slug),
        description=str(meta.get("description") or document.get("description") or ""),
        language=str(meta.get("language") or "de"),
        document=document,
        directory=directory,
        readme=readme,
        needs=_needs(meta.get("needs"), starter),
    )


def load_starters(directory: Path = STARTERS_DIR) -> list[Starter]:
    """Every starter under `directory` (a subdirectory with a `flow.json`), by slug."""
    return [load_starter(path.parent) for path in sorted(directory.glob("*/flow.json"))]


def read_flow_file(path: Path) -> Any:
    """A flow document from a file: a starter's `flow.json` as the loader makes it (prompts
    resolved, tests merged); any other file with its `$file` references resolved beside it."""
    directory = path.resolve().parent
    if path.name == "flow.json" and (directory / "starter.json").exists():
        return load_starter(directory).document
    return resolve_files(_read_json(directory, path.name, path.name), directory, path.name)
