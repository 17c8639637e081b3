"""`dirigent audit verify|export|anchor`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from runtime.audit import anchors
from runtime.audit.service import VerifyResult, export_jsonl, verify
from runtime.cli.common import database, load_settings, run

EXIT_BROKEN = 2


@click.group("audit")
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
@click.option(
    "--anchors",
    "anchors_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Anchor file to check against "
    "(default: DIRIGENT_AUDIT_ANCHOR_FILE or data_dir/audit-anchors.jsonl).",
)
def verify_(anchors_path: Path | None) -> None:
    """Check the hash chain and its anchors: exit 0 when intact, 2 with the problems."""
    settings = load_settings()
    file = anchors.FileSink(anchors_path) if anchors_path else anchors.anchor_file(settings)

    async def main() -> tuple[VerifyResult, anchors.AnchorCheck]:
        async with database(settings) as db, db.read() as session:
            result = await verify(session)
            check = await anchors.check_anchors(session, file.read(), anchors.anchor_key(settings))
            return result, check

    result, check = run(main())
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.ok:
        click.echo(f"chain intact: {result.entries} entries")
        click.echo(f"last hash: {result.last_hash}")
    else:
        click.echo(f"chain BROKEN at entry {result.first_bad_seq}: {result.problem}", err=True)
        click.echo(
            f"{result.entries} entries before it are intact (last good hash: {result.last_hash})", err=True
        )
    if check.anchors == 0:
        click.echo(f"no anchors in {file.path}: a rewrite of the whole chain would go unnoticed", err=True)
    elif check.ok:
        click.echo(
            f"anchors: {check.anchors} match; the newest covers entry {check.last_anchored_seq} "
            f"({check.last_anchored_at}); {check.unanchored_entries} entries since are not anchored yet"
        )
    for problem in check.problems:
        click.echo(f"anchor check FAILED: {problem}", err=True)
    if not (result.ok and check.ok):
        sys.exit(EXIT_BROKEN)


@audit.command("anchor")
def anchor() -> None:
    """Sign the chain's head and write it to the anchor file (and syslog/URL if configured)."""
    settings = load_settings()

    async def main() -> anchors.AnchorResult:
        async with database(settings) as db:
            return await anchors.anchor_now(
                db, anchors.anchor_key(settings), anchors.configured_sinks(settings)
            )

    try:
        result = run(main())
    except anchors.HeadNotAnchorable as error:
        raise click.ClickException(str(error)) from None
    if result.anchor is None:
        click.echo("the audit log is empty: nothing to anchor")
        return
    click.echo(json.dumps(result.anchor.as_json()))
    for name, reason in result.failed.items():
        click.echo(f"could not write the anchor to {name}: {reason}", err=True)
    if not result.written_to:
        sys.exit(1)


@audit.command("export")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="File to write (default: stdout).",
)
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
