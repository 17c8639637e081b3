"""`ModelEndpointRegistry`: the model endpoints admins register, stored and served.

Rows of `model_endpoints` are the truth; each process keeps them in memory as the `llm`
service's `ModelEndpoints` (one cached HTTP client per endpoint). A change (create,
update, delete) bumps the `model_endpoints` change counter in its own transaction
(`runtime.db.change_counters`); the process that served it reloads at once, every other
process (replicas, `dirigent worker`) at its next sweep (`refresh`, every
`DIRIGENT_SWEEP_INTERVAL_S`), which reads the counter and reloads when it moved.

API keys are sealed with the connections' `SecretBox` (Fernet; `DIRIGENT_SECRET_KEY` or
the data dir's `secret.key`), never answered, never audited: the API says `has_api_key`.

Deleting an endpoint that a submitted, approved or published version uses is refused
(409 `endpoint_in_use`, naming those versions): what the board approved must keep
working. Point the endpoint at another server instead (PATCH keeps its name), or retire
the versions first. Drafts and working copies do not hold an endpoint: their test runs
then fail with `no_model_endpoint`, which the studio explains.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nodes.registry import NodeRegistry
from runtime.audit.service import append as audit
from runtime.connections.egress import EgressGuard
from runtime.connections.errors import EgressDenied
from runtime.connections.secrets import SecretBox, SecretKeyError
from runtime.db import change_counters
from runtime.db.database import Database
from runtime.db.models import Flow, FlowVersion, ModelEndpoint, User, iso, utcnow
from runtime.errors import BadRequest, Conflict, NotFound, Unavailable
from runtime.llm.client import (
    DEFAULT_ENDPOINT,
    ChatEndpoint,
    EndpointUnavailable,
    HFChatModel,
    ModelEndpoints,
    check_endpoint_address,
    origin,
)
from runtime.llm.schemas import (
    HTTP_URL,
    EndpointTestResult,
    EndpointTestSummary,
    ModelEndpointCreate,
    ModelEndpointPatch,
    ModelEndpointView,
)
from runtime.policy.resources import Actor
from runtime.settings import Settings

log = logging.getLogger("dirigent.llm")

# Versions whose model endpoints must stay: under review, approved, callable.
HELD_STATES = ("submitted", "approved", "published")
TEST_TIMEOUT_S = 30.0
KEY = "api_key"  # the one secret in an endpoint's sealed box


class ModelEndpointRegistry:
    """Stores the admins' model endpoints and keeps this process's `llm` service in step.

    Args:
        llm: the process's chat model; None when the runtime was given another `llm`
            service (tests): endpoints are then stored but neither served nor tested.
        guard: the egress guard registrations are checked with (the llm's own, if any).
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        box: SecretBox,
        llm: HFChatModel | None,
        guard: EgressGuard,
        registry: NodeRegistry,
    ) -> None:
        self.settings = settings
        self.db = db
        self.box = box
        self.llm = llm
        self._guard = guard
        self.registry = registry
        self.loaded_version: int | None = None  # the change counter the served endpoints reflect
        self._reloading = asyncio.Lock()

    @property
    def guard(self) -> EgressGuard:
        return self.llm.guard if self.llm is not None else self._guard

    # -- this process's endpoints --------------------------------------------------------
    async def reload(self) -> None:
        """Serve what the database holds now (on start, after a change here, and when the
        sweep saw the counter move). Serialised, so an older read never wins."""
        if self.llm is None:
            return
        async with self._reloading, self.db.read() as session:
            # The counter first: a change committed in between is then seen again next time.
            version = await change_counters.read(session, change_counters.MODEL_ENDPOINTS)
            rows = (await session.execute(select(ModelEndpoint).order_by(ModelEndpoint.name))).scalars().all()
            self.llm.endpoints = ModelEndpoints.from_settings(
                self.settings, [(row.name, row.base_url, row.model, self._key_of(row)) for row in rows]
            )
            self.loaded_version = version

    async def refresh(self) -> None:
        """The sweep's hook: reload when another process changed the endpoints (one
        primary-key read otherwise). Never fails the sweep."""
        if self.llm is None:
            return
        try:
            async with self.db.read() as session:
                version = await change_counters.read(session, change_counters.MODEL_ENDPOINTS)
            if version != self.loaded_version:
                await self.reload()
        except Exception:
            log.exception("could not reload the model endpoints; trying again at the next sweep")

    def _key_of(self, row: ModelEndpoint) -> str | None:
        try:
            return self.box.open(row.api_key_encrypted).get(KEY)
        except SecretKeyError:
            log.error(
                "the API key of model endpoint '%s' does not decrypt with the current secret key; "
                "it is called without one until an admin enters the key again",
                row.name,
            )
            return None

    # -- reading -------------------------------------------------------------------------
    async def list_endpoints(self) -> list[ModelEndpointView]:
        async with self.db.read() as session:
            found = (
                await session.execute(
                    select(ModelEndpoint, User.username)
                    .outerjoin(User, User.id == ModelEndpoint.created_by)
                    .order_by(ModelEndpoint.name)
                )
            ).all()
        views = [_view(row, username) for row, username in found]
        if self.settings.llm_url and not any(view.name == DEFAULT_ENDPOINT for view in views):
            views.insert(0, self._environment_view())
        return views

    def _environment_view(self) -> ModelEndpointView:
        settings = self.settings
        assert settings.llm_url is not None
        return ModelEndpointView(
            name=DEFAULT_ENDPOINT,
            base_url=_without_credentials(settings.llm_url),
            model=settings.llm_model,
            source="environment",
            has_api_key=bool(settings.llm_api_key),
        )

    # -- changing ------------------------------------------------------------------------
    async def create(self, actor: Actor, data: ModelEndpointCreate) -> ModelEndpointView:
        base_url = _checked_base_url(data.base_url)
        await self._check_address(base_url)
        async with self.db.write() as session:
            taken = (
                await session.execute(select(ModelEndpoint.id).where(ModelEndpoint.name == data.name))
            ).first()
            if taken:
                raise Conflict(
                    f"a model endpoint named '{data.name}' exists already; change it instead",
                    code="name_taken",
                    what="model_endpoint",
                    name=data.name,
                )
            creator = await session.get(User, actor.id)
            row = ModelEndpoint(
                name=data.name,
                base_url=base_url,
                model=data.model,
                api_key_encrypted=self.box.seal({KEY: data.api_key}) if data.api_key else None,
                created_by=creator.id if creator is not None else None,
                updated_at=utcnow(),
            )
            session.add(row)
            await session.flush()
            await change_counters.bump(session, change_counters.MODEL_ENDPOINTS)
            await audit(
                session,
                actor=actor.username,
                action="model_endpoint.registered",
                resource_type="model_endpoint",
                resource_id=row.id,
                detail={
                    "name": row.name,
                    "base_url": row.base_url,
                    "model": row.model,
                    "credentials_changed": ["api_key"] if data.api_key else [],
                },
            )
            view = _view(row, creator.username if creator is not None else None)
        await self.reload()
        return view

    async def update(self, actor: Actor, name: str, data: ModelEndpointPatch) -> ModelEndpointView:
        given = data.model_fields_set
        base_url = _checked_base_url(data.base_url) if data.base_url is not None else None
        if base_url is not None:
            await self._check_address(base_url)
        async with self.db.write() as session:
            row = await self._row(session, name)
            changed: list[str] = []
            if base_url is not None and base_url != row.base_url:
                row.base_url = base_url
                changed.append("base_url")
            if data.model is not None and data.model != row.model:
                row.model = data.model
                changed.append("model")
            credentials = "kept"
            if "api_key" in given:
                row.api_key_encrypted = self.box.seal({KEY: data.api_key}) if data.api_key else None
                credentials = "set" if data.api_key else "removed"
            if changed or credentials != "kept":
                # The last test described another endpoint.
                row.last_test_at = row.last_test_ok = row.last_test_error = row.last_test_latency_ms = None
            row.updated_at = utcnow()
            await change_counters.bump(session, change_counters.MODEL_ENDPOINTS)
            await audit(
                session,
                actor=actor.username,
                action="model_endpoint.updated",
                resource_type="model_endpoint",
                resource_id=row.id,
                detail={
                    "name": row.name,
                    "base_url": row.base_url,
                    "model": row.model,
                    "changed": changed,
                    "credentials": credentials,
                },
            )
            creator = await session.get(User, row.created_by) if row.created_by else None
            view = _view(row, creator.username if creator is not None else None)
        await self.reload()
        return view

    async def delete(self, actor: Actor, name: str) -> None:
        async with self.db.write() as session:
            row = await self._row(session, name)
            # With DIRIGENT_LLM_URL set, removing an admin's "default" falls back to it.
            if not (name == DEFAULT_ENDPOINT and self.settings.llm_url):
                holders = await self._versions_using(session, name)
                if holders:
                    listed = ", ".join(
                        f"'{held['flow']}' version {held['version']} ({held['state']})" for held in holders
                    )
                    raise Conflict(
                        f"model endpoint '{name}' is used by {listed}; point it at another server "
                        "instead (PATCH keeps its name), or retire those versions first",
                        code="endpoint_in_use",
                        endpoint=name,
                        versions=holders,
                    )
            await session.delete(row)
            await change_counters.bump(session, change_counters.MODEL_ENDPOINTS)
            await audit(
                session,
                actor=actor.username,
                action="model_endpoint.removed",
                resource_type="model_endpoint",
                resource_id=row.id,
                detail={"name": name, "base_url": row.base_url},
            )
        await self.reload()

    # -- the test button -----------------------------------------------------------------
    async def test(self, actor: Actor, name: str) -> EndpointTestResult:
        """One one-token chat request through the client and egress guard every call uses."""
        if self.llm is None:
            raise Unavailable(
                "this runtime's llm service is not a Messages API client; nothing to test",
                code="endpoint_not_testable",
            )
        async with self.db.read() as session:
            row = (
                await session.execute(select(ModelEndpoint).where(ModelEndpoint.name == name))
            ).scalar_one_or_none()
        endpoint = self._endpoint(name, row)
        began = time.perf_counter()
        result = EndpointTestResult(name=name, ok=True, latency_ms=0.0)
        try:
            answer = await self.llm.probe(endpoint, timeout_s=TEST_TIMEOUT_S)
            result.message = f"{endpoint.display_url} answered with model {answer.model or endpoint.model}"
        except EgressDenied as denied:
            result.ok, result.error, result.message = False, "not_allowed", denied.message
        except EndpointUnavailable as failed:
            result.ok, result.error, result.message = False, failed.reason, failed.message  # type: ignore[assignment]
        result.latency_ms = round((time.perf_counter() - began) * 1000, 1)
        async with self.db.write() as session:
            stored = await session.get(ModelEndpoint, row.id) if row is not None else None
            if stored is not None:
                stored.last_test_at = utcnow()
                stored.last_test_ok = result.ok
                stored.last_test_error = result.error
                stored.last_test_latency_ms = result.latency_ms
            await audit(
                session,
                actor=actor.username,
                action="model_endpoint.tested",
                resource_type="model_endpoint",
                resource_id=row.id if row is not None else None,
                detail={"name": name, "host": endpoint.host, "ok": result.ok, "error": result.error},
            )
        return result

    def _endpoint(self, name: str, row: ModelEndpoint | None) -> ChatEndpoint:
        """The endpoint as stored now (not as this process last loaded it)."""
        if row is not None:
            return ModelEndpoints.from_settings(
                self.settings, [(row.name, row.base_url, row.model, self._key_of(row))]
            ).get(name)
        if name == DEFAULT_ENDPOINT and self.settings.llm_url:
            return ModelEndpoints.from_settings(self.settings).get(name)
        raise NotFound(f"model endpoint '{name}' not found", code="not_found", resource="model_endpoint")

    # -- helpers -------------------------------------------------------------------------
    async def _row(self, session: AsyncSession, name: str) -> ModelEndpoint:
        row = (
            await session.execute(select(ModelEndpoint).where(ModelEndpoint.name == name))
        ).scalar_one_or_none()
        if row is not None:
            return row
        if name == DEFAULT_ENDPOINT and self.settings.llm_url:
            raise NotFound(
                "model endpoint 'default' not found among the registered ones: it comes from "
                "DIRIGENT_LLM_URL (change it there, or register an endpoint named 'default' to override it)",
                code="default_endpoint_not_registered",
            )
        raise NotFound(f"model endpoint '{name}' not found", code="not_found", resource="model_endpoint")

    async def _check_address(self, base_url: str) -> None:
        """Refuse a URL the egress guard would refuse at every call (the operator's own
        `DIRIGENT_LLM_URL` server excepted, as in `runtime.llm.client`)."""
        if self.settings.llm_url and origin(base_url) == origin(self.settings.llm_url):
            return
        try:
            await check_endpoint_address(self.guard, base_url)
        except EgressDenied as denied:
            raise BadRequest(
                denied.message, code="endpoint_not_allowed", host=urlsplit(base_url).hostname or base_url
            ) from None

    async def _versions_using(self, session: AsyncSession, name: str) -> list[dict[str, Any]]:
        found = await session.execute(
            select(Flow.id, Flow.name, Flow.slug, FlowVersion.number, FlowVersion.state, FlowVersion.document)
            .join(Flow, Flow.id == FlowVersion.flow_id)
            .where(FlowVersion.state.in_(HELD_STATES))
            .order_by(Flow.name, FlowVersion.number)
        )
        return [
            {"flow_id": flow_id, "flow": flow, "slug": slug, "version": number, "state": state}
            for flow_id, flow, slug, number, state, document in found
            if name in models_used(document, self.registry)
        ]


def models_used(document: Mapping[str, Any], registry: NodeRegistry) -> set[str]:
    """The model endpoint names a flow document's nodes call (a node type whose config has
    a `model` field; its default when the node leaves it out)."""
    used: set[str] = set()
    for node in document.get("nodes") or []:
        if not isinstance(node, Mapping) or node.get("type") not in registry:
            continue
        config = node.get("config") or {}
        field = registry[str(node["type"])].Config.model_fields.get("model")
        if field is None or not isinstance(config, Mapping):
            continue
        if node["type"] == "router" and not config.get("classes"):
            continue  # a router with a condition asks no model
        used.add(str(config.get("model") or field.default))
    return used


def _checked_base_url(base_url: str) -> str:
    """An http(s) URL with a host, without credentials, query or fragment; no trailing /."""
    url = base_url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise BadRequest(
            f"base_url {base_url!r} is not a URL",
            code="invalid_endpoint",
            reason="not_a_url",
            base_url=base_url,
            field="base_url",
        ) from None
    if parts.scheme not in ("http", "https"):
        raise BadRequest(
            "base_url must start with http:// or https://",
            code="invalid_endpoint",
            reason="scheme",
            base_url=base_url,
            field="base_url",
        )
    if not parts.hostname:
        raise BadRequest(
            "base_url needs a host, e.g. http://tgi:80",
            code="invalid_endpoint",
            reason="no_host",
            base_url=base_url,
            field="base_url",
        )
    if "@" in parts.netloc:
        raise BadRequest(
            "base_url must not contain a user or password; give the key as api_key (stored encrypted)",
            code="invalid_endpoint",
            reason="credentials",
            base_url=base_url,
            field="base_url",
        )
    if parts.query or parts.fragment:
        raise BadRequest(
            "base_url must not have a query (?…) or fragment (#…)",
            code="invalid_endpoint",
            reason="query",
            base_url=base_url,
            field="base_url",
        )
    if not HTTP_URL.fullmatch(url):  # what the OpenAPI documents (a port 1-65535, printable ASCII)
        raise BadRequest(
            "base_url must be an http:// or https:// URL with a host, e.g. http://tgi.intern:8080",
            code="invalid_endpoint",
            reason="pattern",
            base_url=base_url,
            field="base_url",
        )
    return url.rstrip("/")


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _view(row: ModelEndpoint, created_by: str | None) -> ModelEndpointView:
    last = None
    if row.last_test_at is not None and row.last_test_ok is not None:
        last = EndpointTestSummary(
            ok=row.last_test_ok,
            at=iso(row.last_test_at),
            latency_ms=row.last_test_latency_ms,
            error=row.last_test_error,  # type: ignore[arg-type]
        )
    return ModelEndpointView(
        name=row.name,
        base_url=_without_credentials(row.base_url),
        model=row.model,
        source="admin",
        has_api_key=row.api_key_encrypted is not None,
        created_by=created_by,
        created_at=iso(row.created_at),
        updated_at=iso(row.updated_at),
        last_test=last,
    )
