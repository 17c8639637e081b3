"""`dirigent flow validate|run|test|import|export`."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import click
from sqlalchemy import select

from nodes.errors import NodeError
from runtime.cli.common import database, error_line, load_settings, read_json, run
from runtime.composition import templates_for
from runtime.connections.egress import EgressGuard, EgressPolicy
from runtime.db.models import Flow, FlowVersion, Membership, User, Workspace
from runtime.engine.compiled import CompiledFlow, compile_flow, compile_validated
from runtime.engine.executor import Engine
from runtime.engine.inputs import prepare_inputs
from runtime.engine.records import RunOutcome, StepRecord
from runtime.engine.validation import validate_document
from runtime.errors import BadRequest, Conflict, InvalidFlow, NotFound
from runtime.flows import service
from runtime.llm.client import HFChatModel, ModelEndpoints
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.settings import Settings
from runtime.starters.loader import read_flow_file, uses_files
from runtime.testing.runner import SuiteResult, run_cases
from runtime.users.service import load_actor
from runtime.users.workspaces import find_workspace

EXIT_WAITING = 3
OUTPUT_PREVIEW = 160
# Node types that finish at once: no "running" line for them.
QUICK_TYPES = frozenset({"input", "output", "template"})


def chat_model(settings: Settings) -> HFChatModel:
    """The model endpoints of the settings, behind the egress guard as in the runtime."""
    return HFChatModel(
        ModelEndpoints.from_settings(settings), guard=EgressGuard(EgressPolicy.parse(settings.egress_allow))
    )


@click.group("flow")
def flow() -> None:
    """Flow documents: check, run locally, import into and export from the database."""


def read_document(source: IO[str]) -> Any:
    """The flow document in FILE; a starter's `flow.json` loads as the starter
    (prompt files resolved, tests merged), like `dirigent up` imports it."""
    text = source.read()
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise click.ClickException(f"{source.name} is not JSON: {exc}") from None
    path = Path(source.name)
    if path.is_file() and (path.name == "flow.json" or uses_files(document)):
        return read_flow_file(path)
    return document


@flow.command("validate")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def validate(file: IO[str]) -> None:
    """Check FILE; print every error as `node.field: message`, or the content hash."""
    report = validate_document(read_document(file))
    if not report.valid:
        for error in report.errors:
            click.echo(error_line(error))
        count = len(report.errors)
        click.echo(f"invalid: {count} error{'s' if count != 1 else ''}", err=True)
        sys.exit(1)
    assert report.document is not None
    click.echo(f"valid: {report.document.name}")
    click.echo(f"content hash: {report.content_hash}")


# -- flow run -----------------------------------------------------------------------
def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= OUTPUT_PREVIEW else text[: OUTPUT_PREVIEW - 1] + "…"


class StepPrinter:
    """Prints the engine's events as they come (to stderr) and each step's outputs.

    The engine's `emit` gives `running`, streamed tokens and the finished step (status,
    duration, tokens); it is also handed this object as its `Recorder`, which receives
    the finished steps with their outputs right after each generation. The run's error,
    if any, is printed once at the end.
    """

    def __init__(self, flow: CompiledFlow) -> None:
        self.flow = flow
        self.streaming: str | None = None

    def close(self) -> None:
        """End a line of streamed tokens, if one is open."""
        if self.streaming is not None:
            click.echo("", err=True)
            self.streaming = None

    def _line(self, text: str) -> None:
        self.close()
        click.echo(text, err=True)

    def emit(self, event: dict[str, Any]) -> None:
        node = str(event.get("node"))
        if event.get("type") == "token":
            if self.streaming != node:
                self.close()
                click.echo(f"  {node} ▸ ", nl=False, err=True)
                self.streaming = node
            click.echo(event.get("text", ""), nl=False, err=True)
            return
        if event.get("type") != "step":
            return
        node_type = self.flow.instances[node].type if node in self.flow.instances else "?"
        status = event.get("status")
        if status == "running":
            if node_type not in QUICK_TYPES:
                self._line(f"▶ {node} ({node_type}) …")
            return
        parts = [f"{'✔' if status == 'succeeded' else '•'} {node} ({node_type}) {status}"]
        if event.get("duration_ms") is not None:
            parts.append(f"{event['duration_ms']:.0f} ms")
        if event.get("usage"):
            parts.append(f"{event['usage'].get('total_tokens', 0)} tokens")
        self._line(", ".join(parts))
        if status == "waiting" and isinstance(event.get("request"), Mapping):
            self._line(
                f"  waits for: {', '.join(event['request'].get('assignees', []))} "
                f"({event['request'].get('title', '')})"
            )

    async def record_steps(self, steps: list[StepRecord]) -> None:
        for step in steps:
            if step.status == "succeeded" and step.node_type not in ("input", "output"):
                for name, value in (step.outputs or {}).items():
                    if name != "usage":
                        self._line(f"  {step.node_id}.{name} = {_preview(value)}")

    async def cancel_requested(self) -> bool:
        return False


async def run_document(
    document: Any,
    inputs: Mapping[str, Any],
    fixed: Mapping[str, Mapping[str, Any]] | None,
    settings: Settings,
) -> RunOutcome:
    """Run a flow document in this process: no server, no database."""
    compiled = compile_flow(document)
    prepared = prepare_inputs(compiled.document, inputs)
    unknown = sorted(set(fixed or {}) - set(compiled.instances))
    if unknown:
        raise BadRequest(f"--fixed names nodes the flow does not have: {', '.join(unknown)}")
    llm = chat_model(settings)
    templates = templates_for(settings)
    engine = Engine({"llm": llm, "templates": templates}, max_node_timeout_s=settings.node_timeout_s)
    printer = StepPrinter(compiled)
    try:
        outcome = await engine.execute(
            compiled,
            f"local-{uuid.uuid4().hex[:12]}",
            prepared,
            recorder=printer,
            emit=printer.emit,
            fixed_outputs=fixed,
        )
    finally:
        printer.close()
        await templates.close()
        await llm.aclose()
    return outcome


@flow.command("run")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--inputs",
    "inputs_json",
    default="{}",
    metavar="JSON",
    help='The flow inputs, e.g. \'{"question": "..."}\' (or @file.json).',
)
@click.option(
    "--fixed",
    "fixed_json",
    default=None,
    metavar="JSON",
    help='Outputs to use instead of running nodes, e.g. \'{"check": {"decision": "approved", ...}}\'.',
)
def run_(file: IO[str], inputs_json: str, fixed_json: str | None) -> None:
    """Run FILE locally, step by step, and print the outputs as JSON.

    Uses the LLM at DIRIGENT_LLM_URL. Exit codes: 0 succeeded, 1 failed, 3 waiting for
    a person (stand in for the decision with --fixed).
    """
    document = read_document(file)
    inputs = read_json(inputs_json, "--inputs")
    fixed = read_json(fixed_json, "--fixed") if fixed_json is not None else None
    if not isinstance(inputs, dict):
        raise click.BadParameter("a JSON object of input names and values", param_hint="--inputs")
    if fixed is not None and not (
        isinstance(fixed, dict) and all(isinstance(value, dict) for value in fixed.values())
    ):
        raise click.BadParameter("a JSON object: node id -> object of its outputs", param_hint="--fixed")
    outcome = run(run_document(document, inputs, fixed, load_settings()))
    if outcome.status == "succeeded":
        click.echo(json.dumps(outcome.outputs, ensure_ascii=False, indent=2))
        return
    if outcome.status == "waiting":
        nodes = ", ".join(step.node_id for step in outcome.suspensions)
        click.echo(
            f"waiting: {nodes} needs a person's decision, which a local run cannot get; "
            f"give their outputs with --fixed to go on",
            err=True,
        )
        sys.exit(EXIT_WAITING)
    error = outcome.error or {}
    where = f" at node '{error['node']}' ({error.get('type')})" if error.get("node") else ""
    click.echo(f"Error: the run {outcome.status}{where}: {error.get('message', 'unknown error')}", err=True)
    sys.exit(1)


# -- flow test ----------------------------------------------------------------------
class _NoKnowledge:
    """Retrieval without the runtime's indexes: say what to do instead."""

    async def retrieve(self, request: Any) -> Any:
        raise NodeError(
            "`dirigent flow test` runs without the runtime's knowledge indexes: fix this retrieval "
            "node's outputs in the case, or run the tests through the API (POST .../test)"
        )


async def test_document(compiled: CompiledFlow, settings: Settings, *, live: bool) -> SuiteResult:
    """Run the document's cases in this process: no server, no database, never a connection."""
    templates = templates_for(settings)
    services: dict[str, Any] = {"knowledge": _NoKnowledge(), "templates": templates}
    llm = chat_model(settings) if live else None
    if llm is not None:
        services["llm"] = llm
    try:
        return await run_cases(
            compiled,
            services,
            mode="live" if live else "fixed",
            tester="cli",
            max_node_timeout_s=settings.node_timeout_s,
        )
    finally:
        await templates.close()
        if llm is not None:
            await llm.aclose()


def print_suite(name: str, suite: SuiteResult) -> None:
    mode = "live (unfixed llm nodes call the LLM)" if suite.mode == "live" else "fixed outputs"
    click.echo(f"{name}: {suite.total} test case{'s' if suite.total != 1 else ''}, {mode}")
    for case in suite.cases:
        mark = "✔" if case.passed else "✘"
        click.echo(f"  {mark} {case.name}  ({case.duration_ms:.0f} ms, {case.status})")
        for failure in case.failures:
            click.echo(f"      {failure['check']}: {failure['message']}")
    passed = suite.total - suite.failed
    click.echo(f"{passed} passed, {suite.failed} failed")


@flow.command("test")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--live", is_flag=True, help="Let llm nodes that a case does not fix call the LLM at DIRIGENT_LLM_URL."
)
def test_cases(file: IO[str], live: bool) -> None:
    """Run FILE's test cases locally and print what each checked; exit code 1 when one fails.

    By default (fixed mode) nothing is called: every llm and connector node a case
    reaches must have fixed outputs in it, as when the runtime gates a submission.
    """
    report = validate_document(read_document(file))
    if not report.valid or report.document is None:
        raise InvalidFlow(report.errors)
    if not report.document.tests:
        raise click.ClickException(f"{file.name} has no test cases; add them to the document's 'tests'")
    assert report.graph is not None and report.content_hash is not None
    compiled = compile_validated(report.document, report.content_hash, report.graph, report.instances)
    suite = run(test_document(compiled, load_settings(), live=live))
    print_suite(report.document.name, suite)
    if not suite.passed:
        sys.exit(1)


# -- import / export ----------------------------------------------------------------
async def _importer(session: Any, workspace: Workspace, username: str | None) -> Actor:
    """`--as USER`, else the user `champion`, else the first champion of the workspace."""
    if username:
        user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
        if user is None:
            raise NotFound(f"no user '{username}'")
    else:
        champions = (
            (
                await session.execute(
                    select(User)
                    .join(Membership, Membership.user_id == User.id)
                    .where(
                        Membership.workspace_id == workspace.id,
                        Membership.role == "champion",
                        User.active.is_(True),
                    )
                    .order_by(User.username)
                )
            )
            .scalars()
            .all()
        )
        user = next(
            (item for item in champions if item.username == "champion"), champions[0] if champions else None
        )
        if user is None:
            raise BadRequest(f"workspace '{workspace.slug}' has no champion; give --as USER")
    actor = await load_actor(session, user.id)
    if actor is None:
        raise BadRequest(f"the user '{user.username}' was removed")
    return actor


@flow.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--workspace", required=True, metavar="WS", help="Workspace slug.")
@click.option("--slug", required=True, help="The flow's slug (its assistant's name in URLs).")
@click.option("--name", default=None, help="The flow's name (default: the document's name).")
@click.option(
    "--as",
    "username",
    default=None,
    metavar="USER",
    help="Act as this user (default: champion, or the workspace's first champion).",
)
def import_(file: IO[str], workspace: str, slug: str, name: str | None, username: str | None) -> None:
    """Create flow SLUG from FILE, or save FILE as its next version."""
    document = read_document(file)

    async def main() -> str:
        async with database(load_settings()) as db, db.write() as session:
            ws = await find_workspace(session, workspace)
            if ws is None:
                raise NotFound(f"no workspace '{workspace}'")
            actor = await _importer(session, ws, username)
            existing = (await session.execute(select(Flow).where(Flow.slug == slug))).scalar_one_or_none()
            authz = Authorizer()
            if existing is None:
                title = name or (document.get("name") if isinstance(document, dict) else None) or slug
                _, version = await service.create_flow(
                    session, authz, actor, workspace, title, slug, document
                )
                return (
                    f"created flow '{slug}' in '{workspace}' as {actor.username}: "
                    f"version 1 ({version.content_hash})"
                )
            if existing.workspace_id != ws.id:
                raise Conflict(f"the slug '{slug}' belongs to a flow in another workspace")
            version, created = await service.save_version(session, authz, actor, existing.id, document)
            if not created:
                return (
                    f"unchanged: version {version.number} of '{slug}' has this content "
                    f"({version.content_hash})"
                )
            return f"saved version {version.number} of '{slug}' as {actor.username} ({version.content_hash})"

    click.echo(run(main()))


@flow.command("export")
@click.argument("slug")
@click.option("--version", "number", type=int, default=None, help="Version number (default: the latest).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="File to write (default: stdout).",
)
def export(slug: str, number: int | None, output: str | None) -> None:
    """Write a stored version of flow SLUG as a flow document."""

    async def main() -> FlowVersion:
        async with database(load_settings()) as db, db.read() as session:
            found = (await session.execute(select(Flow).where(Flow.slug == slug))).scalar_one_or_none()
            if found is None:
                raise NotFound(f"no flow '{slug}'")
            query = select(FlowVersion).where(FlowVersion.flow_id == found.id)
            query = (
                query.where(FlowVersion.number == number)
                if number is not None
                else query.order_by(FlowVersion.number.desc()).limit(1)
            )
            version = (await session.execute(query)).scalars().first()
            if version is None:
                raise NotFound(
                    f"flow '{slug}' has no version {number}"
                    if number is not None
                    else f"flow '{slug}' has no version"
                )
            return version

    version = run(main())
    text = json.dumps(version.document, ensure_ascii=False, indent=2)
    if output is None:
        click.echo(text)
        return
    Path(output).write_text(text + "\n", encoding="utf-8")
    click.echo(f"exported version {version.number} ({version.state}) of '{slug}' to {output}", err=True)
