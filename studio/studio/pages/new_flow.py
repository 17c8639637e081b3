""" "New flow": a gallery of the runtime's starter flows with their README, or a blank flow.

Choosing a starter creates the flow in the current workspace from the starter's
document (`POST /api/workspaces/{ws}/flows`, like any new flow) and opens the editor.
"""

from __future__ import annotations

import reflex as rx

from studio.components.dialog_footer import dialog_footer
from studio.starters import BLANK
from studio.state.base import t
from studio.state.new_flow import NewFlowState

PANE_HEIGHT = "min(50vh, 500px)"  # gallery and README scroll inside, the form below stays put
MARKDOWN = {
    "h1": lambda text: rx.heading(text, size="5", margin_y="8px"),
    "h2": lambda text: rx.heading(text, size="4", margin_y="6px"),
    "h3": lambda text: rx.heading(text, size="3", margin_y="4px"),
    "p": lambda text: rx.text(text, size="2", margin_y="4px"),
}


def _choice(slug: rx.Var, body: rx.Component) -> rx.Component:
    selected = NewFlowState.new_starter == slug
    return rx.box(
        body,
        on_click=NewFlowState.set_new_starter(slug),
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


def _starter_card(item: rx.Var) -> rx.Component:
    return _choice(
        item.slug,
        rx.vstack(
            rx.hstack(
                rx.text(item.name, weight="bold", size="2"),
                rx.spacer(),
                rx.cond(item.cases > 0, rx.badge(item.cases.to_string(), " ", t("starter_cases"), size="1")),
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
            rx.text(t("starter_needs"), ":", size="1", weight="bold"),
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
            rx.cond(chosen.language == "en", rx.badge(t("starter_english"), color_scheme="blue")),
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
            rx.foreach(NewFlowState.starters, _starter_card),
            rx.cond(NewFlowState.loading_starters, rx.center(rx.spinner(), width="100%", padding="12px")),
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
