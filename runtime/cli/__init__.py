"""The `dirigent` command line (console script `runtime.cli:main`).

    dirigent up | serve | migrate | worker | studio runtime/cli/server.py
    dirigent user add | remove | list               runtime/cli/users.py
    dirigent flow validate | run | test | import | export   runtime/cli/flows.py
    dirigent audit verify | export | anchor         runtime/cli/audit.py
    dirigent knowledge ingest                       runtime/cli/knowledge.py

Every command reads `Settings` from the environment (`DIRIGENT_*`). Errors of the
services (`runtime.errors.DirigentError`) print their message, without a stack trace,
and exit with 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from runtime.cli.audit import audit
from runtime.cli.common import DirigentGroup
from runtime.cli.flows import flow
from runtime.cli.knowledge import knowledge
from runtime.cli.server import migrate, serve, studio, up, worker
from runtime.cli.users import user


@click.group(cls=DirigentGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dirigent", prog_name="dirigent")
def cli() -> None:
    """Dirigent: versioned, governed AI flows on your own servers.

    Configuration comes from DIRIGENT_* environment variables (see README.md).
    """


for command in (up, serve, migrate, worker, studio, user, flow, audit, knowledge):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="dirigent")


__all__ = ["cli", "main"]
