"""Flows and their versions: create, save, and the governance lifecycle.

    draft ──submit──▶ submitted ──approve (quorum)──▶ approved ──publish──▶ published ──retire──▶ retired
                          └──reject──▶ rejected                 ▲ publish again = rollback ┘

Every transition is a compare-and-set on the version's `revision`, so two racing
requests (double submit, two approvals, double publish) cannot both win: the loser
gets a `Conflict`. The policy decides who may act (four eyes included); this module
decides what the state allows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import append as audit
from runtime.db.database import update_exactly_one
from runtime.db.models import Flow, FlowVersion, VersionReview, utcnow
from runtime.engine.validation import MAX_DOCUMENT_BYTES, too_large, validate_document_in_thread
from runtime.errors import BadRequest, Conflict, InvalidFlow, NotFound
from runtime.flows.gate import gate_of
from runtime.flows.models import FlowDraft
from runtime.notifications import service as notifications
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import current_round, flow_view, version_view, workspace_view
from runtime.settings import Settings
from runtime.users.workspaces import workspace_by_slug

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


async def checked_document(document: Any) -> tuple[dict[str, Any], str]:
    """The normalised document and its hash, or `InvalidFlow` with every error (checked in a
    worker thread: see `validate_document_in_thread`)."""
    report = await validate_document_in_thread(document)
    if not report.valid or report.document is None or report.content_hash is None:
        if report.too_large:
            raise too_large(report.errors)
        raise InvalidFlow(report.errors)
    return report.document.as_json(), report.content_hash


async def get_flow(
    session: AsyncSession, authz: Authorizer, actor: Actor, flow_id: str, action: str = "read"
) -> Flow:
    flow = await session.get(Flow, flow_id)
    if flow is None:
        raise NotFound("flow not found", code="not_found", resource="flow")
    authz.authorize(actor, action, flow_view(flow))
    return flow


async def get_version(
    session: AsyncSession, authz: Authorizer, actor: Actor, flow_id: str, number: int, action: str = "read"
) -> tuple[Flow, FlowVersion]:
    flow = await get_flow(session, authz, actor, flow_id)
    version = (
        await session.execute(
            select(FlowVersion).where(FlowVersion.flow_id == flow_id, FlowVersion.number == number)
        )
    ).scalar_one_or_none()
    if version is None:
        raise NotFound(f"flow version {number} not found", code="not_found", resource="flow_version")
    if action != "read":
        authz.authorize(actor, action, await version_view(session, flow, version))
    return flow, version


async def create_flow(
    session: AsyncSession,
    authz: Authorizer,
    actor: Actor,
    workspace_slug: str,
    name: str,
    slug: str,
    document: Mapping[str, Any],
) -> tuple[Flow, FlowVersion]:
    workspace = await workspace_by_slug(session, workspace_slug)
    authz.authorize(actor, "create_flow", workspace_view(workspace))
    if not SLUG.fullmatch(slug or ""):
        raise BadRequest(
            f"'{slug}' is not a valid slug: 2 to 63 lowercase letters, digits and -",
            code="invalid_slug",
            slug=slug,
        )
    if not (name or "").strip():
        raise BadRequest("a flow needs a name", code="name_required")
    # Slugs are unique in the whole installation (`/api/assistants/{slug}` names one
    # assistant), so a slug may be taken in a workspace the caller cannot see. The answer
    # is the same whoever holds it, and says neither that nor where it exists.
    taken = (await session.execute(select(Flow.id).where(Flow.slug == slug))).first()
    if taken:
        # No parameters: the answer is the same whoever holds the slug (see above).
        raise Conflict(f"the slug '{slug}' cannot be used; choose another one", code="slug_unavailable")
    normalised, content_hash = await checked_document(document)
    flow = Flow(workspace_id=workspace.id, name=name.strip(), slug=slug, created_by=actor.id)
    session.add(flow)
    await session.flush()
    version = await _insert_version(session, actor, flow, 1, normalised, content_hash)
    # The working copy starts as version 1 (`runtime.flows.drafts`).
    session.add(
        FlowDraft(flow_id=flow.id, document=normalised, base_version=1, revision=1, updated_by=actor.id)
    )
    await audit(
        session,
        actor=actor.username,
        action="flow.created",
        resource_type="flow",
        resource_id=flow.id,
        version_hash=content_hash,
        detail={"slug": slug, "name": name},
    )
    return flow, version


async def _insert_version(
    session: AsyncSession,
    actor: Actor,
    flow: Flow,
    number: int,
    document: dict[str, Any],
    content_hash: str,
    source: str = "document",
) -> FlowVersion:
    version = FlowVersion(
        flow_id=flow.id,
        number=number,
        content_hash=content_hash,
        document=document,
        state="draft",
        author_id=actor.id,
    )
    session.add(version)
    await session.flush()
    await audit(
        session,
        actor=actor.username,
        action="version.created",
        resource_type="flow_version",
        resource_id=version.id,
        version_hash=content_hash,
        detail={"flow_id": flow.id, "number": number, "source": source},
    )
    return version


async def latest_version(session: AsyncSession, flow_id: str) -> FlowVersion | None:
    return (
        await session.execute(
            select(FlowVersion)
            .where(FlowVersion.flow_id == flow_id)
            .order_by(FlowVersion.number.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def save_version(
    session: AsyncSession, authz: Authorizer, actor: Actor, flow_id: str, document: Mapping[str, Any]
) -> tuple[FlowVersion, bool]:
    """A new version when the hash changed; otherwise the latest (layout updated in place)."""
    flow = await get_flow(session, authz, actor, flow_id, "edit")
    normalised, content_hash = await checked_document(document)
    return await record_version(session, actor, flow, normalised, content_hash)


async def record_version(
    session: AsyncSession,
    actor: Actor,
    flow: Flow,
    normalised: dict[str, Any],
    content_hash: str,
    source: str = "document",
) -> tuple[FlowVersion, bool]:
    """Cut a checked document as the next version, unless the latest has the same hash:
    then that one is answered (`False`), its layout updated in place. `source` says
    where the document came from (`document` or `working_copy`) in the audit entry."""
    latest = await latest_version(session, flow.id)
    if latest is not None and latest.content_hash == content_hash:
        if latest.document.get("layout") != normalised.get("layout"):
            # Positions are not part of the hash; keeping them is not a change of the flow.
            latest.document = {**latest.document, "layout": normalised.get("layout", {})}
        return latest, False
    number = (latest.number + 1) if latest else 1
    return await _insert_version(session, actor, flow, number, normalised, content_hash, source), True


def _require_state(version: FlowVersion, allowed_from: tuple[str, ...], action: str) -> None:
    if version.state not in allowed_from:
        raise Conflict(
            f"version {version.number} is {version.state}; it can be {action} only when "
            f"{' or '.join(allowed_from)}",
            code="invalid_state",
            number=version.number,
            state=version.state,
            action=action,
            allowed=" or ".join(allowed_from),
        )


async def _transition(
    session: AsyncSession,
    version: FlowVersion,
    allowed_from: tuple[str, ...],
    new_state: str,
    action: str,
    **values: Any,
) -> None:
    _require_state(version, allowed_from, action)
    await update_exactly_one(
        session,
        update(FlowVersion)
        .where(
            FlowVersion.id == version.id,
            FlowVersion.revision == version.revision,
            FlowVersion.state == version.state,
        )
        .values(state=new_state, revision=FlowVersion.revision + 1, **values),
        f"version {version.number} was changed by someone else just now; reload",
        "concurrent_change",
    )
    await session.refresh(version)


async def submit_version(
    session: AsyncSession,
    authz: Authorizer,
    actor: Actor,
    flow_id: str,
    number: int,
    override_reason: str | None = None,
) -> FlowVersion:
    """Submit a draft for approval: only when its latest fixed-mode test report passed
    (`runtime.flows.gate`), unless an admin overrides the gate with a reason."""
    flow, version = await get_version(session, authz, actor, flow_id, number, "submit")
    _require_state(version, ("draft",), "submitted")
    gate = await gate_of(session, version)
    detail: dict[str, Any] = {"flow_id": flow.id, "number": number, "tests": gate.status}
    if gate.latest_fixed is not None:
        detail["test_report_id"] = gate.latest_fixed.id
    if override_reason is not None:
        if not override_reason.strip():
            raise BadRequest(
                "an override of the test gate needs a reason that says why", code="override_reason_required"
            )
        authz.authorize(actor, "override_test_gate", await version_view(session, flow, version))
        detail["override_reason"] = override_reason.strip()
    elif (refusal := gate.refusal(flow.id, number)) is not None:
        failing = (
            []
            if gate.latest_fixed is None
            else [case["name"] for case in gate.latest_fixed.cases if not case.get("passed")]
        )
        raise Conflict(
            refusal, code="tests_not_passed", refusal=refusal, gate=gate.status, failed_cases=failing
        )
    await _transition(
        session, version, ("draft",), "submitted", "submitted", submitted_by=actor.id, submitted_at=utcnow()
    )
    await notifications.version_submitted(session, flow, version, actor, authz)
    await audit(
        session,
        actor=actor.username,
        action="version.submitted",
        resource_type="flow_version",
        resource_id=version.id,
        version_hash=version.content_hash,
        detail=detail,
    )
    return version


async def review_version(
    session: AsyncSession,
    authz: Authorizer,
    settings: Settings,
    actor: Actor,
    flow_id: str,
    number: int,
    decision: str,
    comment: str,
) -> FlowVersion:
    """A board member approves or rejects; approval takes effect once the quorum is met."""
    action = "approve" if decision == "approve" else "reject"
    flow, version = await get_version(session, authz, actor, flow_id, number, action)
    if version.state != "submitted":
        raise Conflict(
            f"version {number} is {version.state}; only submitted versions are reviewed",
            code="not_submitted",
            number=number,
            state=version.state,
        )
    review_round = await current_round(session, version)
    session.add(
        VersionReview(
            version_id=version.id,
            reviewer_id=actor.id,
            round=review_round,
            decision=decision,
            comment=comment or "",
        )
    )
    await session.flush()
    risk = str((version.document.get("card") or {}).get("risk", "limited"))
    needed = settings.quorum_for(risk)
    approvals = (
        await session.execute(
            select(func.count())
            .select_from(VersionReview)
            .where(
                VersionReview.version_id == version.id,
                VersionReview.round == review_round,
                VersionReview.decision == "approve",
            )
        )
    ).scalar_one()
    if decision == "reject":
        await _transition(session, version, ("submitted",), "rejected", "rejected")
    elif approvals >= needed:
        await _transition(session, version, ("submitted",), "approved", "approved")
    else:  # bump the revision anyway so that a racing final approval cannot double count
        await _transition(session, version, ("submitted",), "submitted", "reviewed")
    await notifications.version_reviewed(session, flow, version, actor, comment)
    await audit(
        session,
        actor=actor.username,
        action=f"version.{'approved' if decision == 'approve' else 'rejected'}",
        resource_type="flow_version",
        resource_id=version.id,
        version_hash=version.content_hash,
        detail={
            "flow_id": flow.id,
            "number": number,
            "comment": comment or "",
            "approvals": approvals,
            "quorum": needed,
            "risk": risk,
            "state": version.state,
        },
    )
    return version


async def publish_version(
    session: AsyncSession, authz: Authorizer, actor: Actor, flow_id: str, number: int
) -> FlowVersion:
    flow, version = await get_version(session, authz, actor, flow_id, number, "publish")
    if flow.live_version_id == version.id:
        raise Conflict(f"version {number} is already live", code="already_live", number=number)
    previous = flow.live_version_id
    await _transition(
        session,
        version,
        ("approved", "published"),
        "published",
        "published",
        published_by=actor.id,
        published_at=utcnow(),
    )
    await update_exactly_one(
        session,
        update(Flow)
        .where(
            Flow.id == flow.id,
            Flow.live_version_id.is_(previous) if previous is None else Flow.live_version_id == previous,
        )
        .values(live_version_id=version.id),
        "another version was published at the same moment; reload",
        "concurrent_change",
    )
    await session.refresh(flow)
    await audit(
        session,
        actor=actor.username,
        action="version.published",
        resource_type="flow_version",
        resource_id=version.id,
        version_hash=version.content_hash,
        detail={
            "flow_id": flow.id,
            "slug": flow.slug,
            "number": number,
            "previous_live_version_id": previous,
        },
    )
    return version


async def retire_version(
    session: AsyncSession, authz: Authorizer, actor: Actor, flow_id: str, number: int
) -> FlowVersion:
    flow, version = await get_version(session, authz, actor, flow_id, number, "retire")
    await _transition(session, version, ("approved", "published"), "retired", "retired")
    if flow.live_version_id == version.id:
        await session.execute(
            update(Flow)
            .where(Flow.id == flow.id)
            .values(live_version_id=None)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(flow)
    await audit(
        session,
        actor=actor.username,
        action="version.retired",
        resource_type="flow_version",
        resource_id=version.id,
        version_hash=version.content_hash,
        detail={"flow_id": flow.id, "number": number},
    )
    return version


__all__ = [
    "MAX_DOCUMENT_BYTES",
    "checked_document",
    "create_flow",
    "publish_version",
    "record_version",
    "retire_version",
    "review_version",
    "save_version",
    "submit_version",
]
