"""`dirigent user add|remove|list`."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from runtime.cli.common import database, load_settings, run
from runtime.db.models import Membership, User, Workspace
from runtime.users.service import ROLES, add_user, remove_user
from runtime.users.workspaces import find_workspace


@click.group("user")
def user() -> None:
    """Users and their roles."""


@user.command("add")
@click.argument("name")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 8 characters (asked for when not given).",
)
@click.option(
    "--role",
    required=True,
    type=click.Choice(ROLES),
    help="champion/user need --workspace; board is global; admin either.",
)
@click.option(
    "--workspace",
    "workspace",
    default=None,
    metavar="WS",
    help="Workspace slug for the role (created if missing).",
)
@click.option(
    "--email",
    default=None,
    metavar="ADDRESS",
    help="Where notifications are mailed (replaces an earlier address).",
)
def add(name: str, password: str, role: str, workspace: str | None, email: str | None) -> None:
    """Create user NAME, or give an existing user another role (and this password)."""

    async def main() -> tuple[bool, bool]:
        async with database(load_settings()) as db, db.write() as session:
            existed = (
                await session.execute(select(User.id).where(User.username == name))
            ).first() is not None
            had_workspace = workspace is None or await find_workspace(session, workspace) is not None
            await add_user(session, name, password, role, workspace, email=email)
        return existed, had_workspace

    existed, had_workspace = run(main())
    if not had_workspace:
        click.echo(f"created workspace '{workspace}'")
    where = f" in workspace '{workspace}'" if workspace else ""
    if existed:
        click.echo(f"updated user '{name}': role {role}{where}; password set")
    else:
        click.echo(f"created user '{name}' with role {role}{where}")


@user.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Deactivate user NAME: their tokens stop working at once; their history stays."""

    async def main() -> None:
        async with database(load_settings()) as db, db.write() as session:
            await remove_user(session, name)

    run(main())
    click.echo(f"removed user '{name}'")


async def list_users() -> list[dict[str, Any]]:
    async with database(load_settings()) as db, db.read() as session:
        users = (await session.execute(select(User).order_by(User.username))).scalars().all()
        rows = (
            (
                await session.execute(
                    select(Membership.user_id, Membership.role, Workspace.slug)
                    .join(Workspace, Workspace.id == Membership.workspace_id)
                    .order_by(Workspace.slug, Membership.role)
                )
            )
            .tuples()
            .all()
        )
    roles: dict[str, list[str]] = {}
    for user_id, role, slug in rows:
        roles.setdefault(user_id, []).append(f"{role}@{slug}")
    return [
        {
            "username": row.username,
            "display_name": row.display_name,
            "active": row.active,
            "roles": [*(row.global_roles or []), *roles.get(row.id, [])],
        }
        for row in users
    ]


@user.command("list")
def list_() -> None:
    """Every user with their roles (`role@workspace` for workspace roles)."""
    users = run(list_users())
    if not users:
        click.echo("no users yet; add one with `dirigent user add NAME --role ROLE`")
        return
    table = Table("user", "name", "roles", "status", box=None, pad_edge=False)
    for item in users:
        table.add_row(
            Text(item["username"]),
            Text(item["display_name"]),
            Text(", ".join(item["roles"]) or "-"),
            "active" if item["active"] else "removed",
        )
    Console(soft_wrap=True).print(table)
