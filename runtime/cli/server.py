"""`dirigent serve|up|migrate|worker`: the processes of a deployment."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import click
import uvicorn
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from litestar import Litestar
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.api.errors import EXCEPTION_HANDLERS
from runtime.app import create_app
from runtime.cli.common import database, display_url, load_settings, require_observability, run
from runtime.composition import Composition
from runtime.db.migrate import alembic_config, upgrade
from runtime.demo import PEOPLE, DemoSetup, setup_demo
from runtime.monitoring.metrics_controller import metrics_endpoint
from runtime.monitoring.metrics_state import SharedState
from runtime.observability import tracing
from runtime.private_files import PROCESS_UMASK, private_directory
from runtime.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8710
# Open SSE streams would hold a graceful shutdown forever; after this they are cut.
GRACEFUL_SHUTDOWN_S = 10
# With --workers, uvicorn kills a process that has not finished its start-up (importing the
# runtime, the lifespan) within this, or that stops answering its pings this long. Its
# default, 5 s, killed every process, again and again, on a busy machine (imports alone
# take longer there), so `serve --workers 2` never answered.
WORKER_HEALTHCHECK_S = 180

host_option = click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    envvar="DIRIGENT_HOST",
    help="Interface to listen on (0.0.0.0: all).",
)
port_option = click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    envvar="DIRIGENT_PORT",
    help="TCP port.",
)


# `serve --workers N` tells its processes how many they are (uvicorn starts them afresh).
SERVE_PROCESSES_VARIABLE = "DIRIGENT_SERVE_PROCESSES"


def make_app() -> Litestar:
    """The app factory uvicorn's processes call: settings from the environment; the CLI
    has migrated the database already.

    Each process claims runs, tasks and jobs under its own worker id. A fixed
    `DIRIGENT_WORKER_ID` shared by the N processes of `serve --workers N` would let one
    process release or heartbeat another's claims, so each of them adds its pid to it."""
    settings = Settings()
    if settings.worker_id and int(os.environ.get(SERVE_PROCESSES_VARIABLE) or 1) > 1:
        settings.worker_id = f"{settings.worker_id}:{os.getpid()}"
    return create_app(settings, migrate=False)


def base_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
    return f"http://{shown}:{port}"


async def migrate_database(settings: Settings) -> str:
    async with database(settings) as db:
        return await current_revision(db.write_engine) or "(none)"


def serve_app(host: str, port: int, workers: int = 1) -> None:
    """Serve the runtime until SIGINT/SIGTERM (uvicorn shuts the app down cleanly).

    Whatever the runtime's processes write (data dir, database, indexes, uploads, logs)
    is readable by their own user only (umask 0077; see runtime/private_files.py)."""
    os.umask(PROCESS_UMASK)
    os.environ[SERVE_PROCESSES_VARIABLE] = str(workers)
    with _shared_metrics(workers):
        _run_uvicorn(host, port, workers)


@contextlib.contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With several processes, one /metrics answer must count for all of them:
    prometheus_client's multiprocess mode, in a fresh private directory for this start
    (values of an earlier start would be added in), unless the operator chose one."""
    if workers == 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    directory = tempfile.mkdtemp(prefix="dirigent-metrics-")  # 0700
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(directory, ignore_errors=True)


def _run_uvicorn(host: str, port: int, workers: int) -> None:
    uvicorn.run(
        "runtime.cli.server:make_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        log_level="info",
    )


@click.command()
@host_option
@port_option
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes (each runs the background sweep too).",
)
def serve(host: str, port: int, workers: int) -> None:
    """Migrate the database, then serve the HTTP API."""
    settings = load_settings()
    require_observability(settings)
    revision = run(migrate_database(settings))
    url = base_url(host, port)
    click.echo(f"database: {display_url(settings.resolved_database_url())} (schema {revision})")
    click.echo(f"Dirigent runtime on {url}  (OpenAPI: {url}/schema)")
    sys.stdout.flush()
    serve_app(host, port, workers)


@click.command()
def migrate() -> None:
    """Bring the database schema up to date (idempotent)."""
    settings = load_settings()
    revision = run(migrate_database(settings))
    click.echo(f"database {display_url(settings.resolved_database_url())} is at schema {revision}")


# -- up -----------------------------------------------------------------------------
async def prepare_up(settings: Settings) -> DemoSetup:
    os.umask(PROCESS_UMASK)  # as `serve_app`: the demo's files too
    async with database(settings) as db:
        return await setup_demo(db, Path(settings.data_dir), settings=settings)


def _studio_launcher() -> Any:
    """`studio/launch.py` as a module, or a string that says why it is not there.

    The studio is an app beside the packages, not a package, so it is loaded by path."""
    import importlib.util

    launcher = Path(__file__).resolve().parents[2] / "studio" / "launch.py"
    if not launcher.is_file():
        return "not part of this installation (no studio/ directory)"
    spec = importlib.util.spec_from_file_location("dirigent_studio_launch", launcher)
    if spec is None or spec.loader is None:
        return f"cannot load {launcher}"
    launch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch)
    return launch


def start_studio(settings: Settings, runtime_url: str) -> Any:
    """STUDIO HOOK: start the web studio (`studio/launch.py`) next to the runtime.

    Returns the studio's process (with `.studio_url`; `up` stops it with the server), or
    a string that says why there is no studio (Reflex or bun not installed, no studio/
    directory in this installation). Its output goes to `<data_dir>/studio.log`.
    """
    launch = _studio_launcher()
    if isinstance(launch, str):
        return launch
    port = int(os.environ.get("DIRIGENT_STUDIO_PORT", launch.DEFAULT_PORT))
    host = os.environ.get("DIRIGENT_STUDIO_HOST", "127.0.0.1")
    data_dir = private_directory(settings.data_dir)
    try:
        process = launch.start(runtime_url, host=host, port=port, log_path=data_dir / "studio.log")
    except launch.StudioUnavailable as exc:
        return str(exc)
    process.studio_url = launch.studio_url(host, port)
    process.stop_studio = lambda: launch.stop(process)
    return process


@click.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface the studio listens on.")
@click.option("--port", default=3000, show_default=True, type=int, help="The studio's port.")
@click.option(
    "--runtime-url",
    envvar="DIRIGENT_RUNTIME_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The runtime's HTTP API, the only thing the studio talks to.",
)
def studio(host: str, port: int, runtime_url: str) -> None:
    """Serve the web studio against a runtime, in the foreground (compose's studio service).

    `dirigent up` starts it by itself next to the embedded runtime; this command is for a
    deployment where the studio runs as a service of its own.
    """
    launch = _studio_launcher()
    if isinstance(launch, str):
        raise click.ClickException(f"no studio: {launch}")
    try:
        process = launch.start(runtime_url, host=host, port=port)
    except launch.StudioUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Dirigent studio on {launch.studio_url(host, port)} (runtime {runtime_url}); "
        "the first start builds the frontend"
    )
    # SIGTERM (docker stop) becomes SystemExit, so the studio's process group is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sys.exit(process.wait())
    finally:
        launch.stop(process)


# What each demo login is for, and where in the studio it starts (the studio's menu, German).
DEMO_ROLES: dict[str, str] = {
    "user": "Assistenten → FAQ-Assistent: chat with the published demo assistant",
    "champion": "Flows: build, test and submit flows; Läufe: what people asked and how it went",
    "reviewer": "Aufgaben: decide what the champion's runs ask for (four eyes: never your own run)",
    "board1": "Freigaben: review submitted versions (four eyes: never your own)",
    "board2": "Freigaben: the second board member (for flows with risk high)",
    "admin": "Verbindungen, Wissen, Audit: connections, knowledge indexes, the audit trail",
}


def open_as_whom(setup: DemoSetup, studio_url: str | None, url: str) -> list[str]:
    """What to open as whom: the studio's address and what each demo login is for there."""
    where = studio_url or f'{url}  (no studio: the API; see README "Five minutes with curl")'
    lines = [f"Open {where} and sign in as:"]
    for name, what in DEMO_ROLES.items():
        if name == "user" and not setup.live_assistants:
            what = "Assistenten: chat with what is published (nothing yet: see the notes)"
        lines.append(f"  {name:<9} {what}")
    return lines


def up_banner(
    settings: Settings, setup: DemoSetup, url: str, studio: str, studio_url: str | None = None
) -> list[str]:
    data_dir = Path(settings.data_dir)
    lines = ["Dirigent (embedded default)", ""]
    lines.append(f"  API       {url}")
    lines.append(f"  OpenAPI   {url}/schema   (browser: {url}/schema/swagger)")
    lines.append(f"  Health    {url}/health")
    lines.append(f"  Studio    {studio}")
    lines.append(f"  Data      {data_dir.resolve()}   ({display_url(settings.resolved_database_url())})")
    llm = settings.llm_url or "not configured: set DIRIGENT_LLM_URL (llm nodes fail until then)"
    lines.append(f"  LLM       {llm}")
    lines.append("")
    if setup.changed:
        made = [
            f"workspaces {', '.join(setup.created_workspaces)}" if setup.created_workspaces else "",
            f"users {', '.join(setup.created_users)}" if setup.created_users else "",
            f"starter flows {', '.join(setup.imported)}" if setup.imported else "",
            f"connections {', '.join(setup.created_connections)}" if setup.created_connections else "",
            f"knowledge indexes {', '.join(setup.created_indexes)}" if setup.created_indexes else "",
            f"published {', '.join(setup.published)} (submitted by champion, approved by board1)"
            if setup.published
            else "",
        ]
        lines.append(f"Demo set up: {'; '.join(item for item in made if item)}.")
    else:
        lines.append("Demo already set up; nothing changed.")
    flows = [*setup.present, *setup.imported]
    lines.append(f"Workspace 'demo' (and 'hr'); starter flows in 'demo': {', '.join(flows) or 'none'}.")
    lines.append(f"Live assistants: {', '.join(setup.live_assistants) or 'none'}.")
    if setup.created_connections:
        lines.append(
            "The demo connections crm-api, erp-api, itsm and mail point at placeholders on "
            "127.0.0.1; an admin repoints them (loopback needs DIRIGENT_EGRESS_ALLOW=127.0.0.1)."
        )
    lines += [f"Note: {note}" for note in setup.notes]
    lines += ["", f"Demo logins (kept in {setup.password_file}):"]
    for name, (_, _, what) in PEOPLE.items():
        lines.append(f"  {name:<9} {setup.passwords.get(name) or '(unknown)':<18} {what}")
    password = setup.passwords.get("champion") or "PASSWORD"
    body = json.dumps({"username": "champion", "password": password})
    lines += ["", *open_as_whom(setup, studio_url, url)]
    lines += [
        "",
        "Log in:",
        f"  curl -s {url}/api/auth/login -H 'content-type: application/json' -d '{body}'",
        "",
        "Stop with Ctrl+C.",
    ]
    return lines


@click.command()
@host_option
@port_option
@click.option("--no-studio", is_flag=True, help="Do not start the web studio (API only).")
def up(host: str, port: int, no_studio: bool) -> None:
    """Set up the demo (idempotent) on the embedded default and serve it.

    Creates the data dir (./.dirigent), migrates, adds the demo workspaces, users and
    starter flows if missing, prints the logins, then serves like `dirigent serve`.
    """
    settings = load_settings()
    setup = run(prepare_up(settings))
    url = base_url(host, port)
    started = None if no_studio else start_studio(settings, url)  # STUDIO HOOK
    studio_process = None if started is None or isinstance(started, str) else started
    studio = (
        "off (--no-studio)"
        if no_studio
        else f"{studio_process.studio_url}   (the first start builds it: about a minute; "
        f"log in {Path(settings.data_dir) / 'studio.log'})"
        if studio_process is not None
        else f"not started: {started}; use the API"
    )
    studio_url = studio_process.studio_url if studio_process is not None else None
    click.echo("\n".join(up_banner(settings, setup, url, studio, studio_url)))
    sys.stdout.flush()  # before uvicorn's log lines, also when stdout is a pipe or a file
    try:
        serve_app(host, port)
    finally:
        if studio_process is not None:  # STUDIO HOOK: stop the studio with the server
            studio_process.stop_studio()


# -- worker -------------------------------------------------------------------------
async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Any) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def wait_for_schema(runtime: Composition, stop: asyncio.Event, poll_s: float = 2.0) -> None:
    """Until the database is at the head revision (another process migrates it)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    said = ""
    while not stop.is_set():
        try:
            found = await current_revision(runtime.db.write_engine)
            if found == head:
                return
            message = (
                f"waiting for the database schema {head} (found {found or 'none'}); run `dirigent migrate`"
            )
        except (OSError, SQLAlchemyError) as exc:
            message = f"waiting for the database: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}"
        if message != said:
            click.echo(message, err=True)
            said = message
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_s)


class _MetricsServer(uvicorn.Server):
    """uvicorn inside the worker's own loop: the worker's signal handlers stay in charge."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def worker_metrics_app(runtime: Composition) -> Litestar:
    """A worker's `/metrics`: the same endpoint and the same access rule (metrics token, or
    loopback clients only) as `serve`; the worker serves nothing else."""
    app = Litestar(route_handlers=[metrics_endpoint], exception_handlers=EXCEPTION_HANDLERS)
    app.state.composition = runtime
    app.state.metrics_state = SharedState(runtime.db)
    return app


@contextlib.asynccontextmanager
async def _worker_metrics(runtime: Composition, host: str, port: int | None) -> AsyncIterator[None]:
    if port is None:
        yield
        return
    config = uvicorn.Config(
        worker_metrics_app(runtime), host=host, port=port, lifespan="off", log_level="warning"
    )
    server = _MetricsServer(config)
    task = asyncio.create_task(server.serve())
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def run_worker(
    settings: Settings,
    *,
    migrate_first: bool = False,
    stop: asyncio.Event | None = None,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = None,
) -> None:
    """The run manager's sweep without HTTP, until SIGTERM/SIGINT (or `stop` is set);
    with `metrics_port`, its counters on `/metrics` there (runs it resumes, their nodes
    and model calls: a worker's work is not in any `serve` process's answer)."""
    os.umask(PROCESS_UMASK)  # as `serve_app`
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for number in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(number, stop.set)
    tracing.configure(settings)  # resumed runs are traced as in `serve`
    runtime = Composition.build(settings)
    try:
        if migrate_first:
            await upgrade(runtime.db.write_engine)
        await wait_for_schema(runtime, stop)
        if stop.is_set():
            return
        await runtime.startup(migrate=False, background=True)
        click.echo(
            f"worker {runtime.runs.worker_id}: resuming runs and expiring tasks every "
            f"{settings.sweep_interval_s:g} s on {display_url(settings.resolved_database_url())}"
        )
        async with _worker_metrics(runtime, metrics_host, metrics_port):
            if metrics_port is not None:
                click.echo(f"worker metrics on {base_url(metrics_host, metrics_port)}/metrics")
            await stop.wait()
        click.echo("worker stopping: runs in progress are left for another process")
    finally:
        await runtime.shutdown()
        for number in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(number)


@click.command()
@click.option(
    "--migrate",
    "migrate_first",
    is_flag=True,
    help="Migrate the database first (default: wait until `serve` or `migrate` has).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Serve this worker's /metrics on this port (same access rule as `serve`).",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address for --metrics-port.")
def worker(migrate_first: bool, metrics_port: int | None, metrics_host: str) -> None:
    """Run the background sweep without HTTP (resume runs, expire tasks) until SIGTERM."""
    settings = load_settings()
    require_observability(settings)
    run(
        run_worker(
            settings, migrate_first=migrate_first, metrics_host=metrics_host, metrics_port=metrics_port
        )
    )
