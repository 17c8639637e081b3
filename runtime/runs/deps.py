"""The run slice's dependency: `runs: Runs` (a `RunService`) for its controllers.

The provider names `actor` although it does not use it: Litestar resolves dependencies
of one level concurrently, in an anyio task group, and `runs` beside `actor` (both after
`root`) would start one for every invocation, the hot path. After `actor`, each level holds
one dependency and is awaited directly (see `runtime.api.deps.provide_actor`).
"""

from __future__ import annotations

from litestar.di import NamedDependency, Provide

from runtime.api.deps import Caller, Root
from runtime.runs.service import RunService


def provide_runs(root: Root, actor: Caller) -> RunService:
    """A `RunService` over the runtime's parts: five references, no I/O."""
    return RunService(root.db, root.authz, root.runs, root.assistants, root.registry)


# sync_to_thread=False: building it is a few attribute reads, not worth a thread hop.
RUNS_DEPENDENCIES = {"runs": Provide(provide_runs, sync_to_thread=False)}
Runs = NamedDependency[RunService]
