"""`GET /api/flows/{id}/versions/{n}/connections`: which connections and actions a version's
connector nodes use, whether each exists, and which are missing (the board approves these too).

It lives with the flows, not the connections: it reads a version (`runtime.flows.service`),
and the flows slice builds on the connections slice, not the other way round.
"""

from __future__ import annotations

from runtime.connections.responses import ConnectionUseOut, VersionConnectionsOut
from runtime.connections.service import ConnectionService
from runtime.db.database import Database
from runtime.flows.service import get_version
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor


class VersionConnections:
    """The connections versions use, for whoever may read the version."""

    def __init__(self, db: Database, authz: Authorizer, connections: ConnectionService) -> None:
        self.db = db
        self.authz = authz
        self.connections = connections

    async def of(self, actor: Actor, flow_id: str, number: int) -> VersionConnectionsOut:
        async with self.db.read() as session:
            flow, version = await get_version(session, self.authz, actor, flow_id, number)
            workspace_id, document, content_hash = flow.workspace_id, version.document, version.content_hash
        used = await self.connections.used_by(workspace_id, document)
        return VersionConnectionsOut(
            flow_id=flow_id,
            version=number,
            content_hash=content_hash,
            uses=[ConnectionUseOut.model_validate(entry) for entry in used],
            missing=sorted({entry["connection"] for entry in used if not entry["exists"]}),
        )
