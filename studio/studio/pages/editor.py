"""The editor page: toolbar, palette, canvas, and the tabs on the right."""

from __future__ import annotations

import reflex as rx

from studio import routes
from studio.components.cases_panel import cases_panel
from studio.components.editor_panels import card_form, flow_settings, palette, test_panel
from studio.components.flow_canvas import flow_canvas
from studio.components.layout import empty_state, page_frame, state_badge
from studio.components.node_form import node_form
from studio.components.submit_gate import submit_controls
from studio.state.base import t
from studio.state.editor import EditorState

TOOLBAR_HEIGHT = "52px"
SIDE_PANEL_WIDTH = "440px"  # six tabs side by side, and room for a test case's sentences


def _problems() -> rx.Component:
    def problem(item: rx.Var) -> rx.Component:
        return rx.hstack(
            rx.badge(
                rx.cond(item["node"] != "", item["node"], t("flow_level")),
                color_scheme="red",
                variant="soft",
                font_family="monospace",
            ),
            rx.text(rx.cond(item["field"] != "", item["field"] + ": ", ""), item["message"], size="1"),
            on_click=EditorState.select_node(item["node"]),
            cursor="pointer",
            align="start",
            width="100%",
        )

    badge = rx.cond(
        EditorState.problem_count == 0,
        rx.badge(
            rx.icon("circle-check", size=12),
            t("valid"),
            color_scheme="green",
            size="2",
            id="validity",
            custom_attrs={"data-problems": "0"},
        ),
        rx.badge(
            rx.icon("triangle-alert", size=12),
            EditorState.problem_count.to_string(),
            " ",
            rx.cond(EditorState.problem_count == 1, t("problems_one"), t("problems_many")),
            color_scheme="red",
            size="2",
            id="validity",
            cursor="pointer",
            custom_attrs={"data-problems": EditorState.problem_count.to_string()},
        ),
    )
    return rx.popover.root(
        rx.popover.trigger(rx.box(badge)),
        rx.popover.content(
            rx.vstack(
                rx.text(t("problems_title"), weight="bold", size="2"),
                rx.foreach(EditorState.problems, problem),
                spacing="2",
                max_width="420px",
            ),
        ),
    )


def toolbar() -> rx.Component:
    return rx.hstack(
        rx.link(rx.icon_button(rx.icon("arrow-left", size=16), variant="ghost", size="2"), href=routes.FLOWS),
        rx.heading(
            EditorState.flow_name,
            size="4",
            id="editor-flow-name",
            white_space="nowrap",
            overflow="hidden",
            text_overflow="ellipsis",
            max_width="280px",
            title=EditorState.flow_name,
        ),
        rx.cond(
            EditorState.saved_number > 0,
            rx.hstack(
                rx.text(
                    t("col_version"),
                    " ",
                    EditorState.saved_number.to_string(),
                    size="2",
                    color=rx.color("gray", 11),
                    id="editor-version",
                    white_space="nowrap",
                ),
                state_badge(EditorState.saved_state),
                align="center",
                spacing="2",
            ),
        ),
        _problems(),
        rx.cond(
            EditorState.read_only,
            rx.badge(rx.icon("eye", size=12), t("editor_read_only"), color_scheme="gray", size="2"),
            rx.cond(
                EditorState.dirty | EditorState.layout_dirty,
                rx.text(t("unsaved_changes"), size="1", color=rx.color("amber", 11), id="dirty-flag"),
                rx.text(t("all_saved"), size="1", color=rx.color("gray", 10)),
            ),
        ),
        rx.spacer(),
        rx.button(
            rx.icon("history", size=14),
            t("open_versions"),
            variant="soft",
            color_scheme="gray",
            on_click=EditorState.open_versions,
            size="2",
        ),
        rx.cond(
            ~EditorState.read_only,
            rx.fragment(
                rx.button(
                    rx.icon("save", size=14),
                    t("save_version"),
                    on_click=EditorState.save,
                    size="2",
                    loading=EditorState.saving,
                    id="save-flow",
                    disabled=~(EditorState.dirty | EditorState.layout_dirty),
                ),
                submit_controls(),
            ),
        ),
        align="center",
        spacing="3",
        padding_x="16px",
        height=TOOLBAR_HEIGHT,
        width="100%",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background="white",
    )


def _tab_trigger(value: str, key: str, icon: str) -> rx.Component:
    return rx.tabs.trigger(
        rx.hstack(rx.icon(icon, size=14), t(key), spacing="1", align="center"), value=value, id=f"tab-{value}"
    )


def side_panel() -> rx.Component:
    return rx.box(
        rx.tabs.root(
            rx.tabs.list(
                _tab_trigger("node", "tab_node", "square-mouse-pointer"),
                _tab_trigger("flow", "tab_flow", "settings-2"),
                _tab_trigger("card", "tab_card", "file-text"),
                _tab_trigger("test", "tab_test", "play"),
                _tab_trigger("cases", "tab_cases", "list-checks"),
                size="1",
            ),
            rx.tabs.content(rx.box(node_form(), padding="12px"), value="node"),
            rx.tabs.content(rx.box(flow_settings(), padding="12px"), value="flow"),
            rx.tabs.content(rx.box(card_form(), padding="12px"), value="card"),
            rx.tabs.content(rx.box(test_panel(), padding="12px"), value="test"),
            rx.tabs.content(rx.box(cases_panel(), padding="12px"), value="cases"),
            value=EditorState.panel_tab,
            on_change=EditorState.set_panel_tab,
            width="100%",
        ),
        width=SIDE_PANEL_WIDTH,
        min_width=SIDE_PANEL_WIDTH,
        height="100%",
        overflow_y="auto",
        border_left=f"1px solid {rx.color('gray', 5)}",
        background="white",
    )


def editor_body() -> rx.Component:
    return rx.vstack(
        toolbar(),
        rx.hstack(
            rx.cond(~EditorState.read_only, palette()),
            rx.box(
                flow_canvas(
                    nodes=EditorState.canvas_nodes,
                    edges=EditorState.canvas_edges,
                    read_only=EditorState.read_only,
                    fit_key=EditorState.fit_key,
                    on_node_moved=EditorState.move_nodes,
                    on_connect_nodes=EditorState.connect_nodes,
                    on_delete_elements=EditorState.delete_elements,
                    on_select_element=EditorState.select_element,
                    on_drop_type=EditorState.drop_type,
                ),
                flex="1",
                height="100%",
                min_width="0",
            ),
            side_panel(),
            spacing="0",
            width="100%",
            height=f"calc(100vh - 56px - {TOOLBAR_HEIGHT})",
            align="stretch",
        ),
        spacing="0",
        width="100%",
    )


def editor_page() -> rx.Component:
    return page_frame(
        rx.cond(
            EditorState.loaded,
            rx.cond(
                EditorState.load_error != "",
                rx.box(
                    empty_state(
                        "file-question",
                        "not_found_title",
                        None,
                        rx.text(EditorState.load_error, size="2", id="load-error"),
                        rx.link(rx.button(t("back_to_start")), href=routes.INDEX),
                    ),
                    padding="24px",
                ),
                editor_body(),
            ),
            rx.center(rx.spinner(size="3"), height="60vh"),
        ),
        full_bleed=True,
    )
