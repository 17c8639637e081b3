"""Flows of the current workspace: newest and live version; "new flow" opens the gallery."""

from __future__ import annotations

import reflex as rx

from studio.components.layout import empty_state, page_frame, page_title, state_badge
from studio.pages.new_flow import new_flow_dialog
from studio.state.base import t
from studio.state.flows import FlowsState
from studio.state.new_flow import NewFlowState


def _flow_row(flow: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(  # the flow's own name and slug
            rx.link(rx.text(flow["name"], weight="medium"), href="/flows/" + flow["id"]),
            rx.text(flow["slug"], size="1", color=rx.color("gray", 10)),
            custom_attrs={"data-user-content": "true"},
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
                rx.link(
                    rx.button(rx.icon("activity", size=14), t("open_runs"), size="1", variant="outline"),
                    href="/flows/" + flow["id"] + "/runs",
                    class_name="flow-runs",
                ),
                spacing="2",
                justify="end",
            )
        ),
        class_name="flow-row",
        custom_attrs={"data-slug": flow["slug"]},
    )


def flows_page() -> rx.Component:
    new_button = rx.cond(
        FlowsState.can_build,
        rx.button(rx.icon("plus", size=16), t("new_flow"), on_click=NewFlowState.open_dialog, id="new-flow"),
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
        new_flow_dialog(),
    )
