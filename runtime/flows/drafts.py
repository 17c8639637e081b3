"""Working copies: what a champion is editing, autosaved, kept even when invalid.

    GET  /api/flows/{id}/draft     the document, its problems, ETag: "<revision>"
    PUT  /api/flows/{id}/draft     If-Match: "<revision>" (or *) -> revision + 1
    POST /api/flows/{id}/versions  without a document: cut a version from the working copy

Every flow has one working copy (`FlowDraft`), created with the flow as version 1. Writes
are a compare-and-set on `revision`: the UPDATE names the revision the writer saw, so of
two writers with the same `If-Match` exactly one changes the row (on PostgreSQL the second
waits for the first's row lock and then finds the revision changed; SQLite serialises
writers) and the other gets 412 `draft_changed` with the current revision. A write
without `If-Match` is refused (428 `if_match_required`): a client that never read the
working copy must not overwrite it by accident; `If-Match: *` overwrites on purpose.

Writes are not audited one by one (the studio autosaves every few seconds); cutting a
version is (`version.created` with `source: working_copy`). Reading and writing the
working copy need the same right as cutting versions: `edit` on the flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nodes.registry import DEFAULT_REGISTRY, NodeRegistry
from runtime.db.models import Flow, FlowVersion, User, iso, utcnow
from runtime.engine.validation import Validation, too_large, validate_document_in_thread
from runtime.errors import PreconditionFailed, PreconditionRequired
from runtime.flows.models import FlowDraft
from runtime.flows.service import checked_document, get_flow, latest_version, record_version
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor

ANY = "*"


@dataclass(frozen=True)
class DraftValidation:
    """The same shape as `POST /api/flows/validate` answers."""

    valid: bool
    content_hash: str | None
    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class DraftView:
    """A working copy in the API."""

    flow_id: str
    revision: int
    etag: str
    base_version: int | None
    updated_by: str | None
    updated_at: str | None
    document: Any
    validation: DraftValidation


def etag_of(revision: int) -> str:
    return f'"{revision}"'


def _revisions(if_match: str) -> list[int] | None:
    """The revisions an If-Match header names; None for `*` (any). RFC 9110: a list of
    strong entity tags (`"3"`; a bare `3` is taken too); weak tags (`W/"3"`) never match."""
    tags = [tag.strip() for tag in if_match.split(",") if tag.strip()]
    if ANY in tags:
        return None
    return [int(tag.strip('"')) for tag in tags if not tag.startswith("W/") and tag.strip('"').isdigit()]


def _matches(if_match: str, revision: int) -> bool:
    wanted = _revisions(if_match)
    return wanted is None or revision in wanted


async def _row(session: AsyncSession, flow: Flow) -> FlowDraft:
    """The flow's working copy; a flow without one (made before working copies existed and
    missed by the migration) gets one from its newest version, at revision 0, not stored."""
    draft = await session.get(FlowDraft, flow.id, populate_existing=True)
    if draft is not None:
        return draft
    latest = await latest_version(session, flow.id)
    return FlowDraft(
        flow_id=flow.id,
        document=latest.document if latest else None,
        base_version=latest.number if latest else None,
        revision=0,
        updated_by=latest.author_id if latest else flow.created_by,
        updated_at=latest.created_at if latest else flow.created_at,
    )


async def view_of(
    session: AsyncSession, draft: FlowDraft, registry: NodeRegistry, report: Validation | None = None
) -> DraftView:
    """`report`: the validation of `draft.document` when the caller has it already."""
    report = report or await validate_document_in_thread(draft.document, registry)
    user = await session.get(User, draft.updated_by) if draft.updated_by else None
    return DraftView(
        flow_id=draft.flow_id,
        revision=draft.revision,
        etag=etag_of(draft.revision),
        base_version=draft.base_version,
        updated_by=user.username if user else None,
        updated_at=iso(draft.updated_at),
        document=draft.document,
        validation=DraftValidation(report.valid, report.content_hash, report.errors),
    )


async def read_draft(
    session: AsyncSession,
    authz: Authorizer,
    actor: Actor,
    flow_id: str,
    registry: NodeRegistry = DEFAULT_REGISTRY,
) -> DraftView:
    flow = await get_flow(session, authz, actor, flow_id, "edit")
    return await view_of(session, await _row(session, flow), registry)


def _changed(flow_id: str, current: FlowDraft, username: str | None) -> PreconditionFailed:
    return PreconditionFailed(
        f"the working copy of flow {flow_id} was changed (revision {current.revision}"
        f"{f' by {username}' if username else ''}) since you read it; "
        "read it again (GET .../draft) and apply your change to that",
        code="draft_changed",
        revision=current.revision,
        etag=etag_of(current.revision),
        updated_by=username,
        updated_at=iso(current.updated_at),
    )


async def _refuse_stale(session: AsyncSession, flow_id: str) -> PreconditionFailed:
    current = await session.get(FlowDraft, flow_id, populate_existing=True)
    if current is None:  # cannot happen once a row exists; keeps the type checker honest
        return PreconditionFailed(
            "the working copy is gone; reload",
            code="draft_changed",
            revision=0,
            etag=etag_of(0),
            updated_by=None,
            updated_at=None,
        )
    user = await session.get(User, current.updated_by)
    return _changed(flow_id, current, user.username if user else None)


async def write_draft(
    session: AsyncSession,
    authz: Authorizer,
    actor: Actor,
    flow_id: str,
    document: Any,
    if_match: str | None,
    registry: NodeRegistry = DEFAULT_REGISTRY,
) -> DraftView:
    """Replace the working copy's document if `if_match` names its current revision."""
    flow = await get_flow(session, authz, actor, flow_id, "edit")
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            "send If-Match with the ETag of the working copy you changed (GET /api/flows/"
            f"{flow_id}/draft answers it), or If-Match: * to overwrite whatever is there",
            code="if_match_required",
        )
    report = await validate_document_in_thread(document, registry)
    if report.too_large:  # bounded like a version: an autosave must not fill the database
        raise too_large(report.errors)
    now = utcnow()
    existing = await session.get(FlowDraft, flow.id)
    if existing is None:  # see `_row`: the first write stores it (revision 0 -> 1)
        if not _matches(if_match, 0):
            raise _changed(flow_id, await _row(session, flow), None)
        try:
            async with session.begin_nested():
                session.add(
                    FlowDraft(
                        flow_id=flow.id, document=document, revision=1, updated_by=actor.id, updated_at=now
                    )
                )
        except IntegrityError:
            raise await _refuse_stale(session, flow_id) from None
    else:
        statement = update(FlowDraft).where(FlowDraft.flow_id == flow.id)
        wanted = _revisions(if_match)
        if wanted is not None:
            statement = statement.where(FlowDraft.revision.in_(wanted))
        result = await session.execute(
            statement.values(
                document=document, revision=FlowDraft.revision + 1, updated_by=actor.id, updated_at=now
            ).execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise await _refuse_stale(session, flow_id)
    draft = await session.get(FlowDraft, flow.id, populate_existing=True)
    assert draft is not None
    return await view_of(session, draft, registry, report)


async def cut_version(
    session: AsyncSession, authz: Authorizer, actor: Actor, flow_id: str, if_match: str | None = None
) -> tuple[FlowVersion, bool]:
    """A version from the working copy: only when it is valid (422 `invalid_flow` with every
    problem otherwise), and only when it differs from the newest version (otherwise that
    one is answered, `False`). With `if_match`, only if the working copy is still at that
    revision (what the caller last saved)."""
    flow = await get_flow(session, authz, actor, flow_id, "edit")
    draft = await _row(session, flow)
    if if_match and if_match.strip() and not _matches(if_match, draft.revision):
        user = await session.get(User, draft.updated_by)
        raise _changed(flow_id, draft, user.username if user else None)
    normalised, content_hash = await checked_document(draft.document)
    version, created = await record_version(session, actor, flow, normalised, content_hash, "working_copy")
    if draft.revision > 0:
        # Not a change of the document: the revision (the writers' ETag) stays.
        await session.execute(
            update(FlowDraft)
            .where(FlowDraft.flow_id == flow.id)
            .values(base_version=version.number)
            .execution_options(synchronize_session=False)
        )
    return version, created
