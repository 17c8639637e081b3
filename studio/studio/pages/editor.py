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
from studio.state.working_copy import AUTOSAVE_DELAY_MS

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


def _history_buttons() -> rx.Component:
    return rx.hstack(
        rx.tooltip(
            rx.icon_button(
                rx.icon("undo-2", size=16),
                variant="ghost",
                size="2",
                on_click=EditorState.undo,
                disabled=EditorState.undo_depth == 0,
                id="undo",
            ),
            content=t("undo"),
        ),
        rx.tooltip(
            rx.icon_button(
                rx.icon("redo-2", size=16),
                variant="ghost",
                size="2",
                on_click=EditorState.redo,
                disabled=EditorState.redo_depth == 0,
                id="redo",
            ),
            content=t("redo"),
        ),
        spacing="1",
    )


def _save_state() -> rx.Component:
    """Where the working copy stands: saved, being saved, failed, or in conflict with another tab."""
    state = EditorState.save_display
    shown = rx.match(
        state,
        (
            "conflict",
            rx.tooltip(
                rx.badge(
                    rx.icon("triangle-alert", size=12), t("wc_conflict_short"), color_scheme="red", size="2"
                ),
                content=t("draft_changed_hint"),
            ),
        ),
        (
            "failed",
            rx.hstack(
                rx.text(t("wc_failed"), size="1", color=rx.color("red", 11)),
                rx.button(t("wc_retry"), size="1", variant="soft", on_click=EditorState.retry_save),
                spacing="2",
                align="center",
            ),
        ),
        ("pending", rx.text(t("wc_pending"), size="1", color=rx.color("amber", 11))),
        rx.text(t("wc_saved"), size="1", color=rx.color("gray", 10)),
    )
    return rx.box(
        shown,
        id="autosave-state",
        custom_attrs={"data-state": state},
        white_space="nowrap",
    )


def conflict_banner() -> rx.Component:
    """Another tab saved the working copy first: say so, and offer both ways out."""
    return rx.cond(
        EditorState.save_display == "conflict",
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert", size=16)),
            rx.hstack(
                rx.callout.text(rx.text(t("wc_conflict"), weight="bold"), " ", t("draft_changed_hint")),
                rx.spacer(),
                rx.button(
                    t("wc_take_theirs"),
                    size="1",
                    variant="soft",
                    on_click=EditorState.take_theirs,
                    id="take-theirs",
                ),
                rx.button(
                    t("wc_keep_mine"),
                    size="1",
                    variant="solid",
                    color_scheme="red",
                    on_click=EditorState.keep_mine,
                    id="keep-mine",
                ),
                align="center",
                spacing="3",
                width="100%",
            ),
            color_scheme="red",
            size="1",
            width="100%",
            border_radius="0",
            id="conflict-banner",
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
            rx.hstack(_history_buttons(), _save_state(), spacing="3", align="center"),
        ),
        rx.spacer(),
        rx.tooltip(
            rx.link(
                rx.icon_button(
                    rx.icon("activity", size=16),
                    variant="soft",
                    color_scheme="gray",
                    size="2",
                    aria_label=t("open_runs"),
                ),
                href="/flows/" + EditorState.flow_id + "/runs",
                id="open-runs",
            ),
            content=t("open_runs"),
        ),
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
                rx.tooltip(
                    rx.box(
                        rx.button(
                            rx.icon("git-commit-horizontal", size=14),
                            t("cut_version"),
                            on_click=EditorState.cut_version,
                            size="2",
                            loading=EditorState.cutting,
                            id="cut-version",
                            white_space="nowrap",
                            disabled=EditorState.cut_blocked_reason != "",
                            custom_attrs={"data-reason": EditorState.cut_blocked_reason},
                        ),
                    ),
                    content=rx.cond(
                        EditorState.cut_blocked_reason != "", EditorState.cut_blocked_reason, t("cut_version")
                    ),
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
            # Keyed by `form_epoch`: after undo, redo or a reload the forms show the new values.
            rx.tabs.content(rx.box(node_form(), padding="12px", key=EditorState.form_epoch), value="node"),
            rx.tabs.content(
                rx.box(flow_settings(), padding="12px", key=EditorState.form_epoch), value="flow"
            ),
            rx.tabs.content(rx.box(card_form(), padding="12px", key=EditorState.form_epoch), value="card"),
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


def _canvas_texts() -> rx.Var:
    """What the canvas writes itself (tool tips, the question before leaving), in the person's language."""
    keys = ("undo", "redo", "copy_nodes", "paste_nodes", "auto_layout", "minimap_toggle", "wc_leave_confirm")
    return rx.Var.create({key: t(key) for key in keys})


def editor_body() -> rx.Component:
    return rx.vstack(
        toolbar(),
        conflict_banner(),
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
                    autosave_key=EditorState.autosave_key,
                    autosave_delay_ms=AUTOSAVE_DELAY_MS,
                    on_autosave=EditorState.autosave,
                    unsaved=EditorState.unsaved,
                    texts=_canvas_texts(),
                    on_undo=EditorState.undo,
                    on_redo=EditorState.redo,
                    on_copy_nodes=EditorState.copy_nodes,
                    on_paste_nodes=EditorState.paste_nodes,
                ),
                flex="1",
                height="100%",
                min_width="0",
            ),
            side_panel(),
            spacing="0",
            width="100%",
            flex="1",
            min_height="0",
            align="stretch",
        ),
        spacing="0",
        width="100%",
        # Toolbar, the conflict banner when there is one, and the canvas below in what is left.
        height="calc(100vh - 56px)",
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
