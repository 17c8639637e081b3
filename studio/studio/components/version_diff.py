"""A version diff (`version_diff.DiffView`), rendered the same way on the review and the
versions page: the graph coloured by change (click a node: its card), a card per
added/changed/removed block with each field's title and old → new value or a line diff,
the documentation card, then links, inputs, outputs and test cases.

Every list item is keyed by its id; values are text, Markdown lists/tables or lines,
never JSON. What a version uses is `components.uses_panel`.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.components.flow_canvas import flow_canvas
from studio.components.node_form import MONO
from studio.components.safe_markdown import safe_markdown
from studio.state.base import t

CANVAS_HEIGHT = "320px"
# The whole graph fits even when it is wide; below this the text would be too small to read.
CANVAS_MIN_ZOOM = 0.6


def status_scheme(status: Any) -> rx.Var:
    return rx.match(status, ("added", "green"), ("changed", "amber"), ("removed", "red"), "gray")


def _status_badge(status: Any, label: Any) -> rx.Component:
    return rx.badge(
        label, color_scheme=status_scheme(status), variant="soft", custom_attrs={"data-status": status}
    )


# -- values ------------------------------------------------------------------------------------
def _value(text: Any, markdown: Any, side: str) -> rx.Component:
    """One side of a change: Markdown (a definition list or table) or one plain value."""
    colour = {"old": rx.color("red", 11), "new": rx.color("green", 11)}.get(side, rx.color("gray", 12))
    return rx.cond(
        markdown != "",
        rx.box(safe_markdown(markdown), class_name=f"diff-md diff-{side}", font_size="13px", min_width="0"),
        rx.text(
            rx.cond(text != "", text, t("diff_empty_value")),
            size="2",
            color=colour,
            text_decoration="line-through" if side == "old" else "none",
            white_space="pre-wrap",
            word_break="break-word",
            class_name=f"diff-{side}",
        ),
    )


def _old_to_new(item: Any) -> rx.Component:
    return rx.hstack(
        rx.cond(item.status != "added", _value(item.old, item.old_md, "old")),
        rx.cond(item.status == "changed", rx.icon("arrow-right", size=14, flex_shrink="0", margin_top="3px")),
        rx.cond(item.status != "removed", _value(item.new, item.new_md, "new")),
        align="start",
        spacing="2",
        width="100%",
        wrap="wrap",
    )


def _line(line: Any) -> rx.Component:
    """One line of a text diff: both line numbers, a sign, the line itself (never an escape)."""
    return rx.el.div(
        rx.el.span(line.old_no, class_name="diff-line-no"),
        rx.el.span(line.new_no, class_name="diff-line-no"),
        rx.el.span(
            rx.match(line.kind, ("added", "+"), ("removed", "\u2212"), ""), class_name="diff-line-sign"
        ),
        rx.el.span(line.text, class_name="diff-line-text"),
        class_name="diff-line diff-line-" + line.kind,
        custom_attrs={"data-kind": line.kind},
        key=line.key,
        display="grid",
        grid_template_columns="2.5em 2.5em 1.2em 1fr",
        font_family=MONO,
        font_size="12px",
        line_height="1.5",
        min_height="1.5em",
        white_space="pre-wrap",
        word_break="break-word",
        color=rx.match(
            line.kind,
            ("added", rx.color("green", 12)),
            ("removed", rx.color("red", 12)),
            rx.color("gray", 11),
        ),
        background=rx.match(
            line.kind, ("added", rx.color("green", 3)), ("removed", rx.color("red", 3)), "transparent"
        ),
    )


def _lines(lines: Any) -> rx.Component:
    return rx.box(
        rx.foreach(lines, _line),
        class_name="diff-lines",
        width="100%",
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="6px",
        padding="4px 0",
        background=rx.color("gray", 1),
        overflow_x="auto",
    )


# -- the blocks --------------------------------------------------------------------------------
def _field(field: Any) -> rx.Component:
    return rx.vstack(
        rx.text(field.title, size="2", weight="medium", class_name="diff-field-title"),
        rx.cond(field.lines.length() > 0, _lines(field.lines), _old_to_new(field)),
        spacing="1",
        width="100%",
        class_name="diff-field",
        custom_attrs={"data-field": field.key, "data-status": field.status},
        key=field.key,
    )


def _node_card(node: Any) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                _status_badge(node.status, node.status_label),
                rx.text(node.title, size="3", weight="bold"),
                rx.text(node.type_title, size="2", color=rx.color("gray", 11)),
                rx.spacer(),
                rx.text(node.id, size="1", font_family=MONO, color=rx.color("gray", 10)),
                align="center",
                width="100%",
                spacing="2",
            ),
            rx.foreach(node.fields, _field),
            spacing="3",
            width="100%",
        ),
        id="change-" + node.id,
        class_name="change-card",
        custom_attrs={"data-node": node.id, "data-status": node.status},
        key=node.id,
        width="100%",
        border_left=rx.match(
            node.status,
            ("added", f"4px solid {rx.color('green', 9)}"),
            ("removed", f"4px solid {rx.color('red', 9)}"),
            f"4px solid {rx.color('amber', 9)}",
        ),
        scroll_margin_top="12px",
    )


def _legend(view: Any) -> rx.Component:
    return rx.hstack(
        rx.foreach(
            view.legend,
            lambda item: rx.badge(
                item.label,
                " · ",
                item.count,
                color_scheme=status_scheme(item.status),
                variant=rx.cond(item.status == "unchanged", "outline", "soft"),
                class_name="diff-legend-item",
                custom_attrs={"data-status": item.status},
                key=item.status,
            ),
        ),
        spacing="2",
        id="diff-legend",
        wrap="wrap",
    )


def _canvas(view: Any, on_open: Any) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(t("diff_canvas_title"), size="3"),
                rx.spacer(),
                _legend(view),
                align="center",
                width="100%",
                wrap="wrap",
            ),
            rx.text(t("diff_canvas_hint"), size="1", color=rx.color("gray", 10)),
            rx.box(
                flow_canvas(
                    nodes=view.canvas_nodes,
                    edges=view.canvas_edges,
                    read_only=True,
                    fit_key=view.fit_key,
                    auto_layout=True,
                    min_fit_zoom=CANVAS_MIN_ZOOM,
                    on_open_node=on_open,
                    texts=rx.Var.create({"minimap_toggle": t("minimap_toggle")}),
                ),
                height=CANVAS_HEIGHT,
                width="100%",
                border=f"1px solid {rx.color('gray', 5)}",
                border_radius="8px",
                overflow="hidden",
                id="diff-canvas",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


# -- the card and the smaller sections ---------------------------------------------------------
def _card_row(row: Any) -> rx.Component:
    changed = row.status != "same"
    return rx.vstack(
        rx.hstack(
            rx.text(row.label, size="1", weight="bold", color=rx.color("gray", 11)),
            rx.cond(changed, _status_badge(row.status, t("diff_status_changed"))),
            spacing="2",
            align="center",
        ),
        rx.cond(changed, _old_to_new(row), _value(row.new, row.new_md, "same")),
        spacing="1",
        width="100%",
        padding="6px 8px",
        border_radius="6px",
        background=rx.cond(changed, rx.color("amber", 2), "transparent"),
        class_name="card-row",
        custom_attrs={"data-key": row.key, "data-status": row.status},
        key=row.key,
    )


def card_section(rows: Any) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t("review_card_title"), size="3"),
            rx.cond(
                rows.length() > 0,
                rx.foreach(rows, _card_row),
                rx.text(t("review_card_empty"), size="2", color=rx.color("gray", 10)),
            ),
            spacing="1",
            width="100%",
        ),
        width="100%",
        id="review-card",
    )


def _row(row: Any) -> rx.Component:
    """A row of `diffview.diff_rows`: a section heading, or one added/removed/changed item."""
    sign = rx.match(row["kind"], ("added", "+"), ("removed", "\u2212"), "~")
    return rx.cond(
        row["kind"] == "section",
        rx.text(row["label"], size="2", weight="bold", margin_top="8px", key=row["key"]),
        rx.hstack(
            rx.badge(sign, color_scheme=status_scheme(row["kind"])),
            rx.text(row["label"], size="2", weight="medium", min_width="180px"),
            rx.cond(
                row["kind"] != "added",
                _value(row["old"], row["old_md"], "old"),
            ),
            rx.cond(row["kind"] == "changed", rx.icon("arrow-right", size=12, margin_top="4px")),
            rx.cond(row["kind"] != "removed", _value(row["new"], row["new_md"], "new")),
            align="start",
            width="100%",
            class_name="diff-" + row["kind"],
            custom_attrs={"data-key": row["key"]},
            key=row["key"],
        ),
    )


def version_diff(view: Any, on_open: Any, error: Any) -> rx.Component:
    """The whole diff; `on_open` handles a click on a node of the canvas (`{node}`)."""
    return rx.cond(
        error != "",
        rx.callout(error, icon="triangle-alert", color_scheme="red", id="diff-error"),
        rx.cond(
            view.ready,
            rx.vstack(
                rx.cond(view.first, rx.callout(t("diff_first"), icon="info", size="1", id="diff-first")),
                _canvas(view, on_open),
                rx.card(
                    rx.vstack(
                        rx.heading(t("diff_blocks_title"), size="3"),
                        rx.cond(
                            view.nodes.length() > 0,
                            rx.foreach(view.nodes, _node_card),
                            rx.text(t("diff_blocks_none"), size="2", color=rx.color("gray", 10)),
                        ),
                        spacing="3",
                        width="100%",
                    ),
                    width="100%",
                    id="diff-blocks",
                ),
                card_section(view.card),
                rx.cond(
                    view.rows.length() > 0,
                    rx.card(
                        rx.vstack(
                            rx.heading(t("diff_more_title"), size="3"),
                            rx.foreach(view.rows, _row),
                            spacing="2",
                            width="100%",
                        ),
                        width="100%",
                        id="diff-more",
                    ),
                ),
                rx.cond(~view.changed, rx.text(t("diff_none"), size="2", color=rx.color("gray", 10))),
                spacing="3",
                width="100%",
                id="diff-view",
            ),
            rx.center(rx.spinner(size="2"), padding="24px", width="100%"),
        ),
    )
