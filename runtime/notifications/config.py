"""The admin's choice: which e-mail connection mails notifications, and the studio's
address for the links in them.

Stored in the database (`notification_settings`, one row), so every runtime process
reads the same choice and an admin changes it without a restart. Without a chosen
connection notifications stay in the inbox; with one, new notifications of people with
an e-mail address are mailed. `DIRIGENT_STUDIO_URL` is the studio's address until an
admin sets another one here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.service import append as audit
from runtime.connections.models import ConnectionRow
from runtime.connections.service import connection_view
from runtime.db.models import Workspace, utcnow
from runtime.errors import BadRequest, NotFound
from runtime.notifications.models import SETTINGS_ROW, NotificationMail, NotificationSettings
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor, Platform
from runtime.settings import Settings

MAX_URL = 500
MAIL_STATES = ("pending", "sending", "sent", "failed")


@dataclass(frozen=True)
class MailChoice:
    connection_id: str | None
    connection_name: str | None
    workspace: str | None
    studio_url: str  # what mails link to: the admin's address, else DIRIGENT_STUDIO_URL
    studio_url_set: str | None  # the admin's address, None: the default is used
    updated_by: str | None
    updated_at: datetime | None
    mails: dict[str, int]


def clean_studio_url(value: str | None) -> str | None:
    """An http(s) address without a trailing slash, or None to use the default."""
    if value is None or not value.strip():
        return None
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(
            f"studio_url must be an http:// or https:// address of at most {MAX_URL} characters, "
            "e.g. https://dirigent.firma.de",
            code="invalid_studio_url",
            reason="scheme",
            max_length=MAX_URL,
        )
    if parts.query or parts.fragment:
        raise BadRequest(
            "studio_url takes no ?query or #fragment",
            code="invalid_studio_url",
            reason="query",
            max_length=MAX_URL,
        )
    return url


async def mail_route(session: AsyncSession, settings: Settings) -> tuple[str | None, str]:
    """What the outbox needs on every pass, in one small read: the chosen connection's id
    (None: no mails) and the studio address for links."""
    found = (
        await session.execute(
            select(NotificationSettings.connection_id, NotificationSettings.studio_url).where(
                NotificationSettings.id == SETTINGS_ROW
            )
        )
    ).first()
    connection_id, studio_url = found if found is not None else (None, None)
    return connection_id, studio_url or settings.studio_url.rstrip("/")


async def read_choice(session: AsyncSession, settings: Settings) -> MailChoice:
    row = await session.get(NotificationSettings, SETTINGS_ROW)
    connection, workspace = None, None
    if row is not None and row.connection_id is not None:
        found = (
            await session.execute(
                select(ConnectionRow, Workspace.slug)
                .join(Workspace, Workspace.id == ConnectionRow.workspace_id)
                .where(ConnectionRow.id == row.connection_id)
            )
        ).first()
        if found is not None:
            connection, workspace = found
    counts = dict.fromkeys(MAIL_STATES, 0)
    for status, count in await session.execute(
        select(NotificationMail.status, func.count()).group_by(NotificationMail.status)
    ):
        counts[status] = int(count)
    chosen = row.studio_url if row is not None else None
    return MailChoice(
        connection_id=connection.id if connection is not None else None,
        connection_name=connection.name if connection is not None else None,
        workspace=workspace,
        studio_url=chosen or settings.studio_url.rstrip("/"),
        studio_url_set=chosen,
        updated_by=row.updated_by if row is not None else None,
        updated_at=row.updated_at if row is not None else None,
        mails=counts,
    )


async def choose(
    session: AsyncSession,
    authz: Authorizer,
    actor: Actor,
    settings: Settings,
    *,
    connection_id: str | None,
    studio_url: str | None,
) -> MailChoice:
    """Set the connection (None: no mails) and the studio address (None: the default)."""
    authz.authorize(actor, "manage_notifications", Platform())
    url = clean_studio_url(studio_url)
    connection = None
    if connection_id is not None:
        connection = await session.get(ConnectionRow, connection_id)
        if connection is None:
            raise NotFound("connection not found", code="not_found", resource="connection")
        authz.authorize(actor, "manage", connection_view(connection))
        if connection.kind != "email":
            raise BadRequest(
                f"connection '{connection.name}' is a {connection.kind} connection; notifications "
                "are sent through an e-mail connection",
                code="not_an_email_connection",
                connection=connection.name,
                kind=connection.kind,
            )
    row = await session.get(NotificationSettings, SETTINGS_ROW)
    if row is None:
        row = NotificationSettings(id=SETTINGS_ROW)
        session.add(row)
    row.connection_id = connection.id if connection is not None else None
    row.studio_url = url
    row.updated_by = actor.username
    row.updated_at = utcnow()
    await session.flush()
    await audit(
        session,
        actor=actor.username,
        action="notifications.configured",
        resource_type="connection" if connection is not None else None,
        resource_id=connection.id if connection is not None else None,
        detail={
            "connection": connection.name if connection is not None else None,
            "studio_url": url,
        },
    )
    return await read_choice(session, settings)
