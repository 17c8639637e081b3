"""API fixtures: the real Litestar app on a fresh database, with the demo people in it.

    api     an `ApiHarness`: `await api.as_("champion").post(...)` sends a request with
            that user's token (users: champion, champion2, board1, board2, user,
            outsider, admin — see PEOPLE)

The LLM is the Messages-API test double from `tests.support.messages_api_double`
(a real HTTP server on 127.0.0.1), reached through the real `HFChatModel`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from runtime.app import create_app
from runtime.db.database import Database
from runtime.settings import Settings
from runtime.users.service import add_user

PASSWORD = "correct-horse-battery"
# name -> (role, workspace)
PEOPLE: dict[str, tuple[str, str | None]] = {
    "champion": ("champion", "sales"),
    "champion2": ("champion", "sales"),
    "board1": ("board", None),
    "board2": ("board", None),
    "user": ("user", "sales"),
    "outsider": ("user", "hr"),
    "hrchampion": ("champion", "hr"),
    "admin": ("admin", None),
    "salesadmin": ("admin", "sales"),
}


@dataclass
class ApiHarness:
    client: AsyncTestClient[Any]
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def runtime(self) -> Any:
        return self.client.app.state.composition

    def as_(self, username: str | None) -> _As:
        return _As(self, username)

    async def login(self, username: str, password: str = PASSWORD) -> str:
        credentials = {"username": username, "password": password}
        response = await self.client.post("/api/auth/login", json=credentials)
        assert response.status_code == 200, response.text
        token = response.json()["token"]
        self.tokens[username] = token
        return token


@dataclass
class _As:
    harness: ApiHarness
    username: str | None

    def _headers(self) -> dict[str, str]:
        if self.username is None:
            return {}
        return {"Authorization": f"Bearer {self.harness.tokens[self.username]}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        return await self.harness.client.request(method, path, headers=headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)


async def seed_people(url: str) -> None:
    db = Database(url)
    async with db.write() as session:
        for name, (role, workspace) in PEOPLE.items():
            await add_user(session, name, PASSWORD, role, workspace)
    await db.dispose()


def api_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        jwt_secret="test-secret-" + "x" * 32,
        sweep_interval_s=0.2,
        **overrides,
    )


@pytest.fixture
async def api(tmp_path: Path, database_url: str, messages_api: Any) -> AsyncIterator[ApiHarness]:
    settings = api_settings(tmp_path, database_url, llm_url=messages_api.url)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:  # lifespan: migrate, start the sweep
        await seed_people(database_url)
        harness = ApiHarness(client, settings)
        for name in PEOPLE:
            await harness.login(name)
        yield harness
