"""Retrieval quality and access filtering on the German test corpus, with the real model.

The corpus (`tests/knowledge/corpus/`) is a dozen short documents of an invented
Mittelstand company, with questions and the document that answers each. The whole
pipeline runs as in production: extraction, German chunking, the offline MiniLM model,
the embedded store; readable labels come from the real policy.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from runtime.knowledge.backends import DocumentChunks, EmbeddedBackend
from runtime.knowledge.chunking import chunk_sections
from runtime.knowledge.embedding import load_model
from runtime.knowledge.extract import extract
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor, KnowledgeIndex

CORPUS = Path(__file__).resolve().parents[2] / "knowledge" / "corpus"
SPEC: dict[str, Any] = json.loads((CORPUS / "corpus.json").read_text(encoding="utf-8"))
RESTRICTED = {
    name for name, labels in SPEC["labels"].items() if any(label.startswith("hr-") for label in labels)
}
ALL_LABELS = frozenset(label for labels in SPEC["labels"].values() for label in labels)
WORKSPACE = "ws-sales"


def corpus_files() -> list[Path]:
    return sorted(path for path in CORPUS.iterdir() if path.name != "corpus.json")


async def ingest(backend: EmbeddedBackend) -> None:
    for number, path in enumerate(corpus_files()):
        extracted = extract(path.name, path.read_bytes())
        labels = tuple(SPEC["labels"].get(path.name, ()))
        await backend.replace_document(
            DocumentChunks(f"doc{number}", path.name, "v1", chunk_sections(extracted.sections), labels)
        )


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedBackend:
    embedded = EmbeddedBackend(tmp_path_factory.mktemp("corpus"), load_model())
    asyncio.run(ingest(embedded))
    return embedded


def readable_for(*roles: str) -> set[str]:
    actor = Actor(id="u1", username="someone", workspace_roles={WORKSPACE: frozenset(roles)})
    return Authorizer().readable_labels(
        actor, KnowledgeIndex(id="ix", workspace_id=WORKSPACE, labels=ALL_LABELS)
    )


def top_sources(backend: EmbeddedBackend, question: str, readable: set[str], k: int, mode: str) -> list[str]:
    vector = backend.model.encode([question])[0]
    return [hit.source for hit in backend.store.search(question, vector, k, readable, mode=mode)]


def recall_at(backend: EmbeddedBackend, k: int, mode: str) -> tuple[float, list[str]]:
    readable = readable_for("user")
    misses = []
    for item in SPEC["questions"]:
        if item["expected"] not in top_sources(backend, item["question"], readable, k, mode):
            misses.append(item["question"])
    return 1 - len(misses) / len(SPEC["questions"]), misses


def test_corpus_has_a_dozen_documents_and_questions_for_each() -> None:
    names = {path.name for path in corpus_files()}
    assert len(names) >= 12
    assert {item["expected"] for item in SPEC["questions"]} <= names
    assert set(SPEC["labels"]) <= names


def test_hybrid_recall_at_5_is_at_least_0_8(backend: EmbeddedBackend) -> None:
    recall, misses = recall_at(backend, 5, "hybrid")
    dense, _ = recall_at(backend, 5, "dense")
    lexical, _ = recall_at(backend, 5, "lexical")
    summary = f"hybrid {recall:.2f}, dense {dense:.2f}, lexical {lexical:.2f}; missed: {misses}"
    print(f"recall@5 on {len(SPEC['questions'])} questions: {summary}")
    assert recall >= 0.8, summary


def test_policy_decides_which_labels_are_readable() -> None:
    assert readable_for("user") == {"legal"}
    assert readable_for("user", "hr") == ALL_LABELS
    assert readable_for("admin") == ALL_LABELS


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_restricted_passages_never_leak(backend: EmbeddedBackend, mode: str) -> None:
    readable = readable_for("user")
    queries = [item["question"] for item in SPEC["questions"]] + SPEC["probes_for_restricted_passages"]
    for query in queries:
        sources = top_sources(backend, query, readable, 50, mode)
        assert not RESTRICTED & set(sources), (query, sources)


def test_who_may_read_restricted_passages_finds_them(backend: EmbeddedBackend) -> None:
    for probe, expected in [
        ("Gehaltsband Key Account Manager", "gehaltsbaender.md"),
        ("Protokoll Personalgespräch Ermahnung", "personalgespraech-protokoll.md"),
    ]:
        assert expected in top_sources(backend, probe, readable_for("user", "hr"), 3, "hybrid")
        assert expected not in top_sources(backend, probe, readable_for("user"), 50, "hybrid")
