"""The call journal: a call with side effects is written down before it is made.

Each such call has one entry, keyed by its idempotency key (`run id:node id`)::

    (none) ──claim (committed BEFORE the call)──▶ in_flight ──answer──▶ done    (answer kept)
                                                          └──error───▶ failed  (error kept)

A later attempt of the same call — the run resumed or adopted by another process after a
crash — finds the entry:

    done       the journaled answer; nothing is called
    failed     the journaled error again; nothing is called
    in_flight  the earlier attempt was interrupted mid-call (its process died): nobody
    uncertain  knows whether the receiver got it.
               idempotent (PUT, DELETE)  called again with the same Idempotency-Key
               otherwise the connection's `on_uncertain` decides:
                 retry  called again with the same Idempotency-Key / Message-ID
                 fail   the step fails with `side_effect_uncertain`
                 ask    (default) the entry becomes `uncertain` and a person is asked
                        "Was this already sent?" (`runtime.connections.calls` builds the
                        task); "yes" completes the call without calling (done), "no"
                        calls once. A call interrupted again after that "no" is not asked
                        about twice: the step fails with `side_effect_uncertain`.

Calls that only read (SQL, HTTP GET/HEAD/OPTIONS) are not journaled: after a crash they
are simply made again. Every change of an entry is a compare-and-set on its status and
attempt count, so two processes can never both make the same call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from nodes.errors import NodeError
from runtime.connections.errors import RemoteFailure, SideEffectUncertain
from runtime.connections.kinds import OnUncertain
from runtime.connections.models import ConnectionCall
from runtime.db.database import Database
from runtime.db.models import utcnow

log = logging.getLogger("dirigent.connections")


@dataclass(frozen=True)
class JournaledCall:
    """What the journal needs to know of one call."""

    key: str
    connection_id: str
    connection: str
    run_id: str
    effect: Literal["idempotent", "unsafe"]
    on_uncertain: OnUncertain
    digest: str
    summary: str
    # A person's answer to "was this already sent?" (see `ConnectorRequest.uncertain_answer`).
    answer: Literal["sent", "not_sent"] | None = None
    confirmed_status: str = "confirmed"


@dataclass(frozen=True)
class AskPerson:
    """The journal's verdict: an interrupted call whose fate a person must tell."""

    summary: str
    attempts: int


Decision = Literal["confirmed", "again", "ask", "fail", "fail_again"]
Claim = dict[str, Any] | AskPerson | None  # a known answer, a question, or: go ahead and call


class CallJournal:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def once(
        self,
        call: JournaledCall,
        send: Callable[[], Awaitable[dict[str, Any]]],
        facts: dict[str, Any],
        scrub: Callable[[str], str],
    ) -> dict[str, Any] | AskPerson:
        """`send()` at most once per journal entry, or what the journal already knows.
        `scrub` takes the connection's secrets out of an error message before it is kept."""
        known = await self._claim(call, facts)
        if known is not None:
            return known
        try:
            outputs = await send()
        except Exception as error:  # a known failure: kept, so a re-run does not call again
            message = scrub(error.message if isinstance(error, NodeError) else type(error).__name__)
            await self._settle(call, "failed", {"error": {"kind": type(error).__name__, "message": message}})
            raise
        await self._settle(call, "done", outputs)
        return outputs

    async def _claim(self, call: JournaledCall, facts: dict[str, Any]) -> Claim:
        try:
            async with self.db.write() as session:
                entry = (
                    await session.execute(
                        select(ConnectionCall).where(ConnectionCall.idempotency_key == call.key)
                    )
                ).scalar_one_or_none()
                if entry is None:
                    session.add(
                        ConnectionCall(
                            idempotency_key=call.key,
                            connection_id=call.connection_id,
                            run_id=call.run_id,
                            status="in_flight",
                            request_digest=call.digest,
                            summary=call.summary,
                        )
                    )
                    return None  # committed on leaving the block: in flight before the call
                status, attempts = entry.status, entry.attempts
                if status == "done":
                    facts["replayed"] = True
                    return entry.outputs or {}
                if status == "failed":
                    facts["replayed"] = True
                    error = (entry.outputs or {}).get("error") or {}
                    raise RemoteFailure(
                        f"{error.get('message') or 'the call failed'} (this call failed before; "
                        "it is not made again)",
                        code="call_failed_before",
                        detail=str(error.get("message") or "the call failed"),
                    )
                if entry.request_digest and entry.request_digest != call.digest:
                    facts["request_changed"] = True  # upstream steps rendered it anew
                decision = self._decide(call, status)
                values: dict[str, Any] = {"updated_at": utcnow()}
                if decision == "confirmed":
                    values.update(status="done", outputs=self._confirmed(call))
                elif decision == "again":
                    values.update(
                        status="in_flight",
                        attempts=attempts + 1,
                        request_digest=call.digest,
                        summary=call.summary,
                    )
                else:
                    values["status"] = "uncertain"
                changed = await session.execute(
                    update(ConnectionCall)
                    .where(
                        ConnectionCall.id == entry.id,
                        ConnectionCall.status == status,
                        ConnectionCall.attempts == attempts,
                    )
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                if changed.rowcount != 1:  # type: ignore[attr-defined]
                    raise RemoteFailure(
                        f"another runtime process is making this call of connection '{call.connection}' "
                        "right now",
                        code="call_in_progress",
                        connection=call.connection,
                    )
        except IntegrityError:  # another process claimed the same call a moment ago
            raise RemoteFailure(
                f"another runtime process is making this call of connection '{call.connection}' right now",
                code="call_in_progress",
                connection=call.connection,
            ) from None
        return self._verdict(call, decision, attempts, facts)

    @staticmethod
    def _decide(call: JournaledCall, status: str) -> Decision:
        """What to do about an entry that is `in_flight` or `uncertain` (module docstring)."""
        if call.answer == "sent":
            return "confirmed"
        if call.answer == "not_sent":
            return "again" if status == "uncertain" else "fail_again"
        if call.effect == "idempotent" or call.on_uncertain == "retry":
            return "again"
        return "ask" if call.on_uncertain == "ask" else "fail"

    def _verdict(self, call: JournaledCall, decision: str, attempts: int, facts: dict[str, Any]) -> Claim:
        if decision == "confirmed":
            facts["confirmed_by_person"] = True
            return self._confirmed(call)
        if decision == "again":
            facts["attempt"] = attempts + 1
            log.warning(
                "call %s was interrupted before; calling again with the same idempotency key", call.key
            )
            return None
        facts["uncertain"] = True
        if decision == "ask":
            return AskPerson(summary=call.summary, attempts=attempts)
        if decision == "fail_again":
            raise SideEffectUncertain(
                f"connection '{call.connection}': the call ({call.summary}) was interrupted again after a "
                "person said the earlier attempt had not arrived; it is not repeated a third time. Check "
                "with the receiver whether it arrived",
                code="side_effect_uncertain",
                reason="interrupted_again",
                connection=call.connection,
                summary=call.summary,
            )
        raise SideEffectUncertain(
            f"connection '{call.connection}': an earlier attempt of this call ({call.summary}) was "
            "interrupted before its answer came, so it may or may not have arrived. The connection "
            "says on_uncertain: fail, so it is not repeated; check with the receiver",
            code="side_effect_uncertain",
            reason="on_uncertain_fail",
            connection=call.connection,
            summary=call.summary,
        )

    @staticmethod
    def _confirmed(call: JournaledCall) -> dict[str, Any]:
        return {
            "status": call.confirmed_status,
            "response": {
                "confirmed": True,
                "note": "a person confirmed that the interrupted call had arrived; it was not repeated",
            },
        }

    async def _settle(self, call: JournaledCall, status: str, outputs: dict[str, Any]) -> None:
        async with self.db.write() as session:
            await session.execute(
                update(ConnectionCall)
                .where(ConnectionCall.idempotency_key == call.key, ConnectionCall.status == "in_flight")
                .values(status=status, outputs=outputs, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
