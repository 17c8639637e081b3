"""The `retrieval` node: config, what it asks the knowledge service, and its two outputs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError

from nodes.base import NodeContext
from nodes.errors import NodeError
from nodes.registry import DEFAULT_REGISTRY
from nodes.retrieval import Passage, RetrievalNode, RetrievalRequest, context_text

PASSAGES = [
    Passage("Hotelkosten bis 120 Euro pro Nacht.", "Reiserichtlinie.pdf", 3, None, 1.0, "d1:ab:4", "d1"),
    Passage(
        "Bahn 2. Klasse, ab 4 Stunden 1. Klasse.", "Reiserichtlinie.pdf", None, "Bahn", 0.5, "d1:ab:7", "d1"
    ),
]


@dataclass
class FakeKnowledge:
    passages: list[Passage] = field(default_factory=lambda: list(PASSAGES))
    requests: list[RetrievalRequest] = field(default_factory=list)

    async def retrieve(self, request: RetrievalRequest) -> list[Passage]:
        self.requests.append(request)
        return [p for p in self.passages if p.score >= request.min_score][: request.k]


def node(**config: object) -> RetrievalNode:
    return RetrievalNode(
        "find", RetrievalNode.Config(**{"index": "reisen", "query": "{{ inputs.q }}", **config})
    )


def context(service: FakeKnowledge | None = None) -> NodeContext:
    services = {"knowledge": service} if service is not None else {}
    return NodeContext(
        run_id="run-1",
        node_id="find",
        node_type="retrieval",
        flow_inputs={},
        services=services,
    )


async def test_outputs_documents_with_sources_and_numbered_context() -> None:
    service = FakeKnowledge()
    outputs = await node(k=2, min_score=0.2).run(context(service), {"inputs": {"q": "Hotel München"}})
    assert service.requests == [
        RetrievalRequest(
            run_id="run-1", index="reisen", query="Hotel München", k=2, min_score=0.2, labels=None
        )
    ]
    assert outputs["documents"][0] == {
        "text": "Hotelkosten bis 120 Euro pro Nacht.",
        "source": "Reiserichtlinie.pdf",
        "page": 3,
        "section": None,
        "score": 1.0,
        "chunk_id": "d1:ab:4",
        "document_id": "d1",
    }
    assert outputs["context"] == (
        "[1] Quelle: Reiserichtlinie.pdf, S. 3\nHotelkosten bis 120 Euro pro Nacht.\n\n"
        "[2] Quelle: Reiserichtlinie.pdf, Bahn\nBahn 2. Klasse, ab 4 Stunden 1. Klasse."
    )


async def test_labels_are_passed_as_a_narrowing_filter() -> None:
    service = FakeKnowledge()
    await node(labels=["legal"]).run(context(service), {"inputs": {"q": "Vertrag"}})
    assert service.requests[0].labels == ("legal",)


async def test_no_passages_gives_empty_outputs() -> None:
    outputs = await node().run(context(FakeKnowledge(passages=[])), {"inputs": {"q": "nichts"}})
    assert outputs == {"documents": [], "context": ""}
    assert context_text([]) == ""


async def test_empty_query_is_a_clear_error() -> None:
    with pytest.raises(NodeError, match="query rendered to an empty text"):
        await node().run(context(FakeKnowledge()), {"inputs": {"q": "  "}})


async def test_missing_service_names_it() -> None:
    with pytest.raises(NodeError, match="'knowledge' service"):
        await node().run(context(None), {"inputs": {"q": "x"}})


@pytest.mark.parametrize(
    ("config", "field_name"),
    [
        ({"k": 0}, "k"),
        ({"k": 51}, "k"),
        ({"min_score": 1.5}, "min_score"),
        ({"labels": []}, "labels"),
        ({"index": ""}, "index"),
        ({"top_k": 3}, "top_k"),
    ],
)
def test_config_is_validated(config: dict[str, object], field_name: str) -> None:
    with pytest.raises(ValidationError, match=field_name):
        RetrievalNode.Config(**{"index": "reisen", "query": "x", **config})


def test_registered_with_its_contract() -> None:
    described = DEFAULT_REGISTRY["retrieval"].describe()
    assert described["outputs"] == ["documents", "context"]
    assert described["template_fields"] == ["query"]
    assert set(described["config_schema"]["properties"]) == {
        "index",
        "query",
        "k",
        "min_score",
        "labels",
        "timeout_s",
    }
