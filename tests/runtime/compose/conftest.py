"""Fixtures of the agent tests: the connection tests' module-scoped app (its LLM is the
Messages API double, its egress guard allows 127.0.0.1 with `allow_loopback`), the local
HTTP server, and a fast fake embedding model for knowledge indexes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runtime.connections.conftest import allow_loopback, http, target
from tests.runtime.knowledge.fakes import HashingModel
from tests.support.scenario import llm_fixture, sc_fixture, shared_app_fixture

__all__ = ["allow_loopback", "http", "llm_fixture", "sc_fixture", "shared_app_fixture", "target"]


@pytest.fixture(scope="module", autouse=True)
def fake_embeddings() -> Iterator[HashingModel]:
    model = HashingModel()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("runtime.knowledge.backends.load_model", lambda name: model)
        yield model
