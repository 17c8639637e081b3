"""The Marqo backend through the real `marqo` client against `MarqoDouble` (see there)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from runtime.knowledge.backends import DocumentChunks
from runtime.knowledge.chunking import Chunk
from runtime.knowledge.errors import BackendUnavailable
from runtime.knowledge.marqo_backend import (
    MarqoBackend,
    escape_filter_value,
    filter_string,
    marqo_client,
)
from tests.runtime.knowledge.conftest import create_index, search, upload
from tests.runtime.knowledge.marqo_double import MarqoDouble, parse_labelset_filter
from tests.support.api import ApiHarness


@dataclass
class IndexRow:
    id: str = "ix1"
    embedding_model: str = "hf/multilingual-e5-small"


@pytest.fixture
def marqo(monkeypatch: pytest.MonkeyPatch) -> Iterator[MarqoDouble]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with MarqoDouble() as double:
        yield double


@pytest.fixture
async def backend(marqo: MarqoDouble) -> MarqoBackend:
    backend = MarqoBackend(marqo_client(marqo.url, timeout_s=2), IndexRow())
    await backend.setup()
    return backend


def document(
    doc_id: str,
    texts: list[str],
    labels: tuple[str, ...] = (),
    version: str = "v1",
    previous: tuple[str, int] | None = None,
) -> DocumentChunks:
    return DocumentChunks(
        doc_id,
        f"{doc_id}.pdf",
        version,
        [Chunk(i, t, page=i + 1) for i, t in enumerate(texts)],
        labels,
        previous_version=previous[0] if previous else None,
        previous_count=previous[1] if previous else 0,
    )


def test_filter_values_are_escaped() -> None:
    assert escape_filter_value("hr-salaries") == "hr\\-salaries"
    assert escape_filter_value('a:b (c) "d" e/f') == 'a\\:b\\ \\(c\\)\\ \\"d\\"\\ e\\/f'
    assert (
        filter_string([(), ("hr-salaries", "legal")]) == "labelset:(_none) OR labelset:(hr\\-salaries,legal)"
    )
    assert filter_string([]) is None
    assert parse_labelset_filter("labelset:(_none) OR labelset:(hr\\-salaries,legal)") == {
        "_none",
        "hr-salaries,legal",
    }


async def test_create_index_sends_model_and_text_settings(backend: MarqoBackend, marqo: MarqoDouble) -> None:
    [create] = marqo.calls("POST", "/indexes/dirigent-ix1")
    assert create.body == {
        "type": "unstructured",
        "model": "hf/multilingual-e5-small",
        "normalizeEmbeddings": True,
        "filterStringMaxLength": 1024,
        "textPreprocessing": {"splitLength": 50, "splitOverlap": 0, "splitMethod": "sentence"},
    }


async def test_add_in_batches_of_128_and_search_with_the_label_filter(
    backend: MarqoBackend, marqo: MarqoDouble
) -> None:
    texts = [f"Vertrag Abschnitt {i} Haftung Kündigung" for i in range(300)]
    assert await backend.replace_document(document("vertrag", texts, ("legal",))) == 300
    adds = marqo.calls("POST", "/indexes/dirigent-ix1/documents")
    assert [len(call.body["documents"]) for call in adds] == [128, 128, 44]
    assert all(call.body["tensorFields"] == ["text"] for call in adds)
    assert adds[0].body["documents"][0] == {
        "_id": "vertrag:v1:0",
        "text": texts[0],
        "document_id": "vertrag",
        "source": "vertrag.pdf",
        "ordinal": 0,
        "labels": ["legal"],
        "labelset": "legal",
        "page": 1,
    }
    await backend.replace_document(document("gehalt", ["Gehalt Haftung Bonus"], ("hr-salaries",)))

    hits = await backend.search(
        "Haftung Gehalt", 5, {"legal"}, known_labelsets=[("legal",), ("hr-salaries",)]
    )
    [search] = marqo.calls("POST", "/indexes/dirigent-ix1/search")
    assert search.body == {
        "q": "Haftung Gehalt",
        "limit": 5,
        "offset": 0,
        "searchMethod": "HYBRID",
        "filter": "labelset:(legal)",
        "showHighlights": False,
        "attributesToRetrieve": ["_id", "text", "document_id", "source", "page", "section", "labels"],
        "hybridParameters": {
            "retrievalMethod": "disjunction",
            "rankingMethod": "rrf",
            "alpha": 0.5,
            "rrfK": 60,
            "searchableAttributesLexical": ["text"],
            "searchableAttributesTensor": ["text"],
        },
    }
    assert hits and {hit.source for hit in hits} == {"vertrag.pdf"}
    assert hits[0].score == pytest.approx(1.0) and hits[0].page is not None

    everything = await backend.search(
        "Haftung Gehalt", 5, {"legal", "hr-salaries"}, known_labelsets=[("legal",), ("hr-salaries",)]
    )
    assert "gehalt.pdf" in {hit.source for hit in everything}
    assert marqo.requests[-1].body["filter"] == "labelset:(hr\\-salaries) OR labelset:(legal)"


async def test_a_passage_is_read_by_its_id_with_its_labels(backend: MarqoBackend, marqo: MarqoDouble) -> None:
    await backend.replace_document(document("gehalt", ["Gehalt Haftung Bonus"], ("hr-salaries",)))
    passage = await backend.passage("gehalt:v1:0")
    assert passage is not None
    assert (passage.chunk_id, passage.document_id, passage.text, passage.source, passage.page) == (
        "gehalt:v1:0",
        "gehalt",
        "Gehalt Haftung Bonus",
        "gehalt.pdf",
        1,
    )
    assert passage.labels == ["hr-salaries"]  # the service checks them against the caller
    assert await backend.passage("gehalt:v1:9") is None


async def test_nothing_readable_means_no_request(backend: MarqoBackend, marqo: MarqoDouble) -> None:
    count = len(marqo.requests)
    assert await backend.search("x", 5, set(), require_any=["legal"], known_labelsets=[("legal",)]) == []
    assert len(marqo.requests) == count


async def test_replace_deletes_the_previous_version_after_adding(
    backend: MarqoBackend, marqo: MarqoDouble
) -> None:
    await backend.replace_document(document("angebot", ["alt eins", "alt zwei", "alt drei"]))
    await backend.replace_document(document("angebot", ["neu"], version="v2", previous=("v1", 3)))
    [delete] = marqo.calls("POST", "/documents/delete-batch")
    assert delete.body == ["angebot:v1:0", "angebot:v1:1", "angebot:v1:2"]
    assert set(marqo.documents["dirigent-ix1"]) == {"angebot:v2:0"}
    await backend.delete_document("angebot", version="v2", count=1)
    assert marqo.documents["dirigent-ix1"] == {}


async def test_refused_chunk_rolls_back_and_keeps_the_old_version(
    backend: MarqoBackend, marqo: MarqoDouble
) -> None:
    await backend.replace_document(document("angebot", ["alt"]))
    marqo.refuse_ids = {"angebot:v2:1"}
    with pytest.raises(BackendUnavailable, match=r"refused 1 of 2 passages of angebot\.pdf.*left as it was"):
        await backend.replace_document(
            document("angebot", ["neu eins", "neu zwei"], version="v2", previous=("v1", 1))
        )
    assert set(marqo.documents["dirigent-ix1"]) == {"angebot:v1:0"}


async def test_stats_and_drop(backend: MarqoBackend, marqo: MarqoDouble) -> None:
    await backend.replace_document(document("a", ["eins", "zwei"]))
    stats = await backend.stats()
    assert (stats["backend"], stats["chunks"], stats["index"]) == ("marqo", 2, "dirigent-ix1")
    await backend.drop()
    assert marqo.calls("DELETE", "/indexes/dirigent-ix1") and "dirigent-ix1" not in marqo.indexes


async def test_server_errors_become_clear_messages(backend: MarqoBackend, marqo: MarqoDouble) -> None:
    marqo.fail_with = 500
    with pytest.raises(
        BackendUnavailable,
        match=r"could not search in Marqo at http://127\.0\.0\.1:\d+: "
        r"it answered with an error",
    ):
        await backend.search("x", 3, set(), known_labelsets=[()])


async def test_timeout_and_unreachable_server(marqo: MarqoDouble) -> None:
    slow = MarqoBackend(marqo_client(marqo.url, timeout_s=0.2), IndexRow(id="slow"))
    marqo.delay_s = 1.0
    with pytest.raises(BackendUnavailable, match="did not answer in time"):
        await slow.setup()
    marqo.delay_s = 0.0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    gone = MarqoBackend(marqo_client(closed, timeout_s=1), IndexRow(id="gone"))
    with pytest.raises(BackendUnavailable, match="cannot be reached"):
        await gone.stats()


@pytest.fixture
def marqo_configured(marqo: MarqoDouble, monkeypatch: pytest.MonkeyPatch) -> MarqoDouble:
    monkeypatch.setenv("DIRIGENT_KNOWLEDGE_MARQO_URL", marqo.url)
    return marqo


async def test_marqo_index_end_to_end_through_the_api(
    marqo_configured: MarqoDouble, kapi: ApiHarness
) -> None:
    index = await create_index(kapi, name="vertraege", backend="marqo", labels=["legal"])
    assert index["embedding_model"] == "hf/multilingual-e5-small"
    assert f"dirigent-{index['id']}" in marqo_configured.indexes
    job = await upload(kapi, index["id"], [("rahmen.txt", "Haftung und Kündigung im Rahmenvertrag".encode())])
    assert job["status"] == "succeeded", job
    await upload(kapi, index["id"], [("gehalt.txt", b"Gehalt und Haftung")], labels="hr-salaries")

    user_hits = await search(kapi, index["id"], "Haftung", user="user")
    assert [hit["source"] for hit in user_hits] == ["rahmen.txt"]
    assert marqo_configured.requests[-1].body["filter"] == "labelset:(legal)"
    admin_hits = await search(kapi, index["id"], "Haftung", user="salesadmin")
    assert {hit["source"] for hit in admin_hits} == {"rahmen.txt", "gehalt.txt"}
    assert (
        marqo_configured.requests[-1].body["filter"] == "labelset:(hr\\-salaries,legal) OR labelset:(legal)"
    )

    documents = (await kapi.as_("champion").get(f"/api/knowledge/{index['id']}/documents")).json()
    gehalt = next(doc for doc in documents if doc["filename"] == "gehalt.txt")
    deleted = await kapi.as_("champion").request(
        "DELETE", f"/api/knowledge/{index['id']}/documents/{gehalt['id']}"
    )
    assert deleted.status_code == 204
    assert all(
        not doc_id.startswith(gehalt["id"])
        for doc_id in marqo_configured.documents[f"dirigent-{index['id']}"]
    )
    assert (await kapi.as_("champion").request("DELETE", f"/api/knowledge/{index['id']}")).status_code == 204
    assert f"dirigent-{index['id']}" not in marqo_configured.indexes
