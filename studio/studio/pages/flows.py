"""Flows of the current workspace: newest and live version; a new flow from a template."""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio import routes
from studio.api import ApiError
from studio.components.layout import empty_state, page_frame, page_title, state_badge
from studio.state.base import AppState, t
from studio.templates import BLANK, list_templates, slugify, template_document


class FlowsState(AppState):
    # Display rows: id, name, slug, latest_number, latest_state, live_number ("" when none).
    flows: list[dict[str, str]] = []
    loading: bool = False
    templates: list[dict[str, str]] = []

    dialog_open: bool = False
    new_name: str = ""
    new_slug: str = ""
    slug_touched: bool = False
    new_template: str = BLANK
    creating: bool = False

    @rx.event
    async def load(self) -> Any:
        if not self.token:
            return
        self.loading = True
        yield
        try:
            self.flows = [_row(flow) for flow in await self.api().flows(self.workspace or None)]
        except ApiError as exc:
            self.loading = False
            yield self.on_error(exc)
            return
        self.loading = False

    @rx.event
    def open_dialog(self) -> None:
        self.templates = list_templates()
        self.new_name = ""
        self.new_slug = ""
        self.slug_touched = False
        self.new_template = self.templates[0]["slug"] if self.templates else BLANK
        self.dialog_open = True

    @rx.event
    def set_dialog_open(self, value: bool) -> None:
        self.dialog_open = value

    @rx.event
    def set_new_name(self, value: str) -> None:
        self.new_name = value
        if not self.slug_touched:
            self.new_slug = slugify(value)

    @rx.event
    def set_new_slug(self, value: str) -> None:
        self.new_slug = value
        self.slug_touched = True

    @rx.event
    def set_new_template(self, value: str) -> None:
        self.new_template = value
        if not self.new_name:
            chosen = next((item for item in self.templates if item["slug"] == value), None)
            if chosen:
                self.set_new_name(chosen["name"])

    @rx.event
    async def create(self) -> Any:
        name = self.new_name.strip()
        slug = self.new_slug.strip() or slugify(name)
        if not name:
            yield rx.toast.error(self.tr("flow_name") + "?")
            return
        self.creating = True
        yield
        try:
            document = template_document(self.new_template, name)
            created = await self.api().create_flow(self.workspace, name, slug, document)
        except ApiError as exc:
            self.creating = False
            yield self.on_error(exc)
            return
        except (KeyError, OSError, ValueError) as exc:
            self.creating = False
            yield rx.toast.error(str(exc))
            return
        self.creating = False
        self.dialog_open = False
        yield rx.toast.success(self.tr("flow_created", name=name))
        yield rx.redirect(routes.editor(created["id"]))


def _row(flow: dict[str, Any]) -> dict[str, str]:
    latest = flow.get("latest_version") or {}
    live = flow.get("live_version") or {}
    return {
        "id": flow["id"],
        "name": flow["name"],
        "slug": flow["slug"],
        "latest_number": str(latest.get("number", "")),
        "latest_state": str(latest.get("state", "")),
        "live_number": str(live.get("number", "")),
    }


def _flow_row(flow: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(rx.text(flow["name"], weight="medium"), href="/flows/" + flow["id"]),
            rx.text(flow["slug"], size="1", color=rx.color("gray", 10)),
        ),
        rx.table.cell(
            rx.cond(
                flow["latest_number"] != "",
                rx.hstack(
                    rx.text("v" + flow["latest_number"], size="2"),
                    state_badge(flow["latest_state"]),
                    align="center",
                ),
                rx.text("-"),
            )
        ),
        rx.table.cell(
            rx.cond(
                flow["live_number"] != "",
                rx.badge("v" + flow["live_number"], color_scheme="green"),
                rx.text(t("not_live"), size="2", color=rx.color("gray", 10)),
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.cond(
                    FlowsState.can_build,
                    rx.link(
                        rx.button(rx.icon("pencil", size=14), t("open_editor"), size="1", variant="soft"),
                        href="/flows/" + flow["id"],
                    ),
                ),
                rx.link(
                    rx.button(rx.icon("history", size=14), t("open_versions"), size="1", variant="outline"),
                    href="/flows/" + flow["id"] + "/versions",
                ),
                spacing="2",
                justify="end",
            )
        ),
        class_name="flow-row",
        custom_attrs={"data-slug": flow["slug"]},
    )


def _new_flow_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(t("new_flow_title")),
            rx.vstack(
                rx.text(t("start_from"), size="2", weight="medium"),
                rx.radio_group.root(
                    rx.vstack(
                        rx.foreach(
                            FlowsState.templates,
                            lambda tpl: rx.card(
                                rx.radio_group.item(
                                    rx.vstack(
                                        rx.text(tpl["name"], weight="medium"),
                                        rx.text(tpl["description"], size="1", color=rx.color("gray", 11)),
                                        spacing="0",
                                        align="start",
                                    ),
                                    value=tpl["slug"],
                                ),
                                width="100%",
                            ),
                        ),
                        rx.card(
                            rx.radio_group.item(rx.text(t("blank_flow"), weight="medium"), value=BLANK),
                            width="100%",
                        ),
                        spacing="2",
                        width="100%",
                    ),
                    value=FlowsState.new_template,
                    on_change=FlowsState.set_new_template,
                    id="new-flow-template",
                ),
                rx.text(t("flow_name"), size="2", weight="medium"),
                rx.input(
                    value=FlowsState.new_name,
                    on_change=FlowsState.set_new_name,
                    id="new-flow-name",
                    width="100%",
                ),
                rx.text(t("flow_slug"), size="2", weight="medium"),
                rx.input(
                    value=FlowsState.new_slug,
                    on_change=FlowsState.set_new_slug,
                    id="new-flow-slug",
                    width="100%",
                ),
                rx.text(t("flow_slug_hint"), size="1", color=rx.color("gray", 10)),
                rx.hstack(
                    rx.dialog.close(rx.button(t("cancel"), variant="soft", color_scheme="gray")),
                    rx.button(
                        t("create"),
                        on_click=FlowsState.create,
                        loading=FlowsState.creating,
                        id="new-flow-create",
                    ),
                    justify="end",
                    width="100%",
                    spacing="3",
                ),
                spacing="3",
                width="100%",
            ),
            max_width="520px",
        ),
        open=FlowsState.dialog_open,
        on_open_change=FlowsState.set_dialog_open,
    )


def flows_page() -> rx.Component:
    new_button = rx.cond(
        FlowsState.can_build,
        rx.button(rx.icon("plus", size=16), t("new_flow"), on_click=FlowsState.open_dialog, id="new-flow"),
    )
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell(t("col_name")),
                rx.table.column_header_cell(t("col_newest")),
                rx.table.column_header_cell(t("col_live")),
                rx.table.column_header_cell(t("col_actions")),
            )
        ),
        rx.table.body(rx.foreach(FlowsState.flows, _flow_row)),
        width="100%",
        variant="surface",
    )
    return page_frame(
        page_title("flows_title", "flows_subtitle", new_button),
        rx.cond(
            FlowsState.loading & (FlowsState.flows.length() == 0),
            rx.center(rx.spinner(size="3"), padding="40px"),
            rx.cond(
                FlowsState.flows.length() > 0,
                table,
                empty_state("workflow", "no_flows", "no_flows_hint", new_button),
            ),
        ),
        _new_flow_dialog(),
    )
