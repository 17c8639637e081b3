"""`runtime.users.workspaces`: the one lookup of a workspace by its slug."""

from __future__ import annotations

import pytest

from runtime.db.database import Database
from runtime.errors import NotFound
from runtime.users.service import get_or_create_workspace
from runtime.users.workspaces import find_workspace, workspace_by_slug


async def test_a_workspace_is_found_by_its_slug_and_a_missing_one_is_the_apis_404(db: Database) -> None:
    async with db.write() as session:
        created = await get_or_create_workspace(session, "vertrieb", "Vertrieb")
    async with db.read() as session:
        assert (await workspace_by_slug(session, "vertrieb")).id == created.id
        assert (await find_workspace(session, "vertrieb")) is not None
        assert await find_workspace(session, "einkauf") is None
        with pytest.raises(NotFound) as caught:
            await workspace_by_slug(session, "einkauf")
    assert caught.value.as_json() == {
        "error": "not_found",
        "message": "workspace not found",
        "resource": "workspace",
    }
