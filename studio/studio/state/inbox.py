"""The inbox: the unread count behind the header's bell (polled), the inbox page's list, and
the admin's choice of the connection that mails notifications (on the connections page)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.api import ApiError, SignedOut
from studio.api_types import MailSettingsOut, NotificationPage
from studio.i18n import translate
from studio.inbox_view import badge, row
from studio.state.base import AppState

POLL_MS = 20_000  # the bell asks for the unread count this often while a page is open
PAGE = 30
NO_CONNECTION = "__none__"  # the select's value for "no mails"


class InboxState(AppState):
    unread: int = 0
    items: list[dict[str, str]] = []
    next_cursor: str = ""
    loading: bool = False

    @rx.var
    def unread_label(self) -> str:
        return badge(self.unread)

    @rx.event
    async def refresh_count(self) -> Any:
        """The bell's count. Quiet on errors other than a lost sign-in: a poll must not toast."""
        if not self.token:
            return None
        try:
            self.unread = await self.api().unread_count()
        except SignedOut as exc:
            return self.on_error(exc)
        except ApiError:
            pass
        return None

    @rx.event
    async def load(self) -> Any:
        if not self.token:
            return
        self.loading = True
        yield
        async with self._runtime_call("loading") as call:
            self._show(await self.api().notifications(limit=PAGE), append=False)
        yield call.events

    @rx.event
    async def load_more(self) -> Any:
        if not self.next_cursor:
            return
        async with self._runtime_call() as call:
            self._show(await self.api().notifications(limit=PAGE, cursor=self.next_cursor), append=True)
        yield call.events

    def _show(self, page: NotificationPage, *, append: bool) -> None:
        rows = [row(item) for item in page.get("items") or []]
        self.items = [*self.items, *rows] if append else rows
        self.next_cursor = str(page.get("next_cursor") or "")
        self.unread = int(page.get("unread") or 0)
        self.loading = False

    @rx.event
    async def open_item(self, notification_id: str, href: str) -> Any:
        """Go where the notification leads; it counts as read from now on."""
        await self._mark(notification_id)
        return rx.redirect(href)

    @rx.event
    async def mark_read(self, notification_id: str) -> Any:
        async with self._runtime_call() as call:
            await self.api().mark_read(notification_id)
            self._read_locally(notification_id)
        return call.events

    async def _mark(self, notification_id: str) -> None:
        try:
            await self.api().mark_read(notification_id)
        except ApiError:
            return  # leaving for the target matters more than the mark
        self._read_locally(notification_id)

    def _read_locally(self, notification_id: str) -> None:
        was_unread = any(item["id"] == notification_id and item["unread"] for item in self.items)
        self.items = [
            {**item, "unread": ""} if item["id"] == notification_id else item for item in self.items
        ]
        if was_unread:
            self.unread = max(self.unread - 1, 0)

    @rx.event
    async def mark_all(self) -> Any:
        async with self._runtime_call() as call:
            answer = await self.api().mark_all_read()
            self.items = [{**item, "unread": ""} for item in self.items]
            self.unread = int(answer.get("unread") or 0)
        yield call.events or rx.toast.success(self.tr("inbox_marked_all"))


class NotifySettingsState(AppState):
    """The admin's choice on the connections page (global admins: the policy's
    `manage_notifications`; the card shows for them only)."""

    choices: list[dict[str, str]] = []  # e-mail connections of the current workspace
    chosen: str = NO_CONNECTION
    studio_url: str = ""
    # The runtime's settings as read; `elsewhere` and `counts` say them in the person's language.
    _settings: dict[str, Any] = {}

    @rx.var
    def elsewhere(self) -> str:
        """The chosen connection is in another workspace: its words."""
        current = self._settings
        chosen = str(current.get("connection_id") or "")
        if not chosen or any(item["id"] == chosen for item in self.choices):
            return ""
        name, workspace = current.get("connection_name") or "", current.get("workspace") or ""
        return translate("notify_elsewhere", self.lang, name=name, workspace=workspace)

    @rx.var
    def counts(self) -> str:
        if not self._settings:
            return ""
        mails = self._settings.get("mails") or {}
        return translate(
            "notify_counts",
            self.lang,
            pending=mails.get("pending", 0) + mails.get("sending", 0),
            sent=mails.get("sent", 0),
            failed=mails.get("failed", 0),
        )

    saving: bool = False

    @rx.var
    def is_platform_admin(self) -> bool:
        return "admin" in self.global_roles

    @rx.event
    async def load(self) -> Any:
        if not self.token or "admin" not in self.global_roles:
            return
        api = self.api()
        async with self._runtime_call() as call:
            current = await api.notification_settings()
            connections = await api.connections(self.workspace) if self.workspace else []
            self.choices = [
                {"id": str(item["id"]), "name": str(item["name"])}
                for item in connections
                if item.get("kind") == "email"
            ]
            self._show(current)
        yield call.events

    def _show(self, current: MailSettingsOut) -> None:
        chosen = current.get("connection_id")
        self.chosen = str(chosen) if chosen else NO_CONNECTION
        self.studio_url = str(current.get("studio_url_set") or "")
        self._settings = current

    @rx.event
    def set_chosen(self, value: str) -> None:
        self.chosen = value

    @rx.event
    def set_studio_url(self, value: str) -> None:
        self.studio_url = value

    @rx.event
    async def save(self) -> Any:
        self.saving = True
        yield
        connection_id = None if self.chosen == NO_CONNECTION else self.chosen
        async with self._runtime_call("saving") as call:
            self._show(
                await self.api().set_notification_settings(connection_id, self.studio_url.strip() or None)
            )
        yield call.events or rx.toast.success(self.tr("notify_saved"))
