"""What the API tells strangers, and how its answers protect browsers: slugs that do not
reveal other workspaces, /health without details, security headers on every answer, and
the API browser served without a CDN."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from runtime.app import create_app
from tests.support.api import api_settings
from tests.support.scenario import (  # noqa: F401 (fixtures sc, shared_app)
    Scenario,
    expect,
    sc_fixture,
    shared_app_fixture,
    template_flow,
    unique_slug,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


# --------------------------------------------------------------------------- slugs
async def create_raw(sc: Scenario, slug: str, *, by: str, workspace: str) -> httpx.Response:
    return await sc.as_(by).post(
        f"/api/workspaces/{workspace}/flows", json={"name": "Gruß", "slug": slug, "document": template_flow()}
    )


async def test_a_slug_taken_elsewhere_answers_exactly_like_one_taken_in_ones_own_workspace(
    sc: Scenario,
) -> None:
    own, foreign = unique_slug("eigen"), unique_slug("fremd")
    expect(await create_raw(sc, own, by="champion", workspace="sales"), 201)
    expect(await create_raw(sc, foreign, by="hrchampion", workspace="hr"), 201)  # champion cannot see hr

    answers = [
        await create_raw(sc, own, by="champion", workspace="sales"),
        await create_raw(sc, foreign, by="champion", workspace="sales"),
    ]
    bodies = [answer.json() for answer in answers]
    assert [answer.status_code for answer in answers] == [409, 409]
    assert [body["error"] for body in bodies] == ["slug_unavailable", "slug_unavailable"]
    assert bodies[0]["message"].replace(own, "SLUG") == bodies[1]["message"].replace(foreign, "SLUG")
    assert set(bodies[0]) == set(bodies[1]) == {"error", "message"}
    for body in bodies:  # nothing about whether, where or whose
        assert not re.search(r"\b(hr|sales|workspace|exists|another flow|already)\b", body["message"])


# --------------------------------------------------------------------------- /health
async def test_health_says_only_ok_without_an_admins_token(sc: Scenario) -> None:
    anonymous = await sc.api.client.get("/health")
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
    for name in ("user", "board1", "salesadmin"):
        assert expect(await sc.as_(name).get("/health"), 200) == {"status": "ok"}, name
    forged = await sc.api.client.get("/health", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 200 and forged.json() == {"status": "ok"}

    details = expect(await sc.as_("admin").get("/health"), 200)
    assert details["status"] == "ok" and details["database"] in ("sqlite", "postgresql")
    assert details["worker"] == sc.api.runtime.runs.worker_id


# --------------------------------------------------------------------------- headers
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


async def test_every_answer_carries_the_security_headers(sc: Scenario) -> None:
    answers = {
        "ok": await sc.as_("user").get("/api/me"),
        "created": await create_raw(sc, unique_slug(), by="champion", workspace="sales"),
        "unauthorized": await sc.api.client.get("/api/me"),
        "forbidden": await sc.as_("user").post("/api/workspaces", json={"slug": "x"}),
        "no such route": await sc.api.client.get("/api/no-such-thing"),
        "bad json": await sc.api.client.post(
            "/api/auth/login", content=b"{", headers={"content-type": "application/json"}
        ),
        "health": await sc.api.client.get("/health"),
        "schema": await sc.api.client.get("/schema/openapi.json"),
    }
    for name, answer in answers.items():
        for header, value in SECURITY_HEADERS.items():
            assert answer.headers.get(header) == value, (name, header, answer.headers)
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, (name, policy)
        assert "strict-transport-security" not in answer.headers, name  # not configured here
    # Answers with personal data are not kept by browsers or proxies.
    assert answers["ok"].headers["cache-control"] == "no-store"
    assert answers["created"].headers["cache-control"] == "no-store"


async def test_hsts_only_when_configured_behind_tls(tmp_path: Path, database_url: str) -> None:
    settings = api_settings(tmp_path, database_url, hsts_max_age_s=31536000)
    async with AsyncTestClient(app=create_app(settings)) as client:
        for path in ("/health", "/api/no-such-thing", "/schema/swagger"):
            answer = await client.get(path)
            assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains", path


# --------------------------------------------------------------------------- the API browser
def references(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)


@pytest.mark.parametrize("path", ["/schema/swagger", "/schema"])
async def test_swagger_ui_comes_from_the_runtime_itself(sc: Scenario, path: str) -> None:
    page = await sc.api.client.get(path)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    found = references(page.text)
    assert {"/schema/static/swagger-ui-bundle.js", "/schema/static/swagger-ui.css"} <= set(found)
    for reference in found:
        assert reference.startswith("/") and not reference.startswith("//"), reference  # no other host
        asset = await sc.api.client.get(reference)
        assert asset.status_code == 200 and asset.content, reference
    assert "http://" not in page.text and "https://" not in page.text
    # No inline script: every <script> loads a file, and the policy allows only this origin's.
    assert all(
        attributes.strip().startswith("src=") for attributes in re.findall(r"<script([^>]*)>", page.text)
    )
    policy = page.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]+)", policy)
    assert script_src is not None and script_src.group(1).strip() == "'self'"
    assert "frame-ancestors 'none'" in policy
    # The page's description is this runtime's.
    spec_url = re.search(r'data-spec-url="([^"]+)"', page.text)
    assert spec_url is not None
    assert expect(await sc.api.client.get(spec_url.group(1)), 200)["info"]["title"] == "Dirigent runtime"


async def test_no_other_api_browser_loads_from_a_cdn(sc: Scenario) -> None:
    for path in ("/schema/redoc", "/schema/elements", "/schema/rapidoc", "/schema/scalar"):
        answer: Any = await sc.api.client.get(path)
        assert answer.status_code == 404 or "cdn" not in answer.text.lower(), path
