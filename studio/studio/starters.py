"""Starting points for "new flow": the blank flow, and the runtime's starter flows
(`GET /api/starters`) shaped for the gallery.

The studio reads starters only from the runtime, so a studio deployed apart from the
runtime's files shows the same list the runtime imports.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from studio.api_types import StarterOut
from studio.i18n import translate

BLANK = "blank"


def blank_document(name: str) -> dict[str, Any]:
    """The smallest valid flow: one input, passed through to one output."""
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


@dataclass
class StarterView:
    """One card of the gallery; `needs` are the connections and indexes, in words."""

    slug: str = ""
    name: str = ""
    description: str = ""
    language: str = "de"
    readme: str = ""
    needs: list[str] = field(default_factory=list)
    cases: int = 0


def starter_view(starter: StarterOut, lang: str) -> StarterView:
    needs = starter.get("needs") or {}
    return StarterView(
        slug=str(starter.get("slug") or ""),
        name=str(starter.get("name") or starter.get("slug") or ""),
        description=str(starter.get("description") or ""),
        language=str(starter.get("language") or "de"),
        readme=_without_title(str(starter.get("readme") or "")),
        needs=[
            *(f"{translate('needs_connection', lang)}: {name}" for name in needs.get("connections") or []),
            *(f"{translate('needs_index', lang)}: {name}" for name in needs.get("indexes") or []),
        ],
        cases=len((starter.get("document") or {}).get("tests") or []),
    )


def _without_title(readme: str) -> str:
    """The README without its first-level title: the gallery shows the name above it."""
    lines = readme.lstrip().splitlines()
    return "\n".join(lines[1:]).lstrip() if lines and lines[0].startswith("# ") else readme


def renamed(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A starter's document for a new flow called `name`."""
    copied = copy.deepcopy(document)
    copied["name"] = name
    return copied


def slugify(text: str) -> str:
    """A URL-safe short name from a display name (umlauts spelled out)."""
    replaced = text.lower()
    for old, new in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        replaced = replaced.replace(old, new)
    return re.sub(r"[^a-z0-9]+", "-", replaced).strip("-")[:60]
