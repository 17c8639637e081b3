"""A parent waiting for its sub-run survives the death of its process: nothing of the
wait is in memory. Process 1 starts the parent, whose sub-run waits for approval, and is
killed; the task is decided; process 2 (a restarted runtime) resumes the sub-run and
then the parent, which ends with the sub-run's outputs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from runtime.approvals.service import decide
from runtime.db.database import Database
from runtime.db.models import ApprovalTask, Flow, FlowVersion, Membership, Run, User
from runtime.engine.validation import validate_document
from runtime.policy.authorizer import Authorizer
from runtime.users.service import get_or_create_workspace, load_actor
from tests.runtime.compose.flows import assistant_node, parent_flow
from tests.support.scenario import approval_flow

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
KEY = Fernet.generate_key().decode()


async def publish(
    db: Database, workspace_id: str, author_id: str, slug: str, document: dict[str, Any]
) -> str:
    report = validate_document(document)
    assert report.valid and report.document is not None and report.content_hash, report.errors
    async with db.write() as session:
        flow = Flow(workspace_id=workspace_id, name=slug, slug=slug, created_by=author_id)
        session.add(flow)
        await session.flush()
        version = FlowVersion(
            flow_id=flow.id,
            number=1,
            content_hash=report.content_hash,
            document=report.document.as_json(),
            state="published",
            author_id=author_id,
        )
        session.add(version)
        await session.flush()
        flow.live_version_id = version.id
        return version.id


async def test_a_parent_waiting_for_its_sub_run_is_finished_by_a_restarted_runtime(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    async with db.write() as session:
        workspace = await get_or_create_workspace(session, "sales")
        actors = {}
        for name in ("author", "champion2"):
            user = User(username=name, display_name=name, password_hash="!", global_roles=[])
            session.add(user)
            await session.flush()
            session.add(Membership(user_id=user.id, workspace_id=workspace.id, role="champion"))
            await session.flush()
            actors[name] = await load_actor(session, user.id)
    author = actors["author"]
    assert author is not None
    await publish(db, workspace.id, author.id, "freigabe", approval_flow())
    node = assistant_node("freigabe", {"customer": "{{ inputs.name }}"}, outputs_expected=["decision"])
    parent_version = await publish(
        db, workspace.id, author.id, "eltern", parent_flow(node, {"decision": "{{ sub.decision }}"})
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("DIRIGENT_")}
    env.update(
        DIRIGENT_DATABASE_URL=database_url,
        DIRIGENT_DATA_DIR=str(tmp_path / "worker"),
        DIRIGENT_SECRET_KEY=KEY,
        DIRIGENT_TEST_WORKSPACE_ID=workspace.id,
        DIRIGENT_TEST_INPUTS=json.dumps({"name": "Müller GmbH"}),
        DIRIGENT_SWEEP_INTERVAL_S="3600",
        PYTHONPATH=str(ROOT),
    )

    async def spawn(action: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.runtime.compose.worker", action, cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip

    first = await spawn(f"start:{parent_version}:{author.id}")
    assert first.stdout is not None and first.stderr is not None
    line = await asyncio.wait_for(first.stdout.readline(), 60)
    assert line, (await first.stderr.read()).decode()[-3000:]
    parent_id = json.loads(line)["run_id"]
    first.send_signal(signal.SIGKILL)
    await first.wait()

    async with db.write() as session:
        parent = await session.get(Run, parent_id)
        assert parent is not None and parent.status == "waiting"
        [sub] = (await session.execute(select(Run).where(Run.parent_run_id == parent_id))).scalars().all()
        assert sub.status == "waiting" and sub.call_depth == 1
        [task] = (await session.execute(select(ApprovalTask).where(ApprovalTask.run_id == sub.id))).scalars()
        assert (
            await session.execute(select(ApprovalTask).where(ApprovalTask.run_id == parent_id))
        ).first() is None
        decider = actors["champion2"]
        assert decider is not None
    async with db.write() as session:
        await decide(session, Authorizer(), decider, task.id, "approve", "ja")

    second = await spawn(f"finish:{parent_id}")
    stdout, stderr = await asyncio.wait_for(second.communicate(), 90)
    assert second.returncode == 0, stderr.decode()[-3000:]
    assert json.loads(stdout.decode().splitlines()[-1]) == {"action": "finish", "status": "succeeded"}
    async with db.read() as session:
        parent = await session.get(Run, parent_id)
        assert parent is not None and parent.outputs == {"decision": "approved"}
