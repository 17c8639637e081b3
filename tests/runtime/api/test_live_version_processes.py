"""Which version of an assistant is live, across two real runtime processes on one database.

Each process keeps the documents of versions it ran (`runtime.runs.live.LiveAssistants`),
but never which version is live. Publishing another version or retiring the live one at one
process shows at the other's very next invocation (SQLite here, PostgreSQL when the suite
runs with `DIRIGENT_TEST_DATABASE_URL`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from runtime.db.database import Database
from runtime.db.migrate import upgrade
from runtime.db.models import Flow, FlowVersion, Workspace
from runtime.engine.validation import validate_document
from runtime.users.service import add_user
from tests.support.runtime_processes import RuntimeProcess
from tests.support.scenario import template_flow

pytestmark = pytest.mark.slow
PASSWORD = "correct-horse-battery"
SLUG = "gruss"


async def _seed(url: str) -> str:
    """Version 1 live, version 2 approved; the flow's id."""
    db = Database(url)
    try:
        await upgrade(db.write_engine)
        async with db.write() as session:
            champion = await add_user(session, "champion", PASSWORD, "champion", "sales")
            workspace_id = (
                await session.execute(select(Workspace.id).where(Workspace.slug == "sales"))
            ).scalar_one()
            flow = Flow(workspace_id=workspace_id, name="Gruss", slug=SLUG, created_by=champion.id)
            session.add(flow)
            await session.flush()
            for number, state in ((1, "published"), (2, "approved")):
                report = validate_document(template_flow(f"Version {number}: {{{{ inputs.name }}}}"))
                assert report.valid and report.document is not None and report.content_hash
                version = FlowVersion(
                    flow_id=flow.id,
                    number=number,
                    content_hash=report.content_hash,
                    document=report.document.as_json(),
                    state=state,
                    author_id=champion.id,
                )
                session.add(version)
                await session.flush()
                if number == 1:
                    flow.live_version_id = version.id
            return flow.id
    finally:
        await db.dispose()


@pytest.fixture
def stage(database_url: str, tmp_path: Path) -> Iterator[tuple[str, RuntimeProcess, RuntimeProcess]]:
    flow_id = asyncio.run(_seed(database_url))
    env = {
        "DIRIGENT_DATABASE_URL": database_url,
        "DIRIGENT_DATA_DIR": str(tmp_path / "data"),
        "DIRIGENT_JWT_SECRET": "live-versions-" + "v" * 40,
    }
    with RuntimeProcess(env) as first, RuntimeProcess(env) as second:
        yield flow_id, first, second


def test_publishing_and_retiring_at_one_process_show_at_the_others_next_invocation(
    stage: tuple[str, RuntimeProcess, RuntimeProcess],
) -> None:
    flow_id, a, b = stage
    with httpx.Client(timeout=60) as client:
        login = client.post(f"{a.url}/api/auth/login", json={"username": "champion", "password": PASSWORD})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['token']}"}

        def invoke(runtime: RuntimeProcess) -> httpx.Response:
            return client.post(
                f"{runtime.url}/api/assistants/{SLUG}/runs",
                json={"inputs": {"name": "Ada"}, "wait_s": 10},
                headers=auth,
            )

        for runtime in (a, b):  # both have run (and kept the document of) version 1
            answer = invoke(runtime)
            assert answer.status_code == 200 and answer.json()["outputs"]["text"] == "Version 1: Ada", (
                answer.text
            )

        published = client.post(f"{a.url}/api/flows/{flow_id}/versions/2/publish", headers=auth)
        assert published.status_code == 200, published.text
        answer = invoke(b)
        assert answer.status_code == 200 and answer.json()["outputs"]["text"] == "Version 2: Ada", answer.text

        retired = client.post(f"{a.url}/api/flows/{flow_id}/versions/2/retire", headers=auth)
        assert retired.status_code == 200, retired.text
        refused = invoke(b)
        assert refused.status_code in (404, 409), refused.text
        assert "Version" not in refused.text
