"""`create_app(settings) -> Litestar`: all wiring happens here, nowhere else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, Request, get
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.pydantic import PydanticInitPlugin
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from nodes.registry import DEFAULT_REGISTRY, NodeRegistry
from runtime.api.auth import caller_of, jwt_auth
from runtime.api.deps import Root, provide_actor, provide_composition
from runtime.api.errors import EXCEPTION_HANDLERS
from runtime.api.methods import allow_every_method
from runtime.api.openapi import StrictBodySchemaPlugin, openapi_router
from runtime.api.request import DirigentRequest, refuse_nul_in_url
from runtime.api.security import LocalSwagger, security_headers, swagger_assets
from runtime.approvals.controller import TaskController
from runtime.audit.controller import AuditController
from runtime.codes.controller import ErrorCodeController
from runtime.composition import Composition
from runtime.connections.controller import ConnectionController
from runtime.errors import Unavailable
from runtime.feedback.controller import FeedbackController
from runtime.flows.controller import FlowController
from runtime.flows.draft_controller import DraftController
from runtime.flows.uses_controller import VersionUsesController
from runtime.knowledge.controller import KnowledgeController
from runtime.llm.controller import ModelEndpointController
from runtime.mcp.controller import McpServerController
from runtime.monitoring.controller import MonitoringController
from runtime.monitoring.metrics_controller import measure_requests, metrics_endpoint
from runtime.monitoring.metrics_state import SharedState
from runtime.notifications.controller import NotificationController, NotificationSettingsController
from runtime.observability import tracing
from runtime.policy.resources import Platform
from runtime.runs.controller import RunController
from runtime.runs.viewer_controller import RunsViewerController
from runtime.settings import Settings
from runtime.starters.controller import StarterController
from runtime.testing.controller import TestReportController
from runtime.users.auth_controller import AuthController
from runtime.users.controller import UserController

CONTROLLERS: list[Any] = [
    UserController,
    FlowController,
    DraftController,
    RunController,
    TaskController,
    AuditController,
    ModelEndpointController,
    KnowledgeController,
    ConnectionController,
    TestReportController,
    StarterController,
    FeedbackController,
    MonitoringController,
    AuthController,
    NotificationController,
    NotificationSettingsController,
    VersionUsesController,
    RunsViewerController,
    McpServerController,
    ErrorCodeController,
]


API_DESCRIPTION = (
    "Every error is an `ErrorBody`: `{error, message, errors?}` plus the error's parameters. "
    "No text may contain the NUL character (400 `nul_character`); JSON may nest at most 64 "
    "levels (400 `too_deeply_nested`). Sign in with POST /api/auth/login and send the token "
    "as `Authorization: Bearer <token>`."
)


class Health(msgspec.Struct, omit_defaults=True):
    status: str
    database: str | None = None  # the details: for admins only (`read_health`)
    worker: str | None = None


@get("/health", tags=["ops"], exclude_from_auth=True)
async def health(root: Root, request: Request[Any, Any, Any]) -> Health:
    """`{"status": "ok"}` for anyone (load balancers); with an admin's token also the
    database kind and this process's name (host:pid), which others need not know."""
    try:
        async with root.db.read() as session:
            await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):  # a probe needs an answer, not a 500 with a stack trace
        raise Unavailable("the database does not answer", code="database_unavailable") from None
    caller = await caller_of(request)
    if caller is None or not root.authz.is_allowed(caller, "read_health", Platform()):
        return Health(status="ok")
    return Health(status="ok", database=root.db.dialect, worker=root.runs.worker_id)


def create_app(
    settings: Settings | None = None,
    *,
    services: Mapping[str, Any] | None = None,
    registry: NodeRegistry = DEFAULT_REGISTRY,
    migrate: bool = True,
    background: bool = True,
) -> Litestar:
    settings = settings or Settings()
    tracing.configure(settings)  # before the runtime: its engine asks whether to trace
    runtime = Composition.build(settings, services=services, registry=registry)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await runtime.startup(migrate=migrate, background=background)
        try:
            yield
        finally:
            await runtime.shutdown()
            tracing.flush()

    auth = jwt_auth(runtime.jwt_secret, settings.token_ttl_minutes, settings.token_issuer)
    app = Litestar(
        route_handlers=[health, metrics_endpoint, swagger_assets(), *CONTROLLERS],
        dependencies={
            "root": Provide(provide_composition, sync_to_thread=False),
            "actor": Provide(provide_actor, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        # After the authentication's hook: the request metrics see what it refuses, too.
        on_app_init=[auth.on_app_init, measure_requests],
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Dirigent runtime",
            version="0.1.0",
            description=API_DESCRIPTION,
            path="/schema",
            openapi_router=openapi_router("/schema", auth),  # writes the real answers in
            render_plugins=[LocalSwagger()],
        ),
        # Request bodies are validated strictly (`runtime.wire.Body`): Litestar's own
        # call passes strict=False unless told otherwise.
        plugins=[PydanticInitPlugin(validate_strict=True), StrictBodySchemaPlugin()],
        request_class=DirigentRequest,  # refuses JSON nested too deeply, or with NUL, before decoding
        before_request=refuse_nul_in_url,
        before_send=[security_headers(settings), allow_every_method],
        cors_config=CORSConfig(allow_origins=settings.cors_origins) if settings.cors_origins else None,
        request_max_body_size=2 * 1024 * 1024,
    )
    app.state.composition = runtime
    app.state.verified_tokens = auth.token_cls  # this app's own memory of verified tokens
    app.state.metrics_state = SharedState(runtime.db)  # /metrics' gauges read from the database
    return app
