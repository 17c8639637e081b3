"""`dirigent knowledge ingest`: files and directories, per-file errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from runtime.cli import cli
from tests.runtime.knowledge.fakes import HashingModel


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr("runtime.knowledge.backends.load_model", lambda name: HashingModel())
    environment = {"DIRIGENT_DATA_DIR": str(tmp_path / "data"), "DIRIGENT_JWT_SECRET": "x" * 40}
    result = CliRunner().invoke(
        cli,
        [
            "user",
            "add",
            "champion",
            "--role",
            "champion",
            "--workspace",
            "sales",
            "--password",
            "correct-horse-battery",
        ],
        env=environment,
    )
    assert result.exit_code == 0, result.output
    return environment


def test_ingest_creates_the_index_walks_directories_and_reports_each_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "reise.md").write_text("# Reise\n\nHotel bis 120 Euro.", encoding="utf-8")
    (folder / "sub" / "ticket.txt").write_text("Drucker im 2. OG defekt.", encoding="utf-8")
    (folder / "ignored.xlsx").write_bytes(b"PK")
    empty = tmp_path / "leer.txt"
    empty.write_bytes(b"")

    result = CliRunner().invoke(
        cli,
        ["knowledge", "ingest", "handbuch", str(folder), str(empty), "--workspace", "sales", "--create"],
        env=env,
    )
    assert result.exit_code == 1, result.output
    assert "created knowledge index 'handbuch' in 'sales'" in result.output
    assert "✓ reise.md: indexed, 1 passages" in result.output
    assert "✓ ticket.txt: indexed, 1 passages" in result.output
    assert "✗ leer.txt: the file is empty (0 bytes)" in result.output
    assert "ignored.xlsx" not in result.output  # directories yield supported types only
    assert "completed_with_errors: 2 of 3 files, 1 refused" in result.output

    again = CliRunner().invoke(
        cli, ["knowledge", "ingest", "handbuch", str(folder), "--workspace", "sales"], env=env
    )
    assert again.exit_code == 0, again.output
    assert "✓ reise.md: unchanged" in again.output


def test_unknown_index_without_create_explains(env: dict[str, str], tmp_path: Path) -> None:
    file = tmp_path / "a.txt"
    file.write_text("Text", encoding="utf-8")
    result = CliRunner().invoke(cli, ["knowledge", "ingest", "nope", str(file)], env=env)
    assert result.exit_code == 1
    assert "no knowledge index 'nope' (add --create --workspace WS to create it)" in result.output
