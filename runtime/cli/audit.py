"""`dirigent audit verify|export`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from runtime.audit.service import VerifyResult, export_jsonl, verify
from runtime.cli.common import database, load_settings, run

EXIT_BROKEN = 2


@click.group("audit")
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
def verify_() -> None:
    """Check the hash chain: exit 0 when intact, 2 with the first problem."""

    async def main() -> VerifyResult:
        async with database(load_settings()) as db, db.read() as session:
            return await verify(session)

    result = run(main())
    if result.ok:
        click.echo(f"chain intact: {result.entries} entries")
        click.echo(f"last hash: {result.last_hash}")
        return
    click.echo(f"chain BROKEN at entry {result.first_bad_seq}: {result.problem}", err=True)
    click.echo(f"{result.entries} entries before it are intact (last good hash: {result.last_hash})",
               err=True)
    sys.exit(EXIT_BROKEN)


@audit.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File to write (default: stdout).")
def export(output: str | None) -> None:
    """Write the whole log as JSON Lines (each line verifiable offline)."""

    async def main() -> int:
        count = 0
        async with database(load_settings()) as db, db.read() as session:
            if output is None:
                async for line in export_jsonl(session):
                    click.echo(line, nl=False)
                    count += 1
                return count
            temporary = Path(output).with_name(Path(output).name + ".part")
            with temporary.open("w", encoding="utf-8") as handle:
                async for line in export_jsonl(session):
                    handle.write(line)
                    count += 1
            temporary.replace(output)
        return count

    count = run(main())
    if output is not None:
        click.echo(f"exported {count} entries to {output}", err=True)
