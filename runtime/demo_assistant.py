"""The demo's live assistant: `dirigent up` publishes the FAQ assistant the normal way.

So that `user` can chat at once, the demo takes the starter flow `faq-assistant` through
the lifecycle every assistant goes through, with the services a person would call and
the people who would act:

    champion  runs the version's test cases (fixed mode: no LLM needed) and submits it
    board1    approves it (four eyes: not the author), board2 too if the quorum asks
    champion  publishes it

Each step is audited by its service as usual; the board's comment and one `demo.setup`
entry say that this was the demo set-up, not a person's review. Only what is missing is
done: a flow that is live already (or whose version someone has acted on differently:
rejected, retired, a newer version) is left alone, and a second run writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import append as audit
from runtime.db.database import Database
from runtime.db.models import Flow, FlowVersion, User
from runtime.engine.compiled import FlowCache
from runtime.flows.service import publish_version, review_version, submit_version
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.settings import Settings
from runtime.testing.service import run_and_store_tests
from runtime.users.service import load_actor

DEMO_ASSISTANT = "faq-assistant"
AUTHOR = "champion"
REVIEWERS = ("board1", "board2")
DEMO_COMMENT = "Demo-Einrichtung durch `dirigent up` (keine Prüfung durch eine Person)"
NUMBER = 1


@dataclass
class PublishedDemo:
    published: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def _actor(session: AsyncSession, username: str) -> Actor | None:
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    return await load_actor(session, user.id) if user else None


async def _version(session: AsyncSession, slug: str) -> tuple[Flow | None, FlowVersion | None]:
    flow = (await session.execute(select(Flow).where(Flow.slug == slug))).scalar_one_or_none()
    if flow is None:
        return None, None
    versions = (
        (await session.execute(select(FlowVersion).where(FlowVersion.flow_id == flow.id))).scalars().all()
    )
    # Only the version the demo imported, and only while nobody has made another one.
    return flow, (versions[0] if len(versions) == 1 and versions[0].number == NUMBER else None)


async def publish_demo_assistant(
    db: Database, settings: Settings, slug: str = DEMO_ASSISTANT
) -> PublishedDemo:
    """Take `slug` from draft to live as described above; what happened, in words."""
    result = PublishedDemo()
    authz = Authorizer()
    async with db.read() as session:
        flow, version = await _version(session, slug)
        champion = await _actor(session, AUTHOR)
        reviewers = [actor for name in REVIEWERS if (actor := await _actor(session, name)) is not None]
    if flow is None or flow.live_version_id is not None:
        return result  # not imported (its slug was taken), or live already
    if version is None or version.state in ("rejected", "retired"):
        result.notes.append(f"'{slug}' is not published: its versions were changed by hand")
        return result
    if champion is None or not reviewers:
        result.notes.append(f"'{slug}' is not published: the demo users {AUTHOR} and board1 are needed")
        return result
    flow_id, state = flow.id, version.state

    if state == "draft":
        report = await run_and_store_tests(
            db, authz, FlowCache(), {}, champion, flow_id, NUMBER, node_timeout_s=settings.node_timeout_s
        )
        if not report.passed:
            result.notes.append(f"'{slug}' is not published: its test cases failed (report {report.id})")
            return result
        async with db.write() as session:
            state = (await submit_version(session, authz, champion, flow_id, NUMBER)).state
    approved_by = []
    for reviewer in reviewers:
        if state != "submitted":
            break
        approved_by.append(reviewer.username)
        async with db.write() as session:
            state = (
                await review_version(
                    session, authz, settings, reviewer, flow_id, NUMBER, "approve", DEMO_COMMENT
                )
            ).state
    if state != "approved":
        result.notes.append(f"'{slug}' is not published: it is {state} after the demo's approvals")
        return result
    async with db.write() as session:
        published = await publish_version(session, authz, champion, flow_id, NUMBER)
        await audit(
            session,
            actor=None,
            action="demo.setup",
            resource_type="flow_version",
            resource_id=published.id,
            version_hash=published.content_hash,
            detail={
                "what": "published the demo assistant through the lifecycle",
                "slug": slug,
                "number": NUMBER,
                "submitted_by": AUTHOR,
                "approved_by": approved_by,
                "published_by": AUTHOR,
            },
        )
    result.published.append(slug)
    return result
