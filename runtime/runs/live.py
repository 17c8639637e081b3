"""The live version of an assistant, looked up for every invocation.

One indexed query (the flow by slug joined with its live version's row, without the
document) through `Database.rows`, so on SQLite it stays on the event loop's thread.
Nothing that can change is remembered: publishing, rolling back or retiring — in this
process or another — shows at the next invocation. Only a version's document is kept
(an LRU by version id): a stored version's document never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from sqlalchemy import bindparam, select

from runtime.db.database import Database
from runtime.db.models import Flow, FlowVersion, Workspace
from runtime.policy import resources

_LIVE = (
    select(
        Flow.id,
        Flow.workspace_id,
        FlowVersion.id,
        FlowVersion.number,
        FlowVersion.content_hash,
    )
    .outerjoin(FlowVersion, FlowVersion.id == Flow.live_version_id)
    .where(Flow.slug == bindparam("slug"))
)
_DOCUMENT = select(FlowVersion.document).where(FlowVersion.id == bindparam("version_id"))


@dataclass(frozen=True, slots=True)
class LiveVersion:
    """What a run needs of the live version (an ORM instance costs more to build)."""

    id: str
    flow_id: str
    number: int
    content_hash: str
    document: dict[str, Any]


@dataclass(frozen=True)
class LiveAssistant:
    flow_id: str
    workspace_id: str
    # The live version, or None when nothing is live.
    version: LiveVersion | None
    view: resources.Assistant


class LiveAssistants:
    def __init__(self, db: Database, documents_kept: int = 256) -> None:
        self.db = db
        self.documents_kept = documents_kept
        self._documents: LRUCache[str, dict[str, Any]] = LRUCache(maxsize=documents_kept)

    async def find(self, slug: str) -> LiveAssistant | None:
        """The assistant `slug` as the policy sees it, with its live version; None if no
        flow has that slug."""
        rows = await self.db.rows(_LIVE, {"slug": slug})
        if not rows:
            return None
        flow_id, workspace_id, version_id, number, content_hash = rows[0]
        version = None
        audience: list[str] = []
        if version_id is not None:
            document = await self._document(version_id)
            version = LiveVersion(version_id, flow_id, number, content_hash, document)
            audience = document.get("audience") or []
        view = resources.Assistant(
            flow_id=flow_id,
            slug=slug,
            workspace_id=workspace_id,
            audience_workspace_ids=await self._workspace_ids(audience) if audience else frozenset(),
            is_live=version is not None,
        )
        return LiveAssistant(flow_id, workspace_id, version, view)

    async def _document(self, version_id: str) -> dict[str, Any]:
        document = self._documents.get(version_id)
        if document is not None:
            return document
        [(document,)] = await self.db.rows(_DOCUMENT, {"version_id": version_id})
        self._documents[version_id] = document
        return document

    async def _workspace_ids(self, slugs: list[str]) -> frozenset[str]:
        """Ids of the audience's workspaces (read each time: one may be created later)."""
        async with self.db.read() as session:
            rows = await session.execute(select(Workspace.id).where(Workspace.slug.in_(slugs)))
            return frozenset(workspace_id for (workspace_id,) in rows)
