"""The new-flow dialog's state: the gallery of the runtime's starter flows
(`GET /api/starters`) and creating a flow from one (`POST /api/workspaces/{ws}/flows`).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio import routes
from studio.api import ApiError
from studio.i18n import translate
from studio.starters import BLANK, StarterView, blank_document, renamed, slugify, starter_view
from studio.state.base import AppState


class NewFlowState(AppState):
    starters: list[StarterView] = []
    _documents: dict[str, dict[str, Any]] = {}
    loading_starters: bool = False

    dialog_open: bool = False
    new_starter: str = BLANK
    new_name: str = ""
    new_slug: str = ""
    name_touched: bool = False
    slug_touched: bool = False
    creating: bool = False

    @rx.var
    def chosen(self) -> StarterView:
        found = next((item for item in self.starters if item.slug == self.new_starter), None)
        blank = StarterView(
            slug=BLANK,
            name=translate("blank_flow", self.lang),
            readme=translate("blank_flow_about", self.lang),
        )
        return found or blank

    @rx.event
    async def open_dialog(self) -> Any:
        self.new_name = self.new_slug = ""
        self.name_touched = self.slug_touched = False
        self.dialog_open = True
        self.loading_starters = True
        yield
        try:
            listed = await self.api().starters()
        except ApiError as exc:
            listed = []
            yield rx.toast.warning(f"{self.tr('starters_unavailable')} ({self.error_text(exc)})")
        self.starters = sorted(
            (starter_view(item, self.lang) for item in listed), key=lambda item: item.name.lower()
        )
        self._documents = {str(item.get("slug")): dict(item.get("document") or {}) for item in listed}
        self.loading_starters = False
        self._choose(self.starters[0].slug if self.starters else BLANK)

    def _choose(self, slug: str) -> None:
        self.new_starter = slug
        if not self.name_touched:
            name = next((item.name for item in self.starters if item.slug == slug), "")
            self.new_name = name
            if not self.slug_touched:
                self.new_slug = slugify(name)

    @rx.event
    def set_dialog_open(self, value: bool) -> None:
        self.dialog_open = value

    @rx.event
    def set_new_starter(self, slug: str) -> None:
        self._choose(slug)

    @rx.event
    def set_new_name(self, value: str) -> None:
        self.new_name = value
        self.name_touched = bool(value)
        if not self.slug_touched:
            self.new_slug = slugify(value)

    @rx.event
    def set_new_slug(self, value: str) -> None:
        self.new_slug = value
        self.slug_touched = True

    @rx.event
    async def create(self) -> Any:
        name = self.new_name.strip()
        slug = self.new_slug.strip() or slugify(name)
        if not name:
            yield rx.toast.error(self.tr("flow_name") + "?")
            return
        if self.new_starter == BLANK or self.new_starter not in self._documents:
            document = blank_document(name)
        else:
            document = renamed(self._documents[self.new_starter], name)
        self.creating = True
        yield
        async with self._runtime_call("creating") as call:
            created = await self.api().create_flow(self.workspace, name, slug, document)
        if call.failed:
            yield call.events
            return
        self.dialog_open = False
        yield rx.toast.success(self.tr("flow_created", name=name))
        yield rx.redirect(routes.editor(created["id"]))
