"""What a version uses (`GET /api/flows/{id}/versions/{n}/uses`) as the board reads it:
connections with what they do in production, knowledge indexes, language models.
Pure (no Reflex, no HTTP); the review renders it with `components.version_diff.uses_panel`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studio.i18n import translate

KIND_WORDS = {"http": "HTTP/REST", "email": "E-Mail", "sql": "SQL", "webhook": "Webhook"}


@dataclass
class ConnectionUseView:
    name: str = ""
    exists: bool = True
    kind: str = ""
    host: str = ""
    actions: str = ""
    nodes: str = ""
    side_effects: bool = False
    effect: str = ""  # "ändert Daten" / "liest nur"
    touches_production: bool = False
    has_test_target: bool = False
    test_target: str = ""


@dataclass
class IndexUseView:
    name: str = ""
    exists: bool = True
    backend: str = ""
    documents: str = ""
    nodes: str = ""


@dataclass
class ModelUseView:
    name: str = ""
    exists: bool = True
    host: str = ""
    served_model: str = ""
    nodes: str = ""


@dataclass
class UsesView:
    loaded: bool = False
    failed: bool = False
    connections: list[ConnectionUseView] = field(default_factory=list)
    indexes: list[IndexUseView] = field(default_factory=list)
    models: list[ModelUseView] = field(default_factory=list)


def _joined(items: Any) -> str:
    return ", ".join(str(item) for item in items or [])


def uses_view(uses: dict[str, Any] | None, lang: str) -> UsesView:
    """`uses` as answered by the runtime; None when it could not be loaded."""
    if uses is None:
        return UsesView(loaded=True, failed=True)
    return UsesView(
        loaded=True,
        connections=[
            ConnectionUseView(
                name=str(item.get("name") or ""),
                exists=bool(item.get("exists")),
                kind=KIND_WORDS.get(str(item.get("kind") or ""), str(item.get("kind") or "")),
                host=str(item.get("host") or ""),
                actions=_joined(item.get("actions")),
                nodes=_joined(item.get("nodes")),
                side_effects=bool(item.get("side_effects")),
                effect=translate(
                    "uses_side_effects" if item.get("side_effects") else "uses_reads_only", lang
                ),
                touches_production=bool(item.get("touches_production")),
                has_test_target=bool(item.get("has_test_target")),
                test_target=translate(
                    "uses_test_target_yes" if item.get("has_test_target") else "uses_test_target_no", lang
                ),
            )
            for item in uses.get("connections") or []
        ],
        indexes=[
            IndexUseView(
                name=str(item.get("name") or ""),
                exists=bool(item.get("exists")),
                backend=str(item.get("backend") or ""),
                documents="" if item.get("documents") is None else str(item["documents"]),
                nodes=_joined(item.get("nodes")),
            )
            for item in uses.get("indexes") or []
        ],
        models=[
            ModelUseView(
                name=str(item.get("name") or ""),
                exists=bool(item.get("exists")),
                host=str(item.get("host") or ""),
                served_model=str(item.get("served_model") or ""),
                nodes=_joined(item.get("nodes")),
            )
            for item in uses.get("models") or []
        ],
    )
