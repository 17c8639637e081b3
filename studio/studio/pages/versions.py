"""Versions of a flow: history with state, author and hash; a diff of any two (the same
view as the review: `components.version_diff`); the lifecycle."""

from __future__ import annotations

import reflex as rx

from studio import routes
from studio.components.layout import page_frame, state_badge
from studio.components.version_diff import version_diff
from studio.state.base import t
from studio.state.versions import VersionsState


def _version_row(row: rx.Var) -> rx.Component:
    number = row["number"]

    def action(name: str, label: str, icon: str, when: rx.Var) -> rx.Component:
        return rx.cond(
            when,
            rx.button(
                rx.icon(icon, size=12),
                t(label),
                size="1",
                variant="soft",
                loading=VersionsState.busy == name + ":" + number,
                on_click=VersionsState.lifecycle(number, name),
                id=f"{name}-" + number,
            ),
        )

    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.text("v" + number, weight="medium"),
                rx.cond(row["live"] == "true", rx.badge(t("live_badge"), color_scheme="green")),
                spacing="2",
            )
        ),
        rx.table.cell(
            state_badge(row["state"]), custom_attrs={"data-state": row["state"]}, class_name="version-state"
        ),
        rx.table.cell(rx.text(row["author"], size="2")),
        rx.table.cell(
            rx.cond(
                row["gate"] != "",
                rx.badge(
                    row["gate_text"],
                    color_scheme=rx.match(row["gate"], ("passed", "green"), ("failed", "red"), "amber"),
                    variant="soft",
                ),
            ),
            class_name="version-gate",
            custom_attrs={"data-gate": row["gate"]},
        ),
        rx.table.cell(rx.text(row["hash"], size="1", font_family="monospace", title=row["full_hash"])),
        rx.table.cell(rx.text(row["created"], size="1", color=rx.color("gray", 10))),
        rx.table.cell(
            rx.hstack(
                action("submit", "submit", "send", VersionsState.can_edit & (row["state"] == "draft")),
                action("publish", "publish", "rocket", VersionsState.can_edit & (row["state"] == "approved")),
                action(
                    "retire",
                    "retire",
                    "archive",
                    (VersionsState.can_edit | VersionsState.is_board) & (row["state"] == "published"),
                ),
                spacing="2",
                justify="end",
            )
        ),
        class_name="version-row",
        custom_attrs={"data-number": number},
        key=number,
    )


def versions_page() -> rx.Component:
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(t(key))
                    for key in (
                        "col_version",
                        "col_state",
                        "col_author",
                        "col_tests",
                        "col_hash",
                        "col_created",
                        "col_actions",
                    )
                ]
            )
        ),
        rx.table.body(rx.foreach(VersionsState.versions, _version_row)),
        width="100%",
        variant="surface",
    )
    version_select = rx.select.content(
        rx.foreach(
            VersionsState.version_numbers,
            lambda number: rx.select.item("v" + number, value=number, key=number),
        )
    )
    compare = rx.vstack(
        rx.card(
            rx.hstack(
                rx.heading(t("diff_title"), size="4"),
                rx.spacer(),
                rx.text(t("compare_from"), size="2"),
                rx.select.root(
                    rx.select.trigger(placeholder=t("live_badge"), id="diff-from"),
                    version_select,
                    value=VersionsState.diff_from,
                    on_change=VersionsState.set_diff_from,
                ),
                rx.text(t("compare_to"), size="2"),
                rx.select.root(
                    rx.select.trigger(id="diff-to"),
                    version_select,
                    value=VersionsState.diff_to,
                    on_change=VersionsState.set_diff_to,
                ),
                align="center",
                width="100%",
                spacing="2",
            ),
            width="100%",
        ),
        version_diff(VersionsState.diff_view, VersionsState.open_change, VersionsState.diff_error),
        spacing="3",
        width="100%",
    )
    header = rx.hstack(
        rx.link(rx.icon_button(rx.icon("arrow-left", size=16), variant="ghost"), href=routes.FLOWS),
        rx.vstack(
            rx.heading(VersionsState.flow_name, " - ", t("versions_title"), size="6"),
            rx.text(t("versions_subtitle"), size="2", color=rx.color("gray", 11)),
            spacing="1",
        ),
        rx.spacer(),
        rx.cond(
            VersionsState.can_edit,
            rx.link(
                rx.button(rx.icon("pencil", size=14), t("open_flow")), href="/flows/" + VersionsState.flow_id
            ),
        ),
        width="100%",
        align="center",
        margin_bottom="16px",
    )
    return page_frame(
        rx.cond(
            VersionsState.error != "",
            rx.callout(VersionsState.error, icon="triangle-alert", color_scheme="red", id="load-error"),
            rx.vstack(header, table, compare, spacing="4", width="100%"),
        ),
    )
