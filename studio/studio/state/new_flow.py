"""The new-flow dialog's state: the gallery of the runtime's starter templates
(`GET /api/templates`) and creating a flow from one (`POST /api/workspaces/{ws}/flows`).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio import routes
from studio.api import ApiError
from studio.i18n import translate
from studio.state.base import AppState
from studio.templates import BLANK, TemplateView, blank_document, renamed, slugify, template_view


class NewFlowState(AppState):
    templates: list[TemplateView] = []
    _documents: dict[str, dict[str, Any]] = {}
    loading_templates: bool = False

    dialog_open: bool = False
    new_template: str = BLANK
    new_name: str = ""
    new_slug: str = ""
    name_touched: bool = False
    slug_touched: bool = False
    creating: bool = False

    @rx.var
    def chosen(self) -> TemplateView:
        found = next((item for item in self.templates if item.slug == self.new_template), None)
        blank = TemplateView(
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
        self.loading_templates = True
        yield
        try:
            listed = await self.api().templates()
        except ApiError as exc:
            listed = []
            yield rx.toast.warning(f"{self.tr('templates_unavailable')} ({self.error_text(exc)})")
        self.templates = sorted(
            (template_view(item, self.lang) for item in listed), key=lambda item: item.name.lower()
        )
        self._documents = {str(item.get("slug")): dict(item.get("document") or {}) for item in listed}
        self.loading_templates = False
        self._choose(self.templates[0].slug if self.templates else BLANK)

    def _choose(self, slug: str) -> None:
        self.new_template = slug
        if not self.name_touched:
            name = next((item.name for item in self.templates if item.slug == slug), "")
            self.new_name = name
            if not self.slug_touched:
                self.new_slug = slugify(name)

    @rx.event
    def set_dialog_open(self, value: bool) -> None:
        self.dialog_open = value

    @rx.event
    def set_new_template(self, slug: str) -> None:
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
        if self.new_template == BLANK or self.new_template not in self._documents:
            document = blank_document(name)
        else:
            document = renamed(self._documents[self.new_template], name)
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
