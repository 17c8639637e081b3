"""The demo setup of `dirigent up`: workspaces, people with generated passwords, starter flows.

    workspaces   demo (the champion builds here) and hr (an empty second department)
    people       champion, reviewer, user (workspace demo); board1, board2 (board); admin
                 (admin). reviewer is a second champion: four eyes on tasks means that
                 whoever starts a run never decides its approval task, so a task of a run
                 the champion started goes to the reviewer. Each has a demo address,
                 `<name>@demo.local`, for notification mails.
    passwords    generated once, kept in `<data_dir>/demo-passwords.txt` (0600) as
                 `username password` lines, printed by every `dirigent up`
    flows        every starter flow (`starters/`, read by `runtime.starters.loader`),
                 imported into `demo` as the champion
    sources      the connections, demo databases and knowledge indexes the starters use
                 (`runtime.demo_sources`)
    assistant    the FAQ assistant, taken through the lifecycle to live (submitted by
                 champion, approved by board1, published), so that `user` can chat at once
                 (`runtime.demo_assistant`)

`setup_demo` only ever adds what is missing: it never resets a password, never touches
a user that exists (an admin may have removed or changed it on purpose), and skips a
starter whose slug is taken. A second run changes nothing, not even the audit log.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.database import Database
from runtime.db.models import Flow, User
from runtime.demo_assistant import publish_demo_assistant
from runtime.demo_sources import setup_sources
from runtime.flows.service import create_flow
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.settings import Settings
from runtime.starters.loader import STARTERS_DIR, Starter, load_starters
from runtime.users.service import add_user, get_or_create_workspace, load_actor
from runtime.users.workspaces import find_workspace

__all__ = ["PEOPLE", "DemoSetup", "Starter", "load_starters", "read_passwords", "setup_demo"]

DEMO_WORKSPACE = "demo"
WORKSPACES = {"demo": "Demo", "hr": "Personal"}
# username -> (role, workspace, what the banner says about them)
PEOPLE: dict[str, tuple[str, str | None, str]] = {
    "champion": ("champion", DEMO_WORKSPACE, "AI champion in workspace demo"),
    "reviewer": ("champion", DEMO_WORKSPACE, "second AI champion: decides tasks of the champion's runs"),
    "user": ("user", DEMO_WORKSPACE, "end user in workspace demo"),
    "board1": ("board", None, "governance board"),
    "board2": ("board", None, "governance board"),
    "admin": ("admin", None, "administrator"),
}
# Demo addresses for notification mails (`<name>@demo.local`; the demo's `mail` connection
# may send there once an admin points it at a real SMTP server and chooses it).
DEMO_MAIL_DOMAIN = "demo.local"
STARTER_AUTHOR = "champion"
PASSWORD_FILE = "demo-passwords.txt"


@dataclass
class DemoSetup:
    """What `setup_demo` found and did. `passwords[name]` is None when it is not known."""

    password_file: Path
    passwords: dict[str, str | None] = field(default_factory=dict)
    created_workspaces: list[str] = field(default_factory=list)
    created_users: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)  # template slugs that were there already
    created_connections: list[str] = field(default_factory=list)
    created_indexes: list[str] = field(default_factory=list)
    written_databases: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)  # assistants the demo took live now
    live_assistants: list[str] = field(default_factory=list)  # live after the set-up
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.created_workspaces
            or self.created_users
            or self.imported
            or self.created_connections
            or self.created_indexes
            or self.written_databases
            or self.published
        )


def read_passwords(path: Path) -> dict[str, str]:
    """`username password` lines; blank lines and `#` comments are ignored."""
    if not path.exists():
        return {}
    passwords = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            passwords[parts[0]] = parts[1]
    return passwords


def write_passwords(path: Path, passwords: dict[str, str]) -> None:
    """Write the file readable by its owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Dirigent demo logins, created by `dirigent up` (username password).",
        "# Delete the users and this file to start over with new passwords.",
    ]
    lines += [f"{name} {password}" for name, password in passwords.items()]
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


async def _has_workspace(session: AsyncSession, slug: str) -> bool:
    return await find_workspace(session, slug) is not None


async def setup_demo(
    db: Database,
    data_dir: Path,
    starters_dir: Path = STARTERS_DIR,
    settings: Settings | None = None,
    *,
    sample_documents: bool = True,
) -> DemoSetup:
    """Create what is missing of the demo (see the module docstring); the database is migrated.

    `settings` are the runtime's (the services of the sources read them); by default those
    of the environment, with `data_dir`. Without `sample_documents` the knowledge indexes
    stay empty (filling them loads the embedding model, which takes a minute).
    """
    settings = settings or Settings(data_dir=data_dir)
    password_file = Path(data_dir) / PASSWORD_FILE
    stored = read_passwords(password_file)
    result = DemoSetup(password_file=password_file)
    starters = load_starters(starters_dir)

    async with db.read() as session:
        existing = set(
            (await session.execute(select(User.username).where(User.username.in_(list(PEOPLE))))).scalars()
        )
    missing = [name for name in PEOPLE if name not in existing]
    # Passwords are kept before the users are created: if creating them fails, the next
    # run uses the same passwords; the other way round they could be lost.
    new = {name: secrets.token_urlsafe(12) for name in missing if name not in stored}
    if new:
        write_passwords(password_file, {**stored, **new})
    passwords = {**stored, **new}

    async with db.write() as session:
        for slug, name in WORKSPACES.items():
            if not await _has_workspace(session, slug):
                await get_or_create_workspace(session, slug, name)
                result.created_workspaces.append(slug)
        for name in missing:
            role, workspace, _ = PEOPLE[name]
            await add_user(
                session, name, passwords[name], role, workspace, email=f"{name}@{DEMO_MAIL_DOMAIN}"
            )
            result.created_users.append(name)
        await _import_starters(session, starters, result)
        admin, champion = await _actor(session, "admin"), await _actor(session, STARTER_AUTHOR)

    sources = await setup_sources(
        db, settings, DEMO_WORKSPACE, admin, champion, sample_documents=sample_documents
    )
    result.written_databases, result.created_connections = sources.databases, sources.connections
    result.created_indexes = sources.indexes
    result.notes.extend(sources.notes)
    assistant = await publish_demo_assistant(db, settings)
    result.published, result.notes = assistant.published, [*result.notes, *assistant.notes]
    async with db.read() as session:
        live = select(Flow.slug).where(Flow.live_version_id.is_not(None)).order_by(Flow.slug)
        result.live_assistants = list((await session.execute(live)).scalars())
    result.passwords = {name: passwords.get(name) for name in PEOPLE}
    for name in existing:
        if name not in stored:
            result.notes.append(f"the user '{name}' existed before; its password is not in {password_file}")
    return result


async def _actor(session: AsyncSession, username: str) -> Actor | None:
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    return await load_actor(session, user.id) if user else None


async def _import_starters(session: AsyncSession, starters: list[Starter], result: DemoSetup) -> None:
    slugs = [starter.slug for starter in starters]
    taken = set((await session.execute(select(Flow.slug).where(Flow.slug.in_(slugs)))).scalars())
    wanted = [starter for starter in starters if starter.slug not in taken]
    result.present.extend(slug for slug in slugs if slug in taken)
    if not wanted:
        return
    actor = await _actor(session, STARTER_AUTHOR)
    if actor is None:
        result.notes.append(f"starter flows not imported: the user '{STARTER_AUTHOR}' is missing or removed")
        return
    authz = Authorizer()
    for starter in wanted:
        await create_flow(session, authz, actor, DEMO_WORKSPACE, starter.name, starter.slug, starter.document)
        result.imported.append(starter.slug)
