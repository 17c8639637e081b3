"""Triggers: ways to start runs of a published assistant without a person clicking.

    webhook    POST /api/triggers/{id} with the JSON inputs as body and two headers:
                 X-Dirigent-Timestamp: <unix seconds>
                 X-Dirigent-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>
               The secret is shown once, when the trigger is created. A timestamp more than
               5 minutes away from now is refused. The run is stored before the 202, in one
               transaction with the delivery's signature (the replay guard): a delivery
               seen before (same signature: a replay, or the sender's redelivery after a
               lost answer) starts nothing and answers with the run it started.
    schedule   a cron expression (croniter) in a time zone, with fixed inputs.

Runs start on behalf of the trigger's creator, who must still be allowed to invoke the
assistant, and always run its live version.

A schedule fires once per due time however many runtime processes there are: each process
polls for due schedules and claims one by moving `next_fire_at` from the due time to the
next one with a compare-and-set UPDATE; only the process whose UPDATE matched starts the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets as random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import Event
from runtime.audit.service import append as audit
from runtime.connections.http import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from runtime.connections.models import Trigger, TriggerDelivery
from runtime.connections.secrets import MASK, SecretBox
from runtime.connections.service import SCHEDULE_INTERVAL_ENV
from runtime.db.database import Database
from runtime.db.models import Flow, FlowVersion, new_id, utcnow
from runtime.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from runtime.json_limits import refuse_unfit_json
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import assistant_view, version_view
from runtime.runs.admission import Admission, AlreadyAccepted, Guard, insert_once
from runtime.runs.manager import RunManager
from runtime.users.service import load_actor

log = logging.getLogger("dirigent.triggers")
MAX_SKEW_S = 300
KINDS = ("webhook", "schedule")


@dataclass(frozen=True)
class Delivery:
    """What a webhook delivery started: `run_id`; `replayed` when it had been delivered before."""

    run_id: str
    replayed: bool = False


DELIVERIES: Table = TriggerDelivery.__table__  # type: ignore[assignment]
_FORGET_DELIVERIES = delete(DELIVERIES).where(DELIVERIES.c.received_at < bindparam("cutoff"))
_EARLIER_DELIVERY = select(DELIVERIES.c.run_id).where(
    DELIVERIES.c.trigger_id == bindparam("trigger_id"),
    DELIVERIES.c.signature_digest == bindparam("digest"),
)
_NOTE_RUN = (
    update(Trigger.__table__)  # type: ignore[arg-type]
    .where(Trigger.__table__.c.id == bindparam("trigger_id"))
    .values(last_run_id=bindparam("run_id"))
)


def _fired(trigger_id: str, digest: str | None) -> Callable[[str, str], Guard]:
    """The guard of a run started by a trigger: for a webhook, the delivery's signature
    (`AlreadyAccepted` with the earlier run when it was seen before); then the trigger's
    `last_run_id`. Runs in the transaction that stores the run's row."""

    def guard(run_id: str, dialect: str) -> Guard:
        if digest is not None:
            now = utcnow()
            # Older deliveries fail the timestamp check anyway.
            yield _FORGET_DELIVERIES, {"cutoff": now - timedelta(seconds=2 * MAX_SKEW_S)}
            row = {
                "id": new_id(),
                "trigger_id": trigger_id,
                "signature_digest": digest,
                "received_at": now,
                "run_id": run_id,
            }
            if not (yield insert_once(DELIVERIES, dialect), row):
                [(earlier,)] = yield _EARLIER_DELIVERY, {"trigger_id": trigger_id, "digest": digest}
                if earlier is None:  # accepted before migration 0006, which did not keep the run
                    raise Conflict(
                        "this delivery was received before (same signature); not started again",
                        code="replayed",
                    )
                raise AlreadyAccepted(earlier)
        yield _NOTE_RUN, {"trigger_id": trigger_id, "run_id": run_id}

    return guard


def next_fire(cron: str, timezone: str, after: datetime) -> datetime:
    """The first time strictly after `after` that `cron` names, in `timezone`, as UTC."""
    from croniter import croniter

    local = after.astimezone(ZoneInfo(timezone))
    return croniter(cron, local).get_next(datetime).astimezone(ZoneInfo("UTC"))  # type: ignore[no-any-return]


def _checked_schedule(cron: str | None, timezone: str) -> str:
    from croniter import croniter

    if not cron or not croniter.is_valid(cron):
        raise BadRequest(
            f"'{cron}' is not a cron expression like '0 7 * * 1-5' (07:00 on weekdays)",
            code="invalid_trigger",
            reason="cron",
            value=str(cron),
        )
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(
            f"unknown time zone '{timezone}', e.g. Europe/Berlin",
            code="invalid_trigger",
            reason="timezone",
            value=timezone,
        ) from None
    return cron


class TriggerService:
    def __init__(self, db: Database, box: SecretBox, authz: Authorizer) -> None:
        self.db = db
        self.box = box
        self.authz = authz
        self._schedules: asyncio.Task[None] | None = None

    # -- lifecycle: the schedule poller runs in every runtime process -------------------
    def start_background(self, runs: RunManager) -> None:
        interval = float(os.environ.get(SCHEDULE_INTERVAL_ENV, "1.0"))
        self._schedules = asyncio.create_task(self.run_schedules(runs, interval), name="schedules")

    async def stop(self) -> None:
        if self._schedules is not None:
            self._schedules.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._schedules
            self._schedules = None

    # -- managing (under the assistant) ------------------------------------------------
    async def _assistant(self, session: AsyncSession, actor: Actor, slug: str) -> tuple[Flow, FlowVersion]:
        flow = (await session.execute(select(Flow).where(Flow.slug == slug))).scalar_one_or_none()
        if flow is None:
            raise NotFound("assistant not found", code="not_found", resource="assistant")
        live = await session.get(FlowVersion, flow.live_version_id) if flow.live_version_id else None
        if live is None:
            raise NotFound(
                "assistant not found: it has no live version", code="not_found", resource="assistant"
            )
        # Whoever may publish the assistant may open another way to start it.
        if not self.authz.is_allowed(actor, "publish", await version_view(session, flow, live)):
            if self.authz.is_allowed(actor, "read", await assistant_view(session, flow, live)):
                raise Forbidden(
                    "you may not manage the triggers of this assistant; it needs the role "
                    "champion or admin in its workspace",
                    code="trigger_not_allowed",
                )
            raise NotFound("assistant not found", code="not_found", resource="assistant")
        return flow, live

    @staticmethod
    def as_json(trigger: Trigger, slug: str, secret: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": trigger.id,
            "assistant": slug,
            "kind": trigger.kind,
            "name": trigger.name,
            "enabled": trigger.enabled,
            "created_at": trigger.created_at.isoformat() if trigger.created_at else None,
            "last_fired_at": trigger.last_fired_at.isoformat() if trigger.last_fired_at else None,
            "last_run_id": trigger.last_run_id,
        }
        if trigger.kind == "webhook":
            data.update(
                url=f"/api/triggers/{trigger.id}",
                signing=secret or MASK,
                headers=[TIMESTAMP_HEADER, SIGNATURE_HEADER],
            )
        else:
            data.update(
                cron=trigger.cron,
                timezone=trigger.timezone,
                inputs=trigger.inputs,
                next_fire_at=trigger.next_fire_at.isoformat() if trigger.next_fire_at else None,
            )
        return data

    async def create(
        self,
        actor: Actor,
        slug: str,
        kind: str,
        *,
        name: str = "",
        cron: str | None = None,
        timezone: str = "Europe/Berlin",
        inputs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        if kind not in KINDS:
            raise BadRequest(
                f"unknown trigger kind '{kind}'; kinds: {', '.join(KINDS)}",
                code="invalid_trigger",
                reason="kind",
                value=kind,
                kinds=", ".join(KINDS),
            )
        async with self.db.write() as session:
            flow, _ = await self._assistant(session, actor, slug)
            trigger = Trigger(
                flow_id=flow.id,
                workspace_id=flow.workspace_id,
                kind=kind,
                name=name,
                created_by=actor.id,
                timezone=timezone,
                inputs=dict(inputs or {}),
                enabled=True,
            )
            secret = None
            if kind == "webhook":
                secret = random.token_urlsafe(32)
                trigger.sealed_secret = self.box.seal({"signing_key": secret})
            else:
                trigger.cron = _checked_schedule(cron, timezone)
                trigger.next_fire_at = next_fire(trigger.cron, timezone, utcnow())
            session.add(trigger)
            await session.flush()
            await audit(
                session,
                actor=actor.username,
                action="trigger.created",
                resource_type="trigger",
                resource_id=trigger.id,
                detail={"assistant": slug, "kind": kind, "cron": trigger.cron},
            )
            # The signing key is shown this once; afterwards only that it is set.
            return self.as_json(trigger, slug, secret)

    async def list_triggers(self, actor: Actor, slug: str) -> list[dict[str, Any]]:
        async with self.db.read() as session:
            flow, _ = await self._assistant(session, actor, slug)
            rows = (
                (
                    await session.execute(
                        select(Trigger).where(Trigger.flow_id == flow.id).order_by(Trigger.created_at)
                    )
                )
                .scalars()
                .all()
            )
        return [self.as_json(row, slug) for row in rows]

    async def delete(self, actor: Actor, slug: str, trigger_id: str) -> None:
        async with self.db.write() as session:
            flow, _ = await self._assistant(session, actor, slug)
            trigger = await session.get(Trigger, trigger_id)
            if trigger is None or trigger.flow_id != flow.id:
                raise NotFound("trigger not found", code="not_found", resource="trigger")
            await session.delete(trigger)
            await audit(
                session,
                actor=actor.username,
                action="trigger.deleted",
                resource_type="trigger",
                resource_id=trigger_id,
                detail={"assistant": slug, "kind": trigger.kind},
            )

    async def update(
        self,
        actor: Actor,
        slug: str,
        trigger_id: str,
        *,
        enabled: bool | None = None,
        cron: str | None = None,
        timezone: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        rotate_secret: bool = False,
    ) -> dict[str, Any]:
        """Pause/resume, change a schedule, or give a webhook a new signing key (shown once)."""
        async with self.db.write() as session:
            flow, _ = await self._assistant(session, actor, slug)
            trigger = await session.get(Trigger, trigger_id)
            if trigger is None or trigger.flow_id != flow.id:
                raise NotFound("trigger not found", code="not_found", resource="trigger")
            changed = []
            if enabled is not None:
                trigger.enabled = enabled
                changed.append("enabled")
            if trigger.kind == "schedule":
                if cron is not None or timezone is not None:
                    trigger.timezone = timezone or trigger.timezone
                    trigger.cron = _checked_schedule(cron or trigger.cron, trigger.timezone)
                    changed.append("schedule")
                if inputs is not None:
                    trigger.inputs = dict(inputs)
                    changed.append("inputs")
                if trigger.enabled and trigger.cron and ("schedule" in changed or "enabled" in changed):
                    trigger.next_fire_at = next_fire(trigger.cron, trigger.timezone, utcnow())
            elif cron is not None or inputs is not None:
                raise BadRequest(
                    "a webhook trigger has no schedule and takes its inputs from the delivery",
                    code="invalid_trigger",
                    reason="schedule",
                    value=trigger.kind,
                )
            secret = None
            if rotate_secret:
                if trigger.kind != "webhook":
                    raise BadRequest(
                        "only webhook triggers have a signing key",
                        code="invalid_trigger",
                        reason="signing_key",
                        value=trigger.kind,
                    )
                secret = random.token_urlsafe(32)
                trigger.sealed_secret = self.box.seal({"signing_key": secret})
                changed.append("signing_key_rotated")
            await audit(
                session,
                actor=actor.username,
                action="trigger.updated",
                resource_type="trigger",
                resource_id=trigger.id,
                detail={"assistant": slug, "kind": trigger.kind, "changed": changed},
            )
            return self.as_json(trigger, slug, secret)

    # -- starting runs ----------------------------------------------------------------
    async def _start(
        self,
        runs: RunManager,
        trigger: Trigger,
        inputs: Mapping[str, Any],
        *,
        delivery_digest: str | None = None,
    ) -> str:
        """Start a run of the live version for the trigger's creator. The run's row, the
        trigger's `last_run_id`, its `trigger.fired` entry and (for a webhook) the delivery's
        replay guard are written in one transaction before the run starts."""
        async with self.db.read() as session:
            flow = await session.get(Flow, trigger.flow_id)
            live = (
                await session.get(FlowVersion, flow.live_version_id)
                if flow and flow.live_version_id
                else None
            )
            if flow is None or live is None:
                raise Conflict("the assistant has no live version; nothing to run", code="no_live_version")
            actor = await load_actor(session, trigger.created_by)
            if actor is None:
                raise Conflict(
                    "the trigger's creator no longer exists; create the trigger again",
                    code="trigger_orphaned",
                )
            if not self.authz.is_allowed(actor, "invoke", await assistant_view(session, flow, live)):
                raise Forbidden(
                    "the trigger's creator may no longer use this assistant",
                    code="trigger_creator_not_allowed",
                )
        username, slug, content_hash, kind = actor.username, flow.slug, live.content_hash, trigger.kind

        def fired(run_id: str) -> list[Event]:
            return [
                Event(
                    actor=username,
                    action="trigger.fired",
                    resource_type="trigger",
                    resource_id=trigger.id,
                    version_hash=content_hash,
                    detail={"kind": kind, "assistant": slug, "run_id": run_id},
                )
            ]

        admission = Admission(_fired(trigger.id, delivery_digest), fired)
        run_id, _ = await runs.start(actor, live, flow.workspace_id, inputs, admission=admission)
        return run_id

    async def deliver(
        self,
        runs: RunManager,
        trigger_id: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        now: float | None = None,
    ) -> Delivery:
        """Check a webhook delivery's signature and freshness, then start a run (stored
        before this returns); a delivery seen before answers with the run it started."""
        async with self.db.read() as session:
            trigger = await session.get(Trigger, trigger_id)
        if trigger is None or trigger.kind != "webhook" or not trigger.enabled:
            raise NotFound("trigger not found", code="not_found", resource="trigger")
        timestamp = headers.get(TIMESTAMP_HEADER.lower(), "")
        signature = headers.get(SIGNATURE_HEADER.lower(), "")
        if not timestamp.isdigit() or not signature:
            raise Unauthorized(
                f"a delivery needs the headers {TIMESTAMP_HEADER} (unix seconds) and "
                f"{SIGNATURE_HEADER} (sha256=<hex HMAC of '<timestamp>.<body>'>)",
                code="signature_missing",
                timestamp_header=TIMESTAMP_HEADER,
                signature_header=SIGNATURE_HEADER,
            )
        moment = time.time() if now is None else now
        if abs(moment - int(timestamp)) > MAX_SKEW_S:
            raise Unauthorized(
                "the delivery's timestamp is more than 5 minutes away from now (replay?)",
                code="signature_expired",
            )
        key = self.box.open(trigger.sealed_secret).get("signing_key", "")
        if not key or not hmac.compare_digest(sign(key, timestamp, body), signature.strip()):
            raise Unauthorized(
                "the signature does not match the body and timestamp", code="signature_invalid"
            )
        refuse_unfit_json(body)
        try:
            inputs = json.loads(body or b"{}")
        except ValueError:
            raise BadRequest("the body is not valid JSON", code="invalid_delivery", reason="json") from None
        if not isinstance(inputs, dict):
            raise BadRequest(
                "the body must be a JSON object of the assistant's inputs",
                code="invalid_delivery",
                reason="not_an_object",
            )
        digest = hashlib.sha256(signature.strip().encode()).hexdigest()
        try:
            return Delivery(await self._start(runs, trigger, inputs, delivery_digest=digest))
        except AlreadyAccepted as earlier:
            return Delivery(earlier.run_id, replayed=True)

    async def fire_due(self, runs: RunManager, now: datetime | None = None) -> list[str]:
        """Start one run per due schedule that this process claims; the run ids."""
        moment = now or utcnow()
        async with self.db.read() as session:
            due = (
                (
                    await session.execute(
                        select(Trigger)
                        .where(
                            Trigger.kind == "schedule",
                            Trigger.enabled.is_(True),
                            Trigger.next_fire_at <= moment,
                        )
                        .order_by(Trigger.next_fire_at)
                        .limit(50)
                    )
                )
                .scalars()
                .all()
            )
        started = []
        for trigger in due:
            assert trigger.cron is not None and trigger.next_fire_at is not None
            # A schedule missed while no runtime ran fires once, then continues from now.
            following = next_fire(trigger.cron, trigger.timezone, max(moment, trigger.next_fire_at))
            async with self.db.write() as session:
                claimed = await session.execute(
                    update(Trigger)
                    .where(Trigger.id == trigger.id, Trigger.next_fire_at == trigger.next_fire_at)
                    .values(next_fire_at=following, last_fired_at=moment)
                    .execution_options(synchronize_session=False)
                )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another process fired it
            try:
                started.append(await self._start(runs, trigger, trigger.inputs or {}))
            except Exception as error:
                log.warning(
                    "schedule %s could not start a run: %s",
                    trigger.id,
                    getattr(error, "message", type(error).__name__),
                )
        return started

    async def run_schedules(self, runs: RunManager, interval_s: float = 1.0) -> None:
        while True:
            try:
                await self.fire_due(runs)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("firing schedules failed; trying again")
            await asyncio.sleep(interval_s)
