"""The HTTP client of `http` connections against a local server: each auth kind, a missing
secret, timeouts (retried only when idempotent), the response size limit."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest

from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.connections.errors import ActionNotAllowed, RemoteFailure
from runtime.connections.http import HttpCall, HttpClient
from runtime.connections.kinds import HttpSettings
from tests.runtime.connections.servers import HttpTarget

GUARD = EgressGuard(EgressPolicy.parse("127.0.0.1"))


@pytest.fixture
def target() -> Iterator[HttpTarget]:
    with HttpTarget() as server:
        yield server


def client(target: HttpTarget, secrets: dict[str, str] | None = None, **settings: Any) -> HttpClient:
    config = HttpSettings.model_validate(
        {"base_url": target.url, "allowed_methods": ["GET", "POST", "PUT"], **settings}
    )
    return HttpClient("crm", config, secrets or {}, GUARD)


@pytest.mark.parametrize(
    ("auth", "secrets", "header", "value"),
    [
        ({"type": "bearer"}, {"token": "t0k"}, "authorization", "Bearer t0k"),
        (
            {"type": "basic", "username": "api"},
            {"password": "pw:1"},
            "authorization",
            "Basic " + base64.b64encode(b"api:pw:1").decode(),
        ),
        ({"type": "header", "header": "X-Api-Key"}, {"api_key": "k3y"}, "x-api-key", "k3y"),
    ],
)
async def test_each_auth_kind_puts_its_secret_on_the_wire(
    target: HttpTarget, auth: dict[str, str], secrets: dict[str, str], header: str, value: str
) -> None:
    await client(target, secrets, auth=auth).send(HttpCall("GET", "/x", headers={header: "forged"}))
    assert target.requests[0].headers[header] == value  # a template cannot override the auth


async def test_a_missing_secret_is_named() -> None:
    with HttpTarget() as target:
        with pytest.raises(ActionNotAllowed, match="secret 'token' is not set"):
            await client(target, auth={"type": "bearer"}).send(HttpCall("GET", "/"))
        assert target.requests == []


async def test_timeouts_are_retried_for_idempotent_methods_only(target: HttpTarget) -> None:
    target.route("/slow", delay_s=0.5)
    with pytest.raises(RemoteFailure, match="did not answer in time"):
        await client(target, timeout_s=0.2, retries=2).send(HttpCall("GET", "/slow"))
    assert len(target.requests) == 3
    target.requests.clear()
    with pytest.raises(RemoteFailure, match="did not answer in time"):
        await client(target, timeout_s=0.2, retries=2).send(HttpCall("POST", "/slow", body={}))
    assert len(target.requests) == 1


async def test_a_busy_answer_is_retried_with_backoff_and_the_last_one_returned(target: HttpTarget) -> None:
    """Idempotent calls answered 429/502/503/504 are retried after 0.2 s, 0.4 s, ...; when
    the retries are used up, the last answer is the result (the caller sees the 503)."""
    target.route("/busy", status=503, json_body={"busy": True})
    started = time.monotonic()
    answer = await client(target, retries=2).send(HttpCall("GET", "/busy"))
    waited = time.monotonic() - started
    assert (answer.status, answer.body, answer.attempts) == (503, {"busy": True}, 3)
    assert len(target.requests) == 3 and 0.6 <= waited < 2.0  # 0.2 s + 0.4 s of backoff
    target.requests.clear()
    target.route("/flaky", status=502, times=1)
    target.route("/flaky", json_body={"ok": True})
    answer = await client(target, retries=2).send(HttpCall("PUT", "/flaky", body={}))
    assert (answer.status, answer.body, answer.attempts) == (200, {"ok": True}, 2)
    target.requests.clear()
    target.route("/once", status=502, times=1)
    answer = await client(target, retries=2).send(HttpCall("POST", "/once", body={}))
    assert (answer.status, answer.attempts, len(target.requests)) == (502, 1, 1)  # never retried


async def test_the_size_limit_holds_with_and_without_content_length(target: HttpTarget) -> None:
    target.route("/big", size=10_000)
    with pytest.raises(RemoteFailure, match="more than 100 bytes"):
        await client(target, max_response_bytes=100, retries=3).send(HttpCall("GET", "/big"))
    assert len(target.requests) == 1  # not retried: the answer will not shrink
    answer = await client(target, max_response_bytes=10_000).send(HttpCall("GET", "/big"))
    assert answer.bytes == 10_000


async def test_put_sends_the_idempotency_key_only_when_not_idempotent(target: HttpTarget) -> None:
    await client(target).send(HttpCall("PUT", "/a", body={"a": 1}, idempotency_key="r:n"))
    await client(target).send(HttpCall("POST", "/a", body={"a": 1}, idempotency_key="r:n"))
    assert "idempotency-key" not in target.requests[0].headers
    assert target.requests[1].headers["idempotency-key"] == "r:n"
    assert target.requests[1].json() == {"a": 1}


@pytest.mark.parametrize(
    "header", ["Host", "content-length", "Transfer-Encoding", "Idempotency-Key", "X-Dirigent-Signature"]
)
async def test_flows_cannot_set_routing_framing_or_dirigents_own_headers(
    target: HttpTarget, header: str
) -> None:
    with pytest.raises(ActionNotAllowed, match="may not set the headers"):
        await client(target).send(HttpCall("GET", "/", headers={header: "169.254.169.254"}))
    assert target.requests == []
