"""Pytest fixtures shared across test packages (loaded by `pytest_plugins` in conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.messages_api_double import MessagesApiDouble


@pytest.fixture
def messages_api() -> Iterator[MessagesApiDouble]:
    """A started Messages API test double (stands in for TGI); stopped after the test."""
    with MessagesApiDouble() as double:
        yield double
