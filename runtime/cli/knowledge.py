"""`dirigent knowledge ingest INDEX PATH...`: index local files, with a progress bar.

Runs in this process against the configured database and data directory (like the
runtime would), as an ingestion job that `GET /api/knowledge/jobs/{id}` shows too.
Directories are walked for supported files. Exit code 0 when every file was indexed or
was unchanged, 1 when at least one was refused (each is listed with its reason).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from runtime.cli.common import database, load_settings, run
from runtime.db.models import Membership, User, Workspace
from runtime.errors import BadRequest, NotFound
from runtime.knowledge.extract import SUPPORTED_TYPES
from runtime.knowledge.models import IngestionJob, KnowledgeIndex
from runtime.knowledge.service import KnowledgeService
from runtime.policy.resources import Actor
from runtime.users.service import load_actor
from runtime.users.workspaces import find_workspace

POLL_S = 0.25


@click.group("knowledge")
def knowledge() -> None:
    """Knowledge indexes: ingest documents from the command line."""


def expand(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; directories walked for files of a supported type (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_TYPES)
        else:
            found.append(path)
    return found


async def _actor(session: Any, workspace_id: str, username: str | None) -> Actor:
    """`--as USER`, else `champion`, else the workspace's first champion or admin."""
    if username:
        user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
        if user is None:
            raise NotFound(f"no user '{username}'")
    else:
        candidates = (
            (
                await session.execute(
                    select(User)
                    .join(Membership, Membership.user_id == User.id)
                    .where(
                        Membership.workspace_id == workspace_id,
                        Membership.role.in_(("champion", "admin")),
                        User.active.is_(True),
                    )
                    .order_by(User.username)
                )
            )
            .scalars()
            .all()
        )
        user = next(
            (item for item in candidates if item.username == "champion"),
            candidates[0] if candidates else None,
        )
        if user is None:
            raise BadRequest("the index's workspace has no champion; give --as USER")
    actor = await load_actor(session, user.id)
    if actor is None:
        raise BadRequest(f"the user '{user.username}' was removed")
    return actor


async def _find_index(session: Any, index: str, workspace: str | None) -> KnowledgeIndex | None:
    if workspace:
        row = (
            await session.execute(
                select(KnowledgeIndex)
                .join(Workspace, Workspace.id == KnowledgeIndex.workspace_id)
                .where(Workspace.slug == workspace, KnowledgeIndex.name == index)
            )
        ).scalar_one_or_none()
        return row  # type: ignore[no-any-return]
    by_id = await session.get(KnowledgeIndex, index)
    if by_id is not None:
        return by_id  # type: ignore[no-any-return]
    named = (
        (await session.execute(select(KnowledgeIndex).where(KnowledgeIndex.name == index))).scalars().all()
    )
    if len(named) > 1:
        raise BadRequest(f"several workspaces have an index named '{index}'; give --workspace")
    return named[0] if named else None


def _progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@knowledge.command("ingest")
@click.argument("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--workspace", default=None, metavar="WS", help="Workspace slug (when INDEX is a name).")
@click.option(
    "--labels", default="", metavar="A,B", help="Access labels for these documents, comma-separated."
)
@click.option("--create", is_flag=True, help="Create the index (embedded backend) if it does not exist.")
@click.option(
    "--as",
    "username",
    default=None,
    metavar="USER",
    help="Act as this user (default: champion, or the workspace's first champion).",
)
def ingest(
    index: str,
    paths: tuple[Path, ...],
    workspace: str | None,
    labels: str,
    create: bool,
    username: str | None,
) -> None:
    """Index the files PATHS (directories are walked) into INDEX (a name or an id)."""
    files = expand(paths)
    if not files:
        raise click.ClickException(f"no files of a supported type ({', '.join(sorted(SUPPORTED_TYPES))})")
    console = Console(stderr=True)
    failed = run(_ingest(index, files, workspace, labels, create, username, console))
    sys.exit(1 if failed else 0)


async def _ingest(
    index_name: str,
    files: list[Path],
    workspace: str | None,
    labels: str,
    create: bool,
    username: str | None,
    console: Console,
) -> int:
    settings = load_settings()
    async with database(settings) as db:
        service = KnowledgeService(settings, db)
        service.jobs.only_own_jobs()  # a server may run the others; this process ends after its own
        try:
            async with db.read() as session:
                index = await _find_index(session, index_name, workspace)
                if index is None and not (create and workspace):
                    hint = (
                        " (add --create --workspace WS to create it)" if not create else " (give --workspace)"
                    )
                    raise NotFound(f"no knowledge index '{index_name}'{hint}")
                if index is not None:
                    workspace_id = index.workspace_id
                else:  # `--create --workspace WS` (checked above)
                    found = await find_workspace(session, str(workspace))
                    if found is None:
                        raise NotFound(f"no workspace '{workspace}'")
                    workspace_id = found.id
                actor = await _actor(session, workspace_id, username)
            if index is None:
                assert workspace is not None
                created = await service.create_index(actor, workspace, index_name)
                console.print(f"created knowledge index '{index_name}' in '{workspace}'")
                index_id = created["id"]
            else:
                index_id = index.id
            job = await service.jobs.ingest_paths(
                actor, index_id, files, labels.split(",") if labels else None
            )
            final = await _follow(service, job["id"], console)
        finally:
            await service.close()
    for entry in final.files:
        if entry["status"] == "failed":
            console.print(f"[red]✗[/red] {entry['name']}: {entry['error']}")
        else:
            console.print(f"[green]✓[/green] {entry['name']}: {entry['status']}, {entry['chunks']} passages")
    console.print(
        f"{final.status}: {final.files_done - final.files_failed} of {final.files_total} files, "
        f"{final.files_failed} refused, {final.chunks_done} passages embedded"
    )
    return int(final.files_failed)


async def _follow(service: KnowledgeService, job_id: str, console: Console) -> IngestionJob:
    """Draw the job's progress (read from the database, as the API does) until it ends."""
    with _progress_bar(console) as bar:
        task = bar.add_task("files", total=None, detail="")
        while True:
            async with service.db.read() as session:
                job = await session.get(IngestionJob, job_id)
            assert job is not None
            bar.update(
                task,
                total=job.files_total,
                completed=job.files_done,
                detail=f"{job.chunks_done} passages, {job.files_failed} refused",
            )
            if job.status not in ("queued", "running"):
                return job
            await asyncio.sleep(POLL_S)
