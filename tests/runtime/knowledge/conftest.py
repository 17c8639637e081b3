"""Knowledge test fixtures: the API with a fast fake embedding model and a small file limit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.runtime.knowledge.fakes import HashingModel
from tests.support.api import ApiHarness

MAX_FILE_MB = 1


@pytest.fixture
def fake_embeddings(monkeypatch: pytest.MonkeyPatch) -> HashingModel:
    model = HashingModel()
    monkeypatch.setattr("runtime.knowledge.backends.load_model", lambda name: model)
    monkeypatch.setenv("DIRIGENT_KNOWLEDGE_MAX_FILE_MB", str(MAX_FILE_MB))
    return model


@pytest.fixture
async def kapi(fake_embeddings: HashingModel, api: ApiHarness) -> ApiHarness:
    return api


async def create_index(
    api: ApiHarness, name: str = "angebote", *, user: str = "champion", workspace: str = "sales", **body: Any
) -> dict[str, Any]:
    response = await api.as_(user).post(f"/api/workspaces/{workspace}/knowledge", json={"name": name, **body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def upload(
    api: ApiHarness,
    index_id: str,
    files: list[tuple[str, bytes]],
    *,
    user: str = "champion",
    labels: str | None = None,
) -> dict[str, Any]:
    """Upload and wait until the job is finished; returns the final job."""
    response = await api.as_(user).post(
        f"/api/knowledge/{index_id}/documents",
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
        data={"labels": labels} if labels else None,
    )
    assert response.status_code == 202, response.text
    job = response.json()
    for _ in range(600):  # the app runs on the test client's own loop: poll like a client would
        job = (await api.as_(user).get(f"/api/knowledge/jobs/{job['id']}")).json()
        if job["status"] not in ("queued", "running"):
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"job did not finish: {job}")


async def search(
    api: ApiHarness, index_id: str, query: str, *, user: str = "champion", k: int = 5, **body: Any
) -> list[dict[str, Any]]:
    response = await api.as_(user).post(
        f"/api/knowledge/{index_id}/search", json={"query": query, "k": k, **body}
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]  # type: ignore[no-any-return]
