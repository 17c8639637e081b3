"""Starter flows for "new flow": the blank flow and every `templates/*/flow.json`.

The templates directory is data shipped with Dirigent (`DIRIGENT_TEMPLATES_DIR`,
default: `templates/` next to `studio/`). Proposed for the runtime: `GET /api/templates`,
so that a studio deployed apart from the runtime's files sees the same list.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

BLANK = "blank"


def templates_dir() -> Path:
    configured = os.environ.get("DIRIGENT_TEMPLATES_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "templates"


def blank_document(name: str) -> dict[str, Any]:
    """The smallest valid flow: one input, passed through a template, one output."""
    return {
        "schema": "dirigent.flow/v1",
        "name": name,
        "description": "",
        "inputs": {"question": {"type": "string", "required": True, "description": ""}},
        "nodes": [
            {"id": "start", "type": "input", "title": "", "config": {}},
            {"id": "end", "type": "output", "title": "", "config": {}},
        ],
        "edges": [{"from": "start", "to": "end"}],
        "outputs": {"answer": "{{ inputs.question }}"},
        "card": {"purpose": "", "data_sources": [], "risk": "limited", "owner": "", "thresholds": {}},
        "layout": {"start": {"x": 80, "y": 160}, "end": {"x": 520, "y": 160}},
    }


def list_templates() -> list[dict[str, str]]:
    """`[{"slug", "name", "description"}]` of the starter templates, sorted by name."""
    found = []
    for flow_path in sorted(templates_dir().glob("*/flow.json")):
        meta_path = flow_path.with_name("template.json")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        except (OSError, ValueError):
            meta = {}
        found.append(
            {
                "slug": str(meta.get("slug") or flow_path.parent.name),
                "name": str(meta.get("name") or flow_path.parent.name),
                "description": str(meta.get("description") or ""),
            }
        )
    return sorted(found, key=lambda item: item["name"].lower())


def template_document(slug: str, name: str) -> dict[str, Any]:
    """The document of template `slug` (or the blank flow), renamed to `name`."""
    if slug == BLANK:
        return blank_document(name)
    for flow_path in templates_dir().glob("*/flow.json"):
        meta_path = flow_path.with_name("template.json")
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        if (meta.get("slug") or flow_path.parent.name) == slug:
            document = copy.deepcopy(json.loads(flow_path.read_text(encoding="utf-8")))
            document["name"] = name
            return document
    raise KeyError(f"no template '{slug}'")


def slugify(text: str) -> str:
    """A URL-safe short name from a display name (umlauts spelled out)."""
    replaced = text.lower()
    for old, new in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        replaced = replaced.replace(old, new)
    return re.sub(r"[^a-z0-9]+", "-", replaced).strip("-")[:60]
