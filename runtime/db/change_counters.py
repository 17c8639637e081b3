"""Change counters: how every process learns that something it keeps in memory changed.

A process that caches what admins configure (the model endpoints: one HTTP client per
endpoint) cannot be told by the process that served the change. Instead, the change
bumps a counter in the same transaction (`bump`), and each process's background sweep
reads the counter (`read`, one primary-key lookup) and reloads when it moved. So every
process sees a change within one sweep interval, and never a counter without its change.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.models import ChangeCounter

MODEL_ENDPOINTS = "model_endpoints"


async def bump(session: AsyncSession, name: str) -> None:
    """Count a change of `name`, in the caller's transaction (it commits with the change)."""
    changed = await session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.name == name)
        .values(value=ChangeCounter.value + 1)
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        # The migration creates the known counters; a new one starts with its first change.
        session.add(ChangeCounter(name=name, value=1))
        await session.flush()


async def read(session: AsyncSession, name: str) -> int:
    """The counter's value (0 before its first change)."""
    found = await session.execute(select(ChangeCounter.value).where(ChangeCounter.name == name))
    return int(found.scalar_one_or_none() or 0)
