"""The house rules of the HTTP API, checked over the whole app (issue 11): every success
answer has a model in the OpenAPI (so clients and the studio read shapes, not guesses),
no controller builds SQL (queries belong to the slices' services), and handlers take the
slice's service they use rather than the whole runtime (the composition root, `root`)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from runtime.app import create_app
from runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
# The one handler that reads the runtime as a whole: /health asks the database and every
# background part whether they are alive.
WHOLE_RUNTIME_ALLOWED = {"health"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("contract")))


def _is_model(schema: dict[str, Any]) -> bool:
    if "$ref" in schema or "oneOf" in schema or "anyOf" in schema:
        return True
    return schema.get("type") == "array" and "$ref" in schema.get("items", {})


def test_every_success_answer_names_its_model(app: Litestar) -> None:
    spec = app.openapi_schema.to_schema()
    untyped = [
        f"{method.upper()} {path} {status} ({media_type})"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        for status, answer in operation.get("responses", {}).items()
        if status.startswith("2") and status != "204"
        for media_type, media in (answer.get("content") or {}).items()
        if media_type == "application/json" and not _is_model(media.get("schema", {}))
    ]
    assert untyped == []


def _controller_modules() -> list[Path]:
    runtime = ROOT / "runtime"
    return sorted(
        path
        for path in runtime.rglob("*.py")
        if path.parent != runtime and (path.stem.endswith("controller") or path.stem == "deps")
    )


def test_no_controller_builds_sql() -> None:
    modules = _controller_modules()
    assert len(modules) > 15
    found = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [
                f"{path.relative_to(ROOT)}: {name}" for name in names if name.split(".")[0] == "sqlalchemy"
            ]
    assert found == []


def test_handlers_take_what_they_use_not_the_whole_runtime(app: Litestar) -> None:
    handlers = [
        handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if isinstance(handler, HTTPRouteHandler)
    ]
    assert len(handlers) > 60
    whole = sorted(
        handler.handler_name
        for handler in handlers
        if "root" in inspect.signature(handler.fn).parameters
        and handler.handler_name not in WHOLE_RUNTIME_ALLOWED
    )
    assert whole == []
