"""`dirigent up` publishes the FAQ demo assistant through the normal lifecycle.

Tested, submitted by `champion`, approved by `board1`, published by `champion` — through
the services, so the policy decides and the audit trail records each step — and marked in
the audit trail as the demo set-up. A second start writes nothing; a flow someone changed
by hand is left alone.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db.database import Database
from runtime.db.models import AuditEntry, Flow, FlowVersion, User
from runtime.demo import DEMO_WORKSPACE, PEOPLE
from runtime.demo_assistant import DEMO_ASSISTANT, DEMO_COMMENT, publish_demo_assistant
from runtime.flows.service import create_flow
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor
from runtime.policy.views import assistant_view
from runtime.settings import Settings
from runtime.starters.loader import load_starters
from runtime.users.service import add_user, get_or_create_workspace, load_actor

STARTERS = Path(__file__).resolve().parents[2] / "starters"


async def actor_named(session: AsyncSession, username: str) -> Actor:
    user = (await session.execute(select(User).where(User.username == username))).scalar_one()
    found = await load_actor(session, user.id)
    assert found is not None
    return found


async def _demo_without_sources(db: Database) -> None:
    """Workspaces, people and the FAQ flow, as `setup_demo` makes them (without the sources,
    whose knowledge indexes load an embedding model)."""
    faq = next(starter for starter in load_starters(STARTERS) if starter.slug == DEMO_ASSISTANT)
    async with db.write() as session:
        await get_or_create_workspace(session, DEMO_WORKSPACE, "Demo")
        for name, (role, workspace, _) in PEOPLE.items():
            await add_user(session, name, "demo-password-1", role, workspace)
        champion = await actor_named(session, "champion")
        await create_flow(session, Authorizer(), champion, DEMO_WORKSPACE, faq.name, faq.slug, faq.document)


async def _audit(db: Database) -> list[AuditEntry]:
    async with db.read() as session:
        return list((await session.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars())


async def test_the_faq_assistant_goes_live_through_the_lifecycle(db: Database, tmp_path: Path) -> None:
    await _demo_without_sources(db)
    settings = Settings(data_dir=tmp_path / "data")
    before = len(await _audit(db))

    done = await publish_demo_assistant(db, settings)
    assert done.published == [DEMO_ASSISTANT] and not done.notes

    async with db.read() as session:
        flow = (await session.execute(select(Flow).where(Flow.slug == DEMO_ASSISTANT))).scalar_one()
        version = (
            await session.execute(select(FlowVersion).where(FlowVersion.flow_id == flow.id))
        ).scalar_one()
        assert flow.live_version_id == version.id and version.state == "published"
        user = await actor_named(session, "user")
        assert Authorizer().is_allowed(user, "invoke", await assistant_view(session, flow, version))

    steps = [(entry.actor, entry.action) for entry in (await _audit(db))[before:]]
    assert steps == [
        ("champion", "version.tested"),
        ("champion", "version.submitted"),
        ("board1", "version.approved"),
        ("champion", "version.published"),
        (None, "demo.setup"),
    ]
    entries = (await _audit(db))[before:]
    assert entries[0].detail["passed"] is True and entries[0].detail["mode"] == "fixed"
    assert entries[2].detail["comment"] == DEMO_COMMENT and "dirigent up" in DEMO_COMMENT
    assert entries[4].detail == {
        "what": "published the demo assistant through the lifecycle",
        "slug": DEMO_ASSISTANT,
        "number": 1,
        "submitted_by": "champion",
        "approved_by": ["board1"],
        "published_by": "champion",
    }
    assert all(entry.version_hash == version.content_hash for entry in entries)

    again = await publish_demo_assistant(db, settings)
    assert again.published == [] and not again.notes
    assert len(await _audit(db)) == before + 5  # a second start writes nothing


async def test_a_flow_changed_by_hand_is_left_alone(db: Database, tmp_path: Path) -> None:
    await _demo_without_sources(db)
    async with db.write() as session:
        version = (await session.execute(select(FlowVersion))).scalar_one()
        version.state = "rejected"
    before = len(await _audit(db))
    done = await publish_demo_assistant(db, Settings(data_dir=tmp_path / "data"))
    assert done.published == [] and done.notes == [
        f"'{DEMO_ASSISTANT}' is not published: its versions were changed by hand"
    ]
    assert len(await _audit(db)) == before


def test_the_banner_says_what_to_open_as_whom(tmp_path: Path) -> None:
    from runtime.cli.server import up_banner
    from runtime.demo import DemoSetup

    setup = DemoSetup(
        password_file=tmp_path / "demo-passwords.txt",
        passwords=dict.fromkeys(PEOPLE, "pw"),
        published=[DEMO_ASSISTANT],
        live_assistants=[DEMO_ASSISTANT],
    )
    settings = Settings(data_dir=tmp_path)
    lines = up_banner(settings, setup, "http://127.0.0.1:8710", "…", "http://127.0.0.1:8711")
    text = "\n".join(lines)
    assert "published faq-assistant (submitted by champion, approved by board1)" in text
    assert "Live assistants: faq-assistant." in text
    start = lines.index("Open http://127.0.0.1:8711 and sign in as:")
    assert lines[start + 1].split()[:4] == ["user", "Assistenten", "→", "FAQ-Assistent:"]
    assert sorted(line.split()[0] for line in lines[start + 1 : start + 1 + len(PEOPLE)]) == sorted(PEOPLE)

    without_studio = "\n".join(
        up_banner(settings, DemoSetup(password_file=setup.password_file), "http://x", "off")
    )
    assert "Open http://x  (no studio: the API" in without_studio
    assert "nothing yet" in without_studio
