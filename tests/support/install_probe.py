"""Run inside a virtualenv that has Dirigent installed without extras (tests/test_install.py).

    <venv>/bin/python install_probe.py DATA_DIR

Uses only the standard library and the installed package (never this checkout: the test
runs it from another directory, without PYTHONPATH). Prints one JSON object:

    {"imported": [...], "failed": {module: error}, "health": status, "swagger_asset": status,
     "login": status, "knowledge": {status, body}, "extras_imported": [...]}

The user `champion` (workspace `ws`) must exist in DATA_DIR; the test creates them with the
installed `dirigent` command first.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import traceback
from typing import Any

# Modules of the extras (pyproject.toml): none may be imported by merely starting.
EXTRA_MODULES = ("sentence_transformers", "transformers", "torch", "faiss", "pypdf", "docx", "bs4", "marqo")


def import_everything() -> tuple[list[str], dict[str, str]]:
    """Every module of runtime/ and nodes/ (a `__main__` runs its command, so not those)."""
    imported: list[str] = []
    failed: dict[str, str] = {}
    for package_name in ("runtime", "nodes"):
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, package_name + "."):
            if module.name.rsplit(".", 1)[-1] == "__main__":
                continue
            try:
                importlib.import_module(module.name)
            except BaseException as error:  # SystemExit included: an import must not exit
                failed[module.name] = f"{type(error).__name__}: {error}"
            else:
                imported.append(module.name)
    return imported, failed


def exercise_app(data_dir: str) -> dict[str, Any]:
    from litestar.testing import TestClient

    from runtime.app import create_app
    from runtime.settings import Settings

    app = create_app(Settings(data_dir=data_dir), background=False)  # type: ignore[call-arg]
    found: dict[str, Any] = {}
    with TestClient(app) as client:
        found["health"] = client.get("/health").status_code
        found["swagger_asset"] = client.get("/schema/static/swagger-ui.css").status_code
        login = client.post("/api/auth/login", json={"username": "champion", "password": sys.argv[2]})
        found["login"] = login.status_code
        token = login.json().get("token", "")
        answer = client.post(
            "/api/workspaces/ws/knowledge",
            json={"name": "docs"},
            headers={"Authorization": f"Bearer {token}"},
        )
        found["knowledge"] = {"status": answer.status_code, "body": answer.json()}
        # DIRIGENT_MARQO_URL is set (as compose sets it): the app started all the same, and
        # a Marqo index needs the client of the 'knowledge' extra.
        answer = client.post(
            "/api/workspaces/ws/knowledge",
            json={"name": "docs-marqo", "backend": "marqo"},
            headers={"Authorization": f"Bearer {token}"},
        )
        found["knowledge_marqo"] = {"status": answer.status_code, "body": answer.json()}
    return found


def exercise_workers(data_dir: str) -> dict[str, Any]:
    """The worker processes start from the installed package: a template that needs Jinja
    (a filter) renders in a template worker; the extraction worker reads a text file, and
    refuses a PDF with `extra_missing` (no parsers without the 'knowledge' extra)."""
    import asyncio
    from pathlib import Path

    from nodes.rendering.workers import Templates
    from runtime.knowledge.errors import FileRejected
    from runtime.knowledge.extraction_pool import ExtractionPool
    from runtime.knowledge.limits import IngestLimits

    async def run() -> dict[str, Any]:
        found: dict[str, Any] = {}
        templates = Templates()
        try:
            found["template"] = await templates.render("{{ name | upper }}", {"name": "ada"})
        finally:
            await templates.close()
        limits = IngestLimits()
        pool = ExtractionPool(limits.memory_mb)
        text, pdf = Path(data_dir) / "hallo.txt", Path(data_dir) / "hallo.pdf"
        text.write_text("Hallo Welt. Das ist ein Text.")
        pdf.write_bytes(b"%PDF-1.4 not really")
        try:
            media_type, chunks = await pool.extract(
                "hallo.txt", text, max_bytes=None, chunking={}, limits=limits
            )
            found["text_file"] = [media_type, len(chunks)]
            try:
                await pool.extract("hallo.pdf", pdf, max_bytes=None, chunking={}, limits=limits)
                found["pdf_file"] = "extracted"
            except FileRejected as refused:
                found["pdf_file"] = {"code": refused.code, **refused.extra}
        finally:
            pool.close()
        return found

    return asyncio.run(run())


def main() -> None:
    imported, failed = import_everything()
    result: dict[str, Any] = {"imported": imported, "failed": failed, "runtime_file": ""}
    import runtime

    result["runtime_file"] = runtime.__file__
    try:
        result.update(exercise_app(sys.argv[1]))
        result.update(exercise_workers(sys.argv[1]))
    except BaseException:
        result["app_error"] = traceback.format_exc()
    result["extras_imported"] = sorted(name for name in EXTRA_MODULES if name in sys.modules)
    result["pythonpath"] = os.environ.get("PYTHONPATH", "")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
