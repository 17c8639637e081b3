"""What every command shares: settings, the event loop, the database, error reporting."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from nodes.errors import NodeError
from runtime.db.database import Database
from runtime.db.migrate import upgrade
from runtime.errors import DirigentError, InvalidFlow, Unavailable
from runtime.observability import tracing
from runtime.private_files import private_directory
from runtime.settings import Settings

T = TypeVar("T")


def load_settings() -> Settings:
    """`Settings` from the environment (`DIRIGENT_*`); a bad value is a usage error."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"DIRIGENT_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise click.ClickException(f"the configuration is not valid: {problems}") from None


def require_observability(settings: Settings) -> None:
    """Traces configured without the `observability` extra: a usage error naming the install."""
    try:
        tracing.require_extra(settings)
    except Unavailable as error:
        raise click.ClickException(f"{error.message} [{error.code}]") from None


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def display_url(url: str) -> str:
    """A database URL without its password, fit to print."""
    return make_url(url).render_as_string(hide_password=True)


@asynccontextmanager
async def database(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Database]:
    """The configured database, migrated to head first (idempotent), disposed after."""
    private_directory(settings.data_dir)
    db = Database(settings.resolved_database_url())
    try:
        if migrate:
            try:
                await upgrade(db.write_engine)
            except OSError as exc:
                raise Unavailable(
                    f"cannot reach the database {display_url(db.url)}: {exc.strerror or exc}"
                ) from None
        yield db
    finally:
        await db.dispose()


def error_line(error: dict[str, Any]) -> str:
    """A validation error as `node.field: message` (`document` when it names neither)."""
    where = ".".join(str(part) for part in (error.get("node"), error.get("field")) if part)
    return f"{where or 'document'}: {error.get('message')}"


def read_json(text: str, what: str) -> Any:
    """Parse JSON given on the command line; `@path` reads it from a file."""
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {text[1:]}: {exc.strerror}", param_hint=what) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=what) from None


def report_error(exc: BaseException) -> int:
    """Print what went wrong, without a stack trace; returns the exit code."""
    if isinstance(exc, InvalidFlow):
        click.echo(f"Error: {exc.message}", err=True)
        for error in exc.errors:
            click.echo(f"  {error_line(error)}", err=True)
    elif isinstance(exc, (DirigentError, NodeError)):
        click.echo(f"Error: {exc.message}", err=True)
    elif isinstance(exc, SQLAlchemyError):
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        click.echo(f"Error: the database failed: {reason}", err=True)
    else:
        click.echo(f"Error: {exc}", err=True)
    return 1


class DirigentGroup(click.Group):
    """The root group: service errors become a message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # `dirigent audit export | head`: the reader is gone
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(1)
        except (DirigentError, NodeError, SQLAlchemyError, OSError) as exc:
            ctx.exit(report_error(exc))
