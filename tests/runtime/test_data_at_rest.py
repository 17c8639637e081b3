"""Data at rest: the data dir 0700 and every file in it 0600 (database, WAL, SHM, keys,
index files, uploads), whatever the umask; an older install's wider modes are narrowed;
the Fernet key can live outside the data dir (DIRIGENT_SECRET_KEY_FILE)."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from litestar.testing import AsyncTestClient

from runtime.app import create_app
from runtime.connections.secrets import SecretBox, load_key
from runtime.db.database import Database
from runtime.db.migrate import upgrade
from runtime.settings import Settings
from runtime.users.service import add_user
from tests.runtime.knowledge.fakes import HashingModel
from tests.support.runtime_processes import RuntimeProcess

PASSWORD = "correct-horse-battery"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual 022, under which new files are 0644 unless made otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    """Permission bits of `root` and of everything below it, by path relative to `root`."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def wider_than_owner(root: Path) -> dict[str, str]:
    """Everything below `root` that another user could read, write or enter."""
    return {name: oct(mode) for name, mode in modes(root).items() if mode & 0o077}


async def _seed(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db.write_engine)
        async with db.write() as session:
            await add_user(session, "champion", PASSWORD, "champion", "sales")
    finally:
        await db.dispose()


async def test_the_runtime_writes_nothing_another_user_can_read(
    tmp_path: Path, open_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runtime.knowledge.backends.load_model", lambda name: HashingModel())
    data = tmp_path / "data"
    settings = Settings(data_dir=data)  # SQLite in the data dir, keys made there
    async with AsyncTestClient(app=create_app(settings)) as client:
        await _seed(settings.resolved_database_url())
        login = await client.post("/api/auth/login", json={"username": "champion", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        index = (
            await client.post("/api/workspaces/sales/knowledge", json={"name": "akten"}, headers=headers)
        ).json()
        upload = await client.post(
            f"/api/knowledge/{index['id']}/documents",
            files=[
                ("files", ("vertrag.txt", "Vertrag mit der Müller GmbH, vertraulich.".encode(), "text/plain"))
            ],
            headers=headers,
        )
        assert upload.status_code == 202, upload.text
        job = upload.json()
        for _ in range(600):
            job = (await client.get(f"/api/knowledge/jobs/{job['id']}", headers=headers)).json()
            if job["status"] not in ("queued", "running"):
                break
            await asyncio.sleep(0.05)
        assert job["status"] == "succeeded", job
        # While the runtime runs: the database with its WAL and SHM, the keys, the index.
        present = modes(data)
        for name in ("dirigent.db", "dirigent.db-wal", "dirigent.db-shm", "jwt.key", "secret.key"):
            assert present.get(name) == 0o600, (name, present)
        index_dir = f"knowledge/indexes/{index['id']}"
        assert present[index_dir] == 0o700 and present[f"{index_dir}/chunks.sqlite"] == 0o600, present
        assert present["."] == 0o700
        assert wider_than_owner(data) == {}


async def test_an_older_installs_wider_modes_are_narrowed_at_start(tmp_path: Path, open_umask: None) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    database = data / "dirigent.db"
    await _seed(f"sqlite+aiosqlite:///{database}")
    (data / "jwt.key").write_text("an-old-signing-key-" + "k" * 30)
    (data / "secret.key").write_bytes(Fernet.generate_key())
    for path in data.iterdir():
        path.chmod(0o644)
    data.chmod(0o755)
    assert wider_than_owner(data)

    async with AsyncTestClient(app=create_app(Settings(data_dir=data))) as client:
        assert (await client.get("/health")).status_code == 200
    assert wider_than_owner(data) == {}


def test_dirigent_serve_keeps_the_data_dir_private(tmp_path: Path, open_umask: None) -> None:
    """A real `dirigent serve`, started under umask 022, as `make up` starts it."""
    data = tmp_path / "data"
    data.mkdir()  # 0755 under this umask: the runtime narrows it
    asyncio.run(_seed(f"sqlite+aiosqlite:///{data / 'dirigent.db'}"))
    env = {"DIRIGENT_DATA_DIR": str(data)}
    with RuntimeProcess(env) as runtime:
        login = httpx.post(
            f"{runtime.url}/api/auth/login", json={"username": "champion", "password": PASSWORD}, timeout=30
        )
        assert login.status_code == 200, login.text
        present = modes(data)
        assert present["."] == 0o700 and present["dirigent.db"] == 0o600 and present["jwt.key"] == 0o600
        assert present["dirigent.db-wal"] == 0o600 and present["secret.key"] == 0o600
        assert wider_than_owner(data) == {}


def test_the_secret_key_can_live_outside_the_data_dir(tmp_path: Path, open_umask: None) -> None:
    key_file = tmp_path / "keys" / "dirigent-secret.key"
    environment = {"DIRIGENT_SECRET_KEY_FILE": str(key_file)}
    key = load_key(tmp_path / "data", environment)
    assert key_file.read_bytes() == key and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert not (tmp_path / "data" / "secret.key").exists()
    # The next start reads it; secrets sealed with it open again.
    sealed = SecretBox(key).seal({"password": "geheim"})
    assert SecretBox(load_key(tmp_path / "data", environment)).open(sealed) == {"password": "geheim"}
    # Through the settings, as the runtime reads it.
    settings = Settings(data_dir=tmp_path / "data", secret_key_file=key_file)
    assert load_key(settings.data_dir, {}, key_file=settings.secret_key_file) == key
