"""The assistant and workspace slugs a run's metrics are labelled with, by flow id.

A process-local cache, and still correct across processes: a flow's id, its slug and its
workspace never change once created (nothing in the runtime renames a slug), so an entry
can never go stale. It is bounded (`max_entries`, then it starts over) and costs one
query per flow and process, on the first run of that flow that ends here.
"""

from __future__ import annotations

from sqlalchemy import select

from runtime.db.database import Database
from runtime.db.models import Flow, Workspace

UNKNOWN = "unknown"


class RunLabels:
    def __init__(self, db: Database, max_entries: int = 10_000) -> None:
        self.db = db
        self.max_entries = max_entries
        self._slugs: dict[str, tuple[str, str]] = {}

    async def of(self, flow_id: str) -> tuple[str, str]:
        """(assistant slug, workspace slug) of the flow; ("unknown", "unknown") if it is gone."""
        slugs = self._slugs.get(flow_id)
        if slugs is not None:
            return slugs
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(Flow.slug, Workspace.slug)
                    .join(Workspace, Workspace.id == Flow.workspace_id)
                    .where(Flow.id == flow_id)
                )
            ).first()
        if row is None:
            return UNKNOWN, UNKNOWN
        if len(self._slugs) >= self.max_entries:
            self._slugs.clear()
        slugs = self._slugs[flow_id] = (row[0], row[1])
        return slugs
