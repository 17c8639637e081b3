"""Write `studio/studio/api_types.py`: the runtime's answers as TypedDicts for the studio.

Every route of the runtime answers a Pydantic model, so its OpenAPI description names the
JSON shape of each success answer. The studio is a process of its own that must not import
`runtime`; it reads those shapes from this generated module instead, one `TypedDict` per
component schema that a success answer refers to (and, recursively, the schemas those refer
to). `tests/studio/test_api_types.py` fails when the committed file is not what this script
writes, so a changed response model reaches the studio's types in the same commit.

    PYTHONPATH=$PWD python scripts/studio_api_types.py          # write the file
    PYTHONPATH=$PWD python scripts/studio_api_types.py --check  # exit 1 if it is stale

How a JSON schema becomes a Python type: `$ref` names the generated type; `enum`/`const`
become `Literal[...]`; `oneOf`/`anyOf` a union (`X | None` when one member is null); an
array `list[...]`; an object without properties of its own `dict[str, <its values>]`
(`dict[str, Any]` when free-form); no type at all `Any`. A key not in `required` is
`NotRequired[...]`. Output is sorted by name and formatted by ruff, so that it is the same
on every machine.
"""

from __future__ import annotations

import argparse
import ast
import keyword
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "studio" / "studio" / "api_types.py"
COMMAND = "PYTHONPATH=$PWD python scripts/studio_api_types.py"
REF_PREFIX = "#/components/schemas/"
# Names the generated module imports from `typing`: a schema of the same name would shadow one.
TYPING_NAMES = ("Any", "Literal", "NotRequired", "TypeAlias", "TypedDict")
SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}
WRAP = 96

HEADER = f'''"""The runtime's answers as the studio reads them: one TypedDict per response model.

Generated from the runtime's OpenAPI description by `scripts/studio_api_types.py`; do not
edit by hand. After changing a response model of the runtime, regenerate it with

    {COMMAND}

`tests/studio/test_api_types.py` fails while this file is stale.
"""

from __future__ import annotations
'''


def runtime_openapi() -> dict[str, Any]:
    """The OpenAPI description of a runtime app built on a throwaway data directory (nothing
    is started: no database migration, no background work)."""
    from runtime.app import create_app
    from runtime.settings import Settings

    with tempfile.TemporaryDirectory(prefix="dirigent-openapi-") as data_dir:
        app = create_app(Settings(data_dir=Path(data_dir)), migrate=False, background=False)
        schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def _refs(schema: Any) -> Iterator[str]:
    """Names of the component schemas `schema` refers to, at any depth."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            yield ref.removeprefix(REF_PREFIX)
        for key, value in schema.items():
            if key not in ("examples", "example", "default"):
                yield from _refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _refs(item)


def success_schema_names(spec: dict[str, Any]) -> list[str]:
    """The component schemas a success answer (2xx) refers to, with those they refer to."""
    components = spec.get("components", {}).get("schemas", {})
    pending = [
        name
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for status, answer in operation.get("responses", {}).items()
        if str(status).startswith("2")
        for media in (answer.get("content") or {}).values()
        for name in _refs(media.get("schema", {}))
    ]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        if name not in components:
            raise ValueError(f"a success answer refers to {name!r}, which components/schemas lacks")
        seen.add(name)
        pending.extend(_refs(components[name]))
    return sorted(seen)


def _union(members: list[str]) -> str:
    unique = list(dict.fromkeys(members))
    if "Any" in unique:
        return "Any"
    if "None" in unique:  # `X | None` reads best with None last
        unique = [member for member in unique if member != "None"] + ["None"]
    return " | ".join(unique)


def _literal(values: list[Any]) -> str:
    named = [value for value in values if value is not None]
    literal = f"Literal[{', '.join(repr(value) for value in named)}]" if named else "None"
    return _union([literal, "None"]) if None in values and named else literal


def python_type(schema: dict[str, Any]) -> str:
    """The Python type of one JSON schema (see the module docstring)."""
    if "$ref" in schema:
        return str(schema["$ref"]).removeprefix(REF_PREFIX)
    if "enum" in schema:
        return _literal(list(schema["enum"]))
    if "const" in schema:
        return _literal([schema["const"]])
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            return _union([python_type(member) for member in schema[combinator]])
    if "allOf" in schema:
        if len(schema["allOf"]) == 1:
            return python_type(schema["allOf"][0])
        raise ValueError(f"allOf of several schemas has no Python type here: {schema}")
    kind = schema.get("type")
    if kind is None:
        return "Any"
    if isinstance(kind, list):
        return _union([python_type({**schema, "type": one}) for one in kind])
    if kind in SCALARS:
        return SCALARS[kind]
    if kind == "array":
        items = schema.get("items")
        return f"list[{python_type(items) if isinstance(items, dict) else 'Any'}]"
    if kind == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, dict) and not schema.get("properties"):
            return f"dict[str, {python_type(values)}]"
        return "dict[str, Any]"  # free-form, or an inline object the runtime does not name
    raise ValueError(f"JSON schema type {kind!r} has no Python type here: {schema}")


def _wrapped(text: str, width: int) -> list[str]:
    """`text` as lines of at most `width` characters, its paragraphs kept."""
    lines: list[str] = []
    for paragraph in text.strip().split("\n\n"):
        if lines:
            lines.append("")
        lines.extend(textwrap.wrap(" ".join(paragraph.split()), width, break_on_hyphens=False))
    return lines


def _docstring(text: str) -> list[str]:
    safe = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = _wrapped(safe, WRAP)
    if len(lines) == 1:
        return [f'    """{lines[0]}"""']
    return [f'    """{lines[0]}', *(f"    {line}" if line else "" for line in lines[1:]), '    """']


def _field_type(name: str, schema: dict[str, Any], required: set[str]) -> str:
    annotation = python_type(schema)
    return annotation if name in required else f"NotRequired[{annotation}]"


def render_schema(name: str, schema: dict[str, Any]) -> list[str]:
    """The Python source of one component schema: a TypedDict for an object with
    properties, a type alias for anything else."""
    if name in TYPING_NAMES or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"the schema name {name!r} cannot be a Python name in the generated module")
    properties: dict[str, Any] = schema.get("properties") or {}
    if not properties:
        return [f"{name}: TypeAlias = {python_type(schema)}"]
    required = set(schema.get("required", []))
    description = str(schema.get("description") or "")
    if all(key.isidentifier() and not keyword.iskeyword(key) for key in properties):
        lines = [f"class {name}(TypedDict):"]
        if description:
            lines.extend(_docstring(description))
        for key, value in properties.items():
            if value.get("description"):
                lines.extend(f"    # {line}".rstrip() for line in _wrapped(str(value["description"]), WRAP))
            lines.append(f"    {key}: {_field_type(key, value, required)}")
        return lines
    # A key that is no Python name (`from`) needs the call syntax; its types are quoted
    # because the call runs at import time, before the types defined after it exist.
    lines = [f"# {line}".rstrip() for line in _wrapped(description, WRAP)] if description else []
    lines.append(f"{name} = TypedDict(")
    lines.append(f"    {name!r},")
    lines.append("    {")
    for key, value in properties.items():
        lines.append(f"        {key!r}: {_field_type(key, value, required)!r},")
    lines.append("    },")
    lines.append(")")
    return lines


def _typing_import(code: str) -> str:
    """`from typing import ...` of the names `code` uses: its names, and those in the quoted
    types of a call-syntax TypedDict (not the strings of a `Literal[...]` or a docstring)."""
    used: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "TypedDict":
            fields = node.args[1]
            assert isinstance(fields, ast.Dict)
            for quoted in fields.values:
                assert isinstance(quoted, ast.Constant) and isinstance(quoted.value, str)
                used.update(n.id for n in ast.walk(ast.parse(quoted.value)) if isinstance(n, ast.Name))
    return f"from typing import {', '.join(name for name in TYPING_NAMES if name in used)}"


def render(spec: dict[str, Any]) -> str:
    """The generated module's source, before formatting."""
    components = spec["components"]["schemas"]
    names = success_schema_names(spec)
    # Aliases first: a class annotation is read lazily, an alias right away.
    aliases = [name for name in names if not components[name].get("properties")]
    classes = [name for name in names if components[name].get("properties")]
    code = "\n\n\n".join("\n".join(render_schema(name, components[name])) for name in [*aliases, *classes])
    return f"{HEADER}\n{_typing_import(code)}\n\n\n{code}\n"


def ruff_formatted(source: str, filename: Path = TARGET) -> str:
    """`source` as `ruff format` leaves it, with the project's settings."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(filename), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ruff format failed: {done.stderr.strip()}")
    return done.stdout


def generated_source() -> str:
    """What `studio/studio/api_types.py` must hold for the runtime as it is now."""
    return ruff_formatted(render(runtime_openapi()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only tell whether the file is up to date")
    args = parser.parse_args(argv)
    source = generated_source()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if args.check:
        if current != source:
            print(f"{TARGET.relative_to(ROOT)} is stale; regenerate it: {COMMAND}", file=sys.stderr)
            return 1
        return 0
    if current != source:
        TARGET.write_text(source, encoding="utf-8")
        print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
