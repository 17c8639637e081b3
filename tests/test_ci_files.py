"""The files that CI and deployments read: compose.yaml, .ci/run, README.md's test command."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from marqo.version import minimum_supported_marqo_version

from runtime.cli import cli
from runtime.connections.egress import ENV_ALLOW
from runtime.connections.secrets import ENV_KEY
from runtime.connections.service import SCHEDULE_INTERVAL_ENV
from runtime.knowledge.service import KnowledgeSettings
from runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
STACK = {"postgres", "marqo", "tgi", "runtime", "worker", "studio", "balancer"}
DIRIGENT_SERVICES = ("runtime", "worker", "studio")


def _commands(text: str) -> list[str]:
    """Non-comment lines, stripped."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())  # type: ignore[no-any-return]


def test_compose_file_lists_the_whole_stack() -> None:
    missing = STACK - set(_compose()["services"])
    assert not missing, f"compose.yaml lacks services {sorted(missing)}"


def test_compose_commands_are_real_dirigent_commands() -> None:
    """Each Dirigent service's command parses with the real CLI (a typo would crash-loop)."""
    services = _compose()["services"]
    default = ["dirigent", "serve", "--host", "0.0.0.0", "--port", "8000"]  # the Dockerfile's CMD
    assert json.loads(re.search(r"^CMD (.*)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)[1]) == default
    for name in DIRIGENT_SERVICES:
        command = services[name].get("command", default)
        assert command[0] == "dirigent", name
        sub = cli.commands[command[1]]  # KeyError: no such command
        sub.make_context(command[1], list(command[2:]))  # raises on an unknown option


def _understood_variables() -> set[str]:
    """Every DIRIGENT_* variable some part of Dirigent reads."""
    names = {f"DIRIGENT_{field.upper()}" for field in Settings.model_fields}
    for field_name, field in KnowledgeSettings.model_fields.items():
        default = [f"DIRIGENT_KNOWLEDGE_{field_name.upper()}"]
        names.update(getattr(field.validation_alias, "choices", None) or default)
    return names | {ENV_KEY, ENV_ALLOW, SCHEDULE_INTERVAL_ENV, "DIRIGENT_RUNTIME_URL"}


def test_compose_sets_only_variables_dirigent_reads() -> None:
    services = _compose()["services"]
    understood = _understood_variables()
    for name in DIRIGENT_SERVICES:
        unknown = {key for key in services[name]["environment"] if key.startswith("DIRIGENT_")} - understood
        assert not unknown, f"{name} sets {sorted(unknown)}, which nothing reads"
    assert services["runtime"]["environment"]["DIRIGENT_DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_compose_dependencies_wait_for_healthy_services() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
    # Only the API and the studio are published; the database, Marqo and the LLM stay inside.
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"balancer", "studio"}
    assert "env_file" not in services["studio"], "the studio needs no secrets"


def test_compose_runtime_scales_to_many_replicas_behind_the_balancer() -> None:
    """`docker compose up --scale runtime=N` must work: nothing a second replica collides
    with (a container name, a host port), and one way in that spreads over every replica."""
    compose = _compose()
    services = compose["services"]
    for name, service in services.items():
        assert "container_name" not in service, f"{name}: a fixed container name allows one replica"
    for name in ("runtime", "worker"):
        assert not services[name].get("ports"), f"{name}: a host port allows one replica per host"
    replicas = services["runtime"]["deploy"]["replicas"]
    default = re.fullmatch(r"\$\{RUNTIME_REPLICAS:-(\d+)\}", str(replicas))
    assert default and int(default[1]) >= 2, f"runtime replicas: {replicas}"
    # The balancer publishes the API and finds the replicas by DNS, again and again.
    assert services["balancer"]["ports"] == ["8000:8000"]
    caddyfile = compose["configs"]["balancer"]["content"]
    assert re.search(r"dynamic a runtime 8000 \{\s*refresh \d+s", caddyfile), caddyfile
    assert services["balancer"]["depends_on"]["runtime"] == {"condition": "service_healthy"}
    assert [config["source"] for config in services["balancer"]["configs"]] == ["balancer"]
    # The studio reaches the runtime through the balancer, not one replica.
    assert services["studio"]["environment"]["DIRIGENT_RUNTIME_URL"] == "http://balancer:8000"


def test_compose_images_are_pinned_and_marqo_fits_the_client() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        image = service["image"]
        if image.startswith("dirigent:"):
            continue  # built from the Dockerfile
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin a version, not {image}"
    marqo_tag = services["marqo"]["image"].rsplit(":", 1)[1]
    as_tuple = lambda version: tuple(int(part) for part in version.split("."))  # noqa: E731
    assert as_tuple(marqo_tag) >= as_tuple(minimum_supported_marqo_version())


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


# -- the image and the README (issue 12: "Installs as declared") ---------------------------
def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_dockerfile_installs_core_and_the_extras_the_stack_uses() -> None:
    """The image's pip install names only extras that exist (pip merely warns about others,
    which is how the image once lacked the runtime's imports) and those compose relies on."""
    text = _dockerfile()
    installs = re.findall(r"^RUN pip install (?:-e )?\"?\.\[([a-z,_-]+)\]\"?\s*$", text, re.MULTILINE)
    assert len(installs) == 1, "the Dockerfile should install Dirigent with one `pip install -e .[...]`"
    extras = set(installs[0].split(","))
    defined = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    assert extras <= defined, f"the Dockerfile installs undefined extras {sorted(extras - defined)}"
    services = _compose()["services"]
    # compose runs `dirigent studio` from the image, and indexes with the embedded default.
    assert services["studio"]["command"][:2] == ["dirigent", "studio"] and "studio" in extras
    assert "knowledge" in extras
    # torch's CPU build first, so that sentence-transformers does not pull the CUDA one.
    torch = re.search(r"^RUN pip install torch\S* --index-url \S+/cpu$", text, re.MULTILINE)
    assert torch and torch.start() < text.index("RUN pip install -e")
    copied = set(re.findall(r"^COPY \S+ (\S+) \1$", text, re.MULTILINE))
    assert {"runtime", "nodes", "starters", "studio"} <= copied, copied


def _readme_compose_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("`compose.yaml` describes")
    return text[start : text.index("\n## ", start)]


def test_readme_describes_the_compose_stack_as_it_is() -> None:
    section = _readme_compose_section()
    compose = _compose()
    for name in compose["services"]:
        assert f"| `{name}` |" in section, f"README's compose table lacks the service {name}"
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert f"`{port.split(':')[0]}`" in section, f"README does not say that {name} publishes {port}"
    for volume in compose["volumes"]:
        assert f"`{volume}`" in section, f"README does not name the volume {volume}"
    # Every variable compose takes from .env is named in the README.
    text = (ROOT / "compose.yaml").read_text()
    for variable in set(re.findall(r"\$\{([A-Z_]+)", text)):
        assert f"`{variable}`" in section, f"README does not name {variable}, which compose.yaml reads"
    # PostgreSQL is the queue: neither names a Redis service.
    assert not any("redis" in name for name in compose["services"])
    whole = (ROOT / "README.md").read_text().lower()
    assert all("no redis" in whole[max(0, i - 8) : i + 6] for i in _find_all(whole, "redis")), (
        "README names Redis other than as 'no Redis'"
    )


def _find_all(text: str, word: str) -> list[int]:
    return [match.start() for match in re.finditer(word, text)]


def test_make_test_runs_the_multiprocess_tests_alone_on_postgresql() -> None:
    """The `multiprocess` tests need PostgreSQL and the cores to themselves: the SQLite legs
    leave them out, the PostgreSQL leg runs them alone, after the rest."""
    script = (ROOT / "scripts" / "test.sh").read_text()
    runs = [line for line in _commands(script) if '"$PYTEST"' in line]
    assert runs, "scripts/test.sh runs no pytest"
    marked = [line for line in runs if "multiprocess" in line]
    assert len(marked) == len(runs), f"a pytest leg neither runs nor leaves out multiprocess: {runs}"
    alone = [line for line in runs if '-m "multiprocess"' in line]
    assert len(alone) == 1 and "-n" not in alone[0].split(), alone
    pg_leg = script[script.index("DIRIGENT_TEST_DATABASE_URL=$url") :]
    assert '-m "multiprocess"' in pg_leg
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^\s*"multiprocess: ', pyproject, re.MULTILINE), "marker not registered"


def test_make_test_runs_the_quality_gates() -> None:
    """ruff check, ruff format --check and mypy over runtime/ and nodes/ are part of the
    README's test command, so CI fails on a finding like on a failing test."""
    script = (ROOT / "scripts" / "test.sh").read_text()
    for command in ("ruff check .", "ruff format --check .", "mypy runtime nodes"):
        assert command in script, f"scripts/test.sh does not run `{command}`"
