"""The knowledge API: indexes, uploads as jobs with per-file errors, documents, search, access."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.knowledge.conftest import MAX_FILE_MB, create_index, search, upload
from tests.runtime.knowledge.files import encrypted_pdf_bytes, pdf_bytes
from tests.support.api import ApiHarness

OFFER = "Angebot Nr. 2025-117 für die Müller GmbH: 40 Arbeitsplätze, Preis 38.000 Euro netto."
POLICY = "# Reiserichtlinie\n\nHotelkosten werden bis 120 Euro pro Nacht erstattet, z. B. in München."


async def test_index_lifecycle_and_access(kapi: ApiHarness) -> None:
    index = await create_index(kapi, description="Angebote an Kunden", labels=["sales"])
    assert (index["backend"], index["embedding_model"], index["labels"]) == (
        "embedded",
        "all-MiniLM-L6-v2",
        ["sales"],
    )
    assert index["chunking"] == {"max_chars": 800, "overlap_chars": 150}

    listed = (await kapi.as_("user").get("/api/workspaces/sales/knowledge")).json()
    assert [item["name"] for item in listed] == ["angebote"]
    assert (await kapi.as_("user").get(f"/api/knowledge/{index['id']}")).status_code == 200
    # Outside the workspace the index does not exist; inside, users may not manage it.
    assert (await kapi.as_("outsider").get(f"/api/knowledge/{index['id']}")).status_code == 404
    assert (await kapi.as_("outsider").get("/api/workspaces/sales/knowledge")).status_code == 404
    denied = await kapi.as_("user").post("/api/workspaces/sales/knowledge", json={"name": "x"})
    assert denied.status_code == 403 and "champion" in denied.json()["message"]
    assert (await kapi.as_("user").request("DELETE", f"/api/knowledge/{index['id']}")).status_code == 403

    duplicate = await kapi.as_("champion").post("/api/workspaces/sales/knowledge", json={"name": "angebote"})
    assert duplicate.status_code == 409
    bad = await kapi.as_("champion").post("/api/workspaces/sales/knowledge", json={"name": "Mit Leerzeichen"})
    assert bad.status_code == 400 and "index name" in bad.json()["message"]
    marqo = await kapi.as_("champion").post(
        "/api/workspaces/sales/knowledge", json={"name": "m", "backend": "marqo"}
    )
    assert marqo.status_code == 400 and "DIRIGENT_KNOWLEDGE_MARQO_URL" in marqo.json()["message"]

    await upload(kapi, index["id"], [("angebot.txt", OFFER.encode())])
    directory = Path(kapi.runtime.services["knowledge"].root) / "indexes" / index["id"]
    assert directory.is_dir()
    assert (await kapi.as_("champion").request("DELETE", f"/api/knowledge/{index['id']}")).status_code == 204
    assert (await kapi.as_("champion").get(f"/api/knowledge/{index['id']}")).status_code == 404
    assert not directory.exists()


async def test_batch_with_bad_files_indexes_the_good_ones(kapi: ApiHarness) -> None:
    index = await create_index(kapi)
    job = await upload(
        kapi,
        index["id"],
        [
            ("angebot.txt", OFFER.encode()),
            ("leer.txt", b""),
            ("tabelle.xlsx", b"PK\x03\x04"),
            ("kaputt.pdf", b"%PDF-1.4 kaputt"),
            ("geschuetzt.pdf", encrypted_pdf_bytes("geheim")),
            ("riesig.txt", b"x" * (3 * MAX_FILE_MB * 1024 * 1024)),  # request > app-wide 2 MiB
            ("reise.md", POLICY.encode()),
            ("scan.pdf", pdf_bytes([""])),
        ],
    )
    assert job["status"] == "completed_with_errors"
    assert (job["files_total"], job["files_done"], job["files_failed"]) == (8, 8, 6)
    by_name = {item["name"]: item for item in job["files"]}
    assert by_name["angebot.txt"]["status"] == "indexed" and by_name["angebot.txt"]["chunks"] == 1
    assert by_name["leer.txt"]["code"] == "empty_file" and "0 bytes" in by_name["leer.txt"]["error"]
    assert by_name["tabelle.xlsx"]["code"] == "unsupported_file_type"
    assert by_name["kaputt.pdf"]["code"] in ("corrupt_file", "empty_file")
    assert by_name["geschuetzt.pdf"]["code"] == "protected_file"
    assert (
        by_name["riesig.txt"]["code"] == "file_too_large"
        and "at most 1.0 MiB" in by_name["riesig.txt"]["error"]
    )
    assert by_name["scan.pdf"]["code"] == "empty_file" and "OCR" in by_name["scan.pdf"]["error"]

    documents = (await kapi.as_("user").get(f"/api/knowledge/{index['id']}/documents")).json()
    assert sorted(doc["filename"] for doc in documents) == ["angebot.txt", "reise.md"]
    [hit, *_] = await search(kapi, index["id"], "Hotelkosten München", user="user")
    assert (hit["source"], hit["section"]) == ("reise.md", "Reiserichtlinie")
    described = (await kapi.as_("champion").get(f"/api/knowledge/{index['id']}")).json()
    assert described["documents"] == 2 and described["stats"]["chunks"] == 2
    assert "manage" in described["allowed_actions"]


async def test_two_files_of_the_same_name_in_one_upload(kapi: ApiHarness) -> None:
    index = await create_index(kapi)
    job = await upload(kapi, index["id"], [("a.txt", b"Erste Fassung"), ("a.txt", b"Zweite Fassung")])
    assert [(item["status"], item["code"]) for item in job["files"]] == [
        ("indexed", None),
        ("failed", "duplicate_name"),
    ]


async def test_reupload_unchanged_is_a_no_op_and_changed_replaces(kapi: ApiHarness) -> None:
    index = await create_index(kapi)
    first = await upload(kapi, index["id"], [("angebot.txt", OFFER.encode())])
    again = await upload(kapi, index["id"], [("angebot.txt", OFFER.encode())])
    assert first["files"][0]["status"] == "indexed" and again["files"][0]["status"] == "unchanged"
    assert again["chunks_done"] == 0
    assert again["files"][0]["document_id"] == first["files"][0]["document_id"]

    changed = await upload(kapi, index["id"], [("angebot.txt", OFFER.replace("38.000", "41.500").encode())])
    assert changed["files"][0]["status"] == "indexed"
    texts = [hit["text"] for hit in await search(kapi, index["id"], "Preis Müller GmbH Arbeitsplätze")]
    assert texts == [OFFER.replace("38.000", "41.500")]
    assert (await kapi.as_("champion").get(f"/api/knowledge/{index['id']}")).json()["stats"]["chunks"] == 1

    audit = await kapi.as_("admin").get("/api/audit", params={"resource_type": "knowledge_document"})
    actions = [entry["action"] for entry in audit.json()]
    assert (
        actions.count("knowledge.document.indexed") == 1 and actions.count("knowledge.document.replaced") == 1
    )


async def test_delete_document_removes_its_chunks(kapi: ApiHarness) -> None:
    index = await create_index(kapi)
    job = await upload(kapi, index["id"], [("angebot.txt", OFFER.encode()), ("reise.md", POLICY.encode())])
    document_id = next(item["document_id"] for item in job["files"] if item["name"] == "angebot.txt")
    assert (
        await kapi.as_("user").request("DELETE", f"/api/knowledge/{index['id']}/documents/{document_id}")
    ).status_code == 403
    deleted = await kapi.as_("champion").request(
        "DELETE", f"/api/knowledge/{index['id']}/documents/{document_id}"
    )
    assert deleted.status_code == 204
    assert all(
        hit["source"] != "angebot.txt" for hit in await search(kapi, index["id"], "Angebot Müller Preis")
    )
    assert (
        await kapi.as_("champion").request("DELETE", f"/api/knowledge/{index['id']}/documents/{document_id}")
    ).status_code == 404
    # Read through the audit API: the app's database lives on the app's event loop.
    audit = await kapi.as_("admin").get("/api/audit", params={"action": "knowledge.document.deleted"})
    assert [entry["resource_id"] for entry in audit.json()] == [document_id]


async def test_labelled_passages_are_only_found_by_who_may_read_them(kapi: ApiHarness) -> None:
    index = await create_index(kapi, name="personal")
    await upload(
        kapi,
        index["id"],
        [("gehalt.txt", b"Gehaltsband Vertrieb: 55.000 bis 70.000 Euro Bonus")],
        labels="hr-salaries",
    )
    await upload(kapi, index["id"], [("bonus.txt", b"Bonusregeln Vertrieb allgemein: Zielvereinbarung")])
    for user in ("user", "champion"):
        sources = {
            hit["source"] for hit in await search(kapi, index["id"], "Gehalt Bonus Vertrieb", user=user)
        }
        assert sources == {"bonus.txt"}, user
    admin = {
        hit["source"] for hit in await search(kapi, index["id"], "Gehalt Bonus Vertrieb", user="salesadmin")
    }
    assert admin == {"bonus.txt", "gehalt.txt"}
    only_hr = await search(kapi, index["id"], "Gehalt Bonus", user="salesadmin", labels=["hr-salaries"])
    assert [hit["source"] for hit in only_hr] == ["gehalt.txt"]


async def test_upload_needs_multipart_and_files(kapi: ApiHarness) -> None:
    index = await create_index(kapi)
    wrong = await kapi.as_("champion").post(f"/api/knowledge/{index['id']}/documents", json={"files": []})
    assert wrong.status_code == 400 and "multipart/form-data" in wrong.json()["message"]
    empty = await kapi.as_("champion").post(
        f"/api/knowledge/{index['id']}/documents", data={"labels": "x"}, files={}
    )
    assert empty.status_code == 400
    assert (await kapi.as_("champion").get("/api/knowledge/jobs/nope")).status_code == 404
