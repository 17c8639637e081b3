""" "New flow": a gallery of the runtime's starter templates with their README, or a blank flow.

Choosing a template creates the flow in the current workspace from the template's
document (`POST /api/workspaces/{ws}/flows`, like any new flow) and opens the editor.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio import routes
from studio.api import ApiError
from studio.components.dialog_footer import dialog_footer
from studio.i18n import translate
from studio.state.base import AppState, t
from studio.templates import BLANK, TemplateView, blank_document, renamed, slugify, template_view

PANE_HEIGHT = "min(50vh, 500px)"  # gallery and README scroll inside, the form below stays put
MARKDOWN = {
    "h1": lambda text: rx.heading(text, size="5", margin_y="8px"),
    "h2": lambda text: rx.heading(text, size="4", margin_y="6px"),
    "h3": lambda text: rx.heading(text, size="3", margin_y="4px"),
    "p": lambda text: rx.text(text, size="2", margin_y="4px"),
}


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


def _choice(slug: rx.Var, body: rx.Component) -> rx.Component:
    selected = NewFlowState.new_template == slug
    return rx.box(
        body,
        on_click=NewFlowState.set_new_template(slug),
        padding="10px",
        border_radius="8px",
        cursor="pointer",
        width="100%",
        border=rx.cond(selected, f"2px solid {rx.color('accent', 9)}", f"1px solid {rx.color('gray', 6)}"),
        background=rx.cond(selected, rx.color("accent", 2), "white"),
        _hover={"border_color": rx.color("accent", 8)},
        class_name="template-choice",
        id="template-" + slug,
        custom_attrs={"data-selected": rx.cond(selected, "true", "false")},
    )


def _template_card(item: rx.Var) -> rx.Component:
    return _choice(
        item.slug,
        rx.vstack(
            rx.hstack(
                rx.text(item.name, weight="bold", size="2"),
                rx.spacer(),
                rx.cond(item.cases > 0, rx.badge(item.cases.to_string(), " ", t("template_cases"), size="1")),
                width="100%",
                align="center",
            ),
            rx.text(item.description, size="1", color=rx.color("gray", 11), line_clamp=2),
            spacing="1",
            width="100%",
        ),
    )


def _needs(item: rx.Var) -> rx.Component:
    return rx.cond(
        item.needs.length() > 0,
        rx.flex(
            rx.text(t("template_needs"), ":", size="1", weight="bold"),
            rx.foreach(item.needs, lambda need: rx.badge(need, variant="outline", color_scheme="amber")),
            wrap="wrap",
            gap="4px",
            align="center",
        ),
        rx.cond(
            item.slug != BLANK,
            rx.badge(t("needs_nothing"), variant="outline", color_scheme="green"),
        ),
    )


def _preview() -> rx.Component:
    chosen = NewFlowState.chosen
    return rx.vstack(
        rx.hstack(
            rx.heading(chosen.name, size="4"),
            rx.cond(chosen.language == "en", rx.badge(t("template_english"), color_scheme="blue")),
            align="center",
        ),
        _needs(chosen),
        rx.box(
            rx.markdown(chosen.readme, component_map=MARKDOWN, use_raw=False),
            id="template-readme",
            width="100%",
            font_size="var(--font-size-2)",
        ),
        spacing="3",
        width="100%",
        height=PANE_HEIGHT,
        overflow_y="auto",
        padding="12px",
        border_radius="8px",
        background=rx.color("gray", 2),
    )


def new_flow_dialog() -> rx.Component:
    gallery = rx.grid(
        rx.vstack(
            rx.foreach(NewFlowState.templates, _template_card),
            rx.cond(NewFlowState.loading_templates, rx.center(rx.spinner(), width="100%", padding="12px")),
            _choice(
                rx.Var.create(BLANK),
                rx.vstack(
                    rx.text(t("blank_flow"), weight="bold", size="2"),
                    rx.text(t("blank_flow_about"), size="1", color=rx.color("gray", 11)),
                    spacing="1",
                ),
            ),
            spacing="2",
            overflow_y="auto",
            height=PANE_HEIGHT,
            padding_right="4px",
            id="template-gallery",
        ),
        _preview(),
        columns="320px 1fr",
        spacing="4",
        width="100%",
    )
    fields = rx.grid(
        rx.vstack(
            rx.text(t("flow_name"), size="2", weight="medium"),
            rx.input(
                value=NewFlowState.new_name,
                on_change=NewFlowState.set_new_name,
                id="new-flow-name",
                width="100%",
            ),
            spacing="1",
        ),
        rx.vstack(
            rx.text(t("flow_slug"), size="2", weight="medium"),
            rx.input(
                value=NewFlowState.new_slug,
                on_change=NewFlowState.set_new_slug,
                id="new-flow-slug",
                width="100%",
            ),
            rx.text(t("flow_slug_hint"), size="1", color=rx.color("gray", 10)),
            spacing="1",
        ),
        columns="2",
        spacing="4",
        width="100%",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(t("new_flow_title")),
            rx.dialog.description(t("gallery_hint"), size="2", color=rx.color("gray", 11)),
            rx.vstack(
                gallery,
                fields,
                dialog_footer(
                    rx.button(
                        t("create"),
                        on_click=NewFlowState.create,
                        loading=NewFlowState.creating,
                        id="new-flow-create",
                    ),
                ),
                spacing="4",
                width="100%",
                padding_top="12px",
            ),
            max_width="min(1040px, 94vw)",
            id="new-flow-dialog",
        ),
        open=NewFlowState.dialog_open,
        on_open_change=NewFlowState.set_dialog_open,
    )
