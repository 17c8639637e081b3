"""Fixtures of the connection tests: a module-scoped app (see tests.support.scenario) whose
egress guard allows 127.0.0.1, where the local HTTP and SMTP servers listen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.connections.service import ConnectionService
from tests.runtime.connections.servers import HttpTarget, SmtpTarget
from tests.support.scenario import Scenario, expect, llm_fixture, sc_fixture, shared_app_fixture

__all__ = ["llm_fixture", "sc_fixture", "shared_app_fixture"]

SECRET = "tok-7f3a9c2e-SEHR-GEHEIM-51d0"


def service_of(sc: Scenario) -> ConnectionService:
    service = sc.api.runtime.services["connections"]
    assert isinstance(service, ConnectionService)
    return service


@pytest.fixture
def allow_loopback(sc: Scenario) -> Iterator[ConnectionService]:
    service = service_of(sc)
    before = service.guard
    service.guard = EgressGuard(EgressPolicy.parse("127.0.0.1"))
    yield service
    service.guard = before


@pytest.fixture(scope="module")
def target() -> Iterator[HttpTarget]:
    with HttpTarget() as server:
        yield server


@pytest.fixture
def http(target: HttpTarget) -> HttpTarget:
    target.requests.clear()
    target.routes.clear()
    return target


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpTarget]:
    with SmtpTarget(username="mailer", password="smtp-pw-" + SECRET) as server:
        yield server


@pytest.fixture
def smtp(smtp_server: SmtpTarget) -> SmtpTarget:
    smtp_server.messages.clear()
    smtp_server.envelopes.clear()
    return smtp_server


async def create_connection(
    sc: Scenario,
    name: str,
    kind: str,
    settings: dict[str, Any],
    secrets: dict[str, Any] | None = None,
    *,
    by: str = "admin",
    workspace: str = "sales",
    status: int = 201,
    test_target: bool | dict[str, Any] = False,
) -> Any:
    """`test_target=True` gives the connection a test target equal to it (the local test
    servers), so that the editor's test runs may call it; a dict is the test target."""
    body: dict[str, Any] = {"name": name, "kind": kind, "settings": settings, "secrets": secrets or {}}
    if test_target is True:
        body["test_target"] = {"settings": settings, "secrets": secrets or {}}
    elif isinstance(test_target, dict):
        body["test_target"] = test_target
    return expect(await sc.as_(by).post(f"/api/workspaces/{workspace}/connections", json=body), status)
