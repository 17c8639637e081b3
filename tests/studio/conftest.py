"""Browser journeys through the studio: a real runtime, a real studio, Debian's Chromium.

Once per test session: an LLM test double (stands in for TGI), a runtime (`dirigent up
--no-studio` in a temporary data dir, demo users and starter flows), and the studio as
a production build on one port (`studio/launch.py`; the build is the slow part, about a
minute, reused while the sources do not change). Each test gets a fresh browser context
(no cookies). Screenshots go to `tests/artifacts/studio/`.

Without Reflex, bun or Chromium the tests are skipped locally and fail under CI=true.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.messages_api_double import MessagesApiDouble, Reply

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "studio"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STREAMED_ANSWER = "Guten Tag! Ihr Urlaubsantrag geht an die Personalabteilung."


def _missing() -> str | None:
    if importlib.util.find_spec("reflex") is None:
        return "Reflex is not installed (pip install -e '.[studio]')"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[studio]')"
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if shutil.which("bun") is None:
        return "bun is not installed (npm install -g bun)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_http(url: str, timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


@pytest.fixture(scope="session")
def studio_prerequisites() -> None:
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run: {missing}")
        pytest.skip(missing)


@dataclass
class Stack:
    runtime_url: str
    studio_url: str
    passwords: dict[str, str]
    llm: MessagesApiDouble

    def token(self, username: str) -> str:
        answer = httpx.post(
            f"{self.runtime_url}/api/auth/login",
            json={"username": username, "password": self.passwords[username]},
            timeout=10,
        )
        answer.raise_for_status()
        return str(answer.json()["token"])

    def api(self, username: str, method: str, path: str, **kwargs: Any) -> Any:
        answer = httpx.request(
            method,
            f"{self.runtime_url}{path}",
            timeout=30,
            headers={"authorization": f"Bearer {self.token(username)}"},
            **kwargs,
        )
        assert answer.status_code < 400, answer.text
        return answer.json() if answer.content else None


@pytest.fixture(scope="session")
def stack(studio_prerequisites: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    llm = MessagesApiDouble().start()
    llm.reply(Reply(STREAMED_ANSWER, chunk_delay_s=0.08))
    workdir = tmp_path_factory.mktemp("studio-runtime")
    runtime_port, studio_port = _free_port(), _free_port()
    runtime_url = f"http://127.0.0.1:{runtime_port}"
    env = {
        **os.environ,
        "DIRIGENT_DATA_DIR": str(workdir / ".dirigent"),
        "DIRIGENT_LLM_URL": llm.url,
        "DIRIGENT_SWEEP_INTERVAL_S": "1",
        # Connections may call this machine (the connections journey tests one against the runtime).
        "DIRIGENT_EGRESS_ALLOW": "127.0.0.1",
    }
    # Settings other tests may leave in this process's environment must not reach the runtime:
    # a test database, and Hugging Face's offline mode (it refuses even the local LLM double).
    for name in ("DIRIGENT_DATABASE_URL", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        env.pop(name, None)
    runtime_log = open(ARTIFACTS / "runtime.log", "wb")  # noqa: SIM115 - open for the session
    runtime = subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "up", "--port", str(runtime_port), "--no-studio"],
        cwd=workdir,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=runtime_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    launch = _launcher()
    studio = None
    try:
        # The demo setup embeds the sample knowledge documents first: minutes on a busy machine.
        _wait_http(f"{runtime_url}/health", 600, runtime)
        studio = launch.start(runtime_url, port=studio_port, log_path=ARTIFACTS / "studio.log")
        launch.wait_ready(f"http://127.0.0.1:{studio_port}", 900, studio)
        passwords = dict(
            line.split()[:2]
            for line in (workdir / ".dirigent" / "demo-passwords.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        )
        yield Stack(runtime_url, f"http://127.0.0.1:{studio_port}", passwords, llm)
    finally:
        if studio is not None:
            launch.stop(studio)
        runtime.terminate()
        try:
            runtime.wait(20)
        except subprocess.TimeoutExpired:
            runtime.kill()
        runtime_log.close()
        llm.stop()


def _launcher() -> Any:
    spec = importlib.util.spec_from_file_location("dirigent_studio_launch", ROOT / "studio" / "launch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    """Chromium for one test module: Playwright's sync API runs an event loop while it is
    open, which must be gone again before async tests of other modules run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def new_page(browser: Any, stack: Stack, request: pytest.FixtureRequest) -> Iterator[Any]:
    """`new_page()`: a page in a fresh browser context (its own cookies: one person each).

    When the test fails, every page it opened is saved as `FAILED-<test>-<n>.png`."""
    contexts = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="de-DE")
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    if request.node.stash.get(FAILED, False):
        for number, context in enumerate(contexts):
            for page in context.pages:
                page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}-{number}.png"))
    for context in contexts:
        context.close()
