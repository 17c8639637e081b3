"""The run writer's batches: one write set that is refused (its admission guard raises) or
that brings writes of its own fails alone; the others of its batch are committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import Event, list_entries, verify
from runtime.db.database import Database
from runtime.db.models import FlowVersion, Run, RunStep, new_id, utcnow
from runtime.errors import Conflict
from runtime.runs.admission import Admission, Guard
from runtime.runs.writer import RunWriter, WriteSet
from tests.runtime.runs.test_costly_steps import Place
from tests.support.flows import chain, flow, template


@pytest.fixture
async def writer(db: Database) -> AsyncIterator[RunWriter]:
    runs = RunWriter(db)
    yield runs
    await runs.stop()


async def new_run(place: Place, version_id: str) -> dict[str, Any]:
    async with place.db.read() as session:
        version = await session.get(FlowVersion, version_id)
    assert version is not None
    now = utcnow()
    return {
        "id": new_id(),
        "flow_id": version.flow_id,
        "version_id": version.id,
        "version_number": 1,
        "content_hash": version.content_hash,
        "workspace_id": place.workspace_id,
        "started_by": None,
        "status": "running",
        "is_test": False,
        "inputs": {"name": "Ada"},
        "worker_id": "test",
        "heartbeat_at": now,
        "started_at": now,
        "created_at": now,
    }


def started(run_id: str) -> Event:
    return Event(actor=None, action="run.started", resource_type="run", resource_id=run_id)


async def test_a_refused_or_failing_write_set_fails_alone(
    db: Database, database_url: str, tmp_path: Path, writer: RunWriter
) -> None:
    place = await Place(db, database_url, tmp_path).prepare()
    version_id = await place.version(flow([template("greet", "Hallo")], chain("start", "greet")), "batch")
    plain, refused, guarded, with_extra, broken = [await new_run(place, version_id) for _ in range(5)]

    def refuse(run_id: str, dialect: str) -> Guard:
        yield update(Run).where(Run.id == run_id).values(total_tokens=1), {}
        raise Conflict("refused on purpose", code="refused")

    def note(run_id: str, dialect: str) -> Guard:
        yield update(Run).where(Run.id == run_id).values(total_tokens=5), {}

    async def extra(session: AsyncSession) -> None:
        await session.execute(update(Run).where(Run.id == with_extra["id"]).values(total_tokens=7))

    async def broken_extra(session: AsyncSession) -> None:
        raise RuntimeError("the extra write failed on purpose")

    sets = [
        WriteSet(plain["id"], insert_run=plain, events=[started(plain["id"])]),
        WriteSet(
            refused["id"], insert_run=refused, events=[started(refused["id"])], admission=Admission(refuse)
        ),
        WriteSet(
            guarded["id"], insert_run=guarded, events=[started(guarded["id"])], admission=Admission(note)
        ),
        WriteSet(with_extra["id"], insert_run=with_extra, extra=extra),
        WriteSet(broken["id"], insert_run=broken, extra=broken_extra),
    ]
    # Submitted back to back, they reach the writer as one batch.
    results = await asyncio.gather(*(writer.submit(item) for item in sets), return_exceptions=True)

    assert results[0] is None and results[2] is None and results[3] is None, results
    assert isinstance(results[1], Conflict) and results[1].code == "refused"
    assert isinstance(results[4], RuntimeError)
    async with db.read() as session:
        rows = {
            run.id: run.total_tokens
            for run in (await session.execute(select(Run).where(Run.flow_id == plain["flow_id"]))).scalars()
        }
        chain_check = await verify(session)
        entries = await list_entries(session, action="run.started")
    assert rows == {plain["id"]: 0, guarded["id"]: 5, with_extra["id"]: 7}
    assert chain_check.ok
    assert {entry.resource_id for entry in entries} == {plain["id"], guarded["id"]}  # not the refused run's


@pytest.mark.parametrize("together", [False, True])
async def test_a_process_that_lost_a_run_cannot_overwrite_its_state(
    db: Database, database_url: str, tmp_path: Path, together: bool
) -> None:
    """A write of a process whose claim another process took over (its heartbeats came too
    late) arrives after the new owner finished the run: the run and its steps keep the new
    owner's state. Before, the stale `waiting` won and the run waited for ever (2 of 1,000
    runs in tests/runtime/test_many_processes.py). Alone (SQLite's quick path) or beside
    another run's write in one batch."""
    place = await Place(db, database_url, tmp_path).prepare()
    version_id = await place.version(flow([template("greet", "Hallo")], chain("start", "greet")), "lost")
    lost, mine = await new_run(place, version_id), await new_run(place, version_id)
    lost["worker_id"], mine["worker_id"] = "new-owner", "stale"
    step = {
        "id": new_id(),
        "run_id": lost["id"],
        "node_id": "greet",
        "node_type": "template",
        "status": "succeeded",
    }
    setup = RunWriter(db)
    await setup.submit(WriteSet(lost["id"], insert_run={**lost, "status": "succeeded"}, insert_steps=[step]))
    await setup.submit(WriteSet(mine["id"], insert_run=mine))
    await setup.stop()

    stale = RunWriter(db, owner="stale")
    writes = [
        stale.submit(
            WriteSet(
                lost["id"],
                update_run={"status": "waiting"},
                update_steps=[{"node_id": "greet", "status": "waiting"}],
            )
        ),
    ]
    if together:
        writes.append(stale.submit(WriteSet(mine["id"], update_run={"total_tokens": 3})))
    await asyncio.gather(*writes)
    await stale.stop()
    async with db.read() as session:
        run = await session.get(Run, lost["id"])
        other = await session.get(Run, mine["id"])
        step_status = (
            await session.execute(select(RunStep.status).where(RunStep.run_id == lost["id"]))
        ).scalar_one()
    assert run is not None and (run.status, run.worker_id) == ("succeeded", "new-owner")
    assert step_status == "succeeded"
    assert other is not None and other.total_tokens == (3 if together else 0)
