"""Model endpoints pass the egress guard, like connections: an admin cannot register, and an
llm node cannot call, a loopback, private or metadata address unless the allow list says
so. The operator's own `DIRIGENT_LLM_URL` (here: the double on 127.0.0.1) is exempt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.llm.client import HFChatModel
from tests.support.messages_api_double import MessagesApiDouble
from tests.support.scenario import (  # noqa: F401 (fixtures sc, llm, shared_app)
    Scenario,
    expect,
    llm_fixture,
    qa_flow,
    sc_fixture,
    shared_app_fixture,
    unique_slug,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture
def other_server() -> Iterator[MessagesApiDouble]:
    """Another model server on 127.0.0.1 (not the operator's): what an admin might register."""
    with MessagesApiDouble() as double:
        double.reply("Antwort vom anderen Server.")
        yield double


def chat_model(sc: Scenario) -> HFChatModel:
    llm = sc.api.runtime.services["llm"]
    assert isinstance(llm, HFChatModel)
    return llm


def endpoint_names(sc: Scenario) -> Any:
    return sc.in_app(lambda session: _names(session))


async def _names(session: Any) -> list[str]:
    from sqlalchemy import select

    from runtime.db.models import ModelEndpoint

    return list((await session.execute(select(ModelEndpoint.name))).scalars())


async def test_internal_addresses_are_refused_when_registered(
    sc: Scenario, other_server: MessagesApiDouble
) -> None:
    assert sc.api.settings.egress_allow == ""  # nothing allowed beyond public addresses
    port = other_server.url.rsplit(":", 1)[1]
    for base_url in (
        other_server.url,  # http://127.0.0.1:<port>
        f"http://localhost:{port}",
        f"http://[::1]:{port}",
        "http://169.254.169.254",
        "http://10.20.0.5:8080",
    ):
        name = unique_slug("intern")
        answer = await sc.as_("admin").post("/api/model-endpoints", json={"name": name, "base_url": base_url})
        body = expect(answer, 400)
        assert body["error"] == "endpoint_not_allowed" and "DIRIGENT_EGRESS_ALLOW" in body["message"], (
            base_url
        )
        assert name not in endpoint_names(sc)
    assert other_server.requests == []


async def test_an_allowed_internal_endpoint_works_and_is_refused_again_once_no_longer_allowed(
    sc: Scenario, other_server: MessagesApiDouble
) -> None:
    model = chat_model(sc)
    name = unique_slug("gpu")
    before = model.guard
    model.guard = EgressGuard(EgressPolicy.parse("127.0.0.1"))  # DIRIGENT_EGRESS_ALLOW=127.0.0.1
    try:
        expect(
            await sc.as_("admin").post(
                "/api/model-endpoints", json={"name": name, "base_url": other_server.url}
            ),
            201,
        )
        document = qa_flow()
        document["nodes"][1]["config"]["model"] = name
        flow = await sc.live(document)
        run = await sc.invoke(flow["slug"], {"question": "Hallo?"})
        assert run["status"] == "succeeded" and run["outputs"]["answer"] == "Antwort vom anderen Server."
        assert len(other_server.requests) == 1
    finally:
        model.guard = before

    # The allow list no longer names loopback: every call is checked, nothing is sent.
    run = await sc.invoke(flow["slug"], {"question": "Hallo?"})
    assert run["status"] == "failed" and run["error"]["node"] == "answer"
    assert run["error"]["kind"] == "EgressDenied"
    assert name in run["error"]["message"] and "not allowed" in run["error"]["message"]
    assert len(other_server.requests) == 1


async def test_the_operators_own_llm_url_needs_no_allow_list(sc: Scenario, llm: MessagesApiDouble) -> None:
    """DIRIGENT_LLM_URL is on 127.0.0.1 here; the operator chose it, as they choose the list."""
    assert sc.api.settings.llm_url == llm.url and sc.api.settings.egress_allow == ""
    flow = await sc.live(qa_flow())
    run = await sc.invoke(flow["slug"], {"question": "Hallo?"})
    assert run["status"] == "succeeded" and llm.requests
    # An admin may register that same server under another name.
    name = unique_slug("default-too")
    expect(await sc.as_("admin").post("/api/model-endpoints", json={"name": name, "base_url": llm.url}), 201)
