"""The files that CI and deployments read: compose.yaml, .ci/run, README.md's test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
STACK = {"postgres", "redis", "marqo", "tgi", "runtime", "worker", "studio"}


def _commands(text: str) -> list[str]:
    """Non-comment lines, stripped."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_compose_file_lists_the_whole_stack() -> None:
    path = ROOT / "compose.yaml"
    if not path.exists():
        pytest.skip("no compose.yaml")
    compose = yaml.safe_load(path.read_text())
    missing = STACK - set(compose["services"])
    assert not missing, f"compose.yaml lacks services {sorted(missing)}"


def test_ci_script_runs_make_test() -> None:
    assert "make test" in _commands((ROOT / ".ci" / "run").read_text())


def test_readme_test_command_is_make_test() -> None:
    path = ROOT / "README.md"
    if not path.exists():
        pytest.skip("no README.md yet")
    code_blocks = re.findall(r"^```[^\n]*\n(.*?)^```", path.read_text(), re.MULTILINE | re.DOTALL)
    commands = [
        line.removeprefix("$ ").split("#", 1)[0].strip()  # `make test   # what it does` counts too
        for block in code_blocks
        for line in _commands(block)
    ]
    assert "make test" in commands, "README.md names no `make test` command in a code block"
