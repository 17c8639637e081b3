"""Where notifications are mailed: `dirigent user add --email`, checked and replaceable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from runtime.cli import cli
from runtime.db.database import Database
from runtime.db.models import User

PASSWORD = "correct-horse-battery"


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str | None]:
    return {
        "DIRIGENT_DATA_DIR": str(tmp_path / "data"),
        "DIRIGENT_DATABASE_URL": database_url,
        "DIRIGENT_LLM_URL": None,
        "DIRIGENT_JWT_SECRET": None,
    }


def dirigent(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def address_of(url: str, username: str) -> str | None:
    async def read() -> str | None:
        db = Database(url)
        try:
            async with db.read() as session:
                return (
                    await session.execute(select(User.email).where(User.username == username))
                ).scalar_one()
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_user_add_takes_an_address_and_replaces_it(env: dict[str, str | None], database_url: str) -> None:
    added = dirigent(
        env, "user", "add", "kim", "--password", PASSWORD, "--role", "board", "--email", "kim@firma.de"
    )
    assert added.exit_code == 0, added.output
    assert address_of(database_url, "kim") == "kim@firma.de"
    kept = dirigent(env, "user", "add", "kim", "--password", PASSWORD, "--role", "admin")
    assert kept.exit_code == 0 and address_of(database_url, "kim") == "kim@firma.de"  # not given: kept
    moved = dirigent(
        env, "user", "add", "kim", "--password", PASSWORD, "--role", "admin", "--email", "k.meier@firma.de"
    )
    assert moved.exit_code == 0 and address_of(database_url, "kim") == "k.meier@firma.de"


@pytest.mark.parametrize(
    "bad", ["kim", "kim@firma.de\n", "kim@firma", "kim@firma.de\nBcc: alle@firma.de", "a b@firma.de"]
)
def test_a_bad_address_is_refused_and_nothing_is_created(env: dict[str, str | None], bad: str) -> None:
    refused = dirigent(env, "user", "add", "ulla", "--password", PASSWORD, "--role", "board", "--email", bad)
    assert refused.exit_code == 1
    assert "is not an e-mail address like name@firma.de" in refused.stderr
    assert "Traceback" not in refused.output
    assert "ulla" not in dirigent(env, "user", "list").stdout
