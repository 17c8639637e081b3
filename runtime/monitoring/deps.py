"""The monitoring slice's dependency: `monitoring: Monitoring` (a `MonitoringService`).

The provider names `actor` so that it is resolved after it, alone on its level (see
`runtime.runs.deps`)."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide

from runtime.api.deps import Caller, Root
from runtime.monitoring.reports import MonitoringService


def provide_monitoring(root: Root, actor: Caller) -> MonitoringService:
    return MonitoringService(root.db, root.authz)


MONITORING_DEPENDENCIES = {"monitoring": Provide(provide_monitoring, sync_to_thread=False)}
Monitoring = NamedDependency[MonitoringService]
