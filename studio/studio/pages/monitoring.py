"""Monitoring: a workspace's assistants over a date range (default 30 days) — runs per day,
success, latency, tokens, feedback, approvals and connector calls — for the whole
workspace, one assistant or one role, as tiles, charts and two tables."""

from __future__ import annotations

import reflex as rx

from studio.components.charts import charts
from studio.components.layout import empty_state, page_frame, page_title
from studio.state.base import t
from studio.state.monitoring import MonitoringState as State

TABLE_COLUMNS = (
    ("runs", "col_runs"),
    ("success", "tile_success"),
    ("p50", "col_p50"),
    ("p95", "col_p95"),
    ("tokens", "tile_tokens"),
    ("feedback", "col_feedback"),
    ("corrections", "col_corrections"),
    ("approvals", "col_approval_rate"),
    ("actions", "col_connector_calls"),
)
TILE_KEYS = (
    "tile_runs",
    "tile_success",
    "tile_latency",
    "tile_tokens",
    "tile_feedback",
    "tile_approvals",
    "tile_actions",
)


def _range_bar() -> rx.Component:
    preset = lambda days: rx.button(  # noqa: E731 - a small render helper
        t(f"last_{days}_days"), size="1", variant="soft", on_click=State.last_days(days), id=f"range-{days}"
    )
    return rx.hstack(
        rx.form(
            rx.hstack(
                rx.text(t("range_from"), size="2"),
                rx.input(type="date", name="since", default_value=State.since, id="range-since", size="2"),
                rx.text(t("range_to"), size="2"),
                rx.input(type="date", name="until", default_value=State.until, id="range-until", size="2"),
                rx.button(
                    rx.icon("refresh-cw", size=14),
                    t("range_apply"),
                    type="submit",
                    size="2",
                    id="range-apply",
                ),
                align="center",
                spacing="2",
            ),
            on_submit=State.apply_range,
            # A new key remounts the fields, so a preset shows its dates in them.
            key=State.since + State.until,
            width="auto",
        ),
        preset(7),
        preset(30),
        preset(90),
        rx.spacer(),
        rx.select.root(
            rx.select.trigger(id="scope-select", min_width="240px"),
            rx.select.content(
                rx.foreach(State.scopes, lambda item: rx.select.item(item["label"], value=item["value"]))
            ),
            value=State.scope,
            on_change=State.choose_scope,
        ),
        align="center",
        spacing="3",
        width="100%",
        wrap="wrap",
        margin_bottom="16px",
    )


def _tile(tile: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(
                rx.match(tile["key"], *[(key, t(key)) for key in TILE_KEYS], tile["label"]),
                size="1",
                color=rx.color("gray", 11),
            ),
            rx.text(tile["value"], size="6", weight="bold", class_name="tile-value"),
            rx.text(tile["detail"], size="1", color=rx.color("gray", 10)),
            spacing="1",
        ),
        class_name="monitoring-tile",
        custom_attrs={"data-key": tile["key"]},
    )


def _group_table(title_key: str, rows: rx.Var, first_key: str, table_id: str) -> rx.Component:
    def row(item: rx.Var) -> rx.Component:
        return rx.table.row(
            rx.table.cell(
                rx.hstack(
                    # an assistant's own name (a role's name is the studio's, but harmless here)
                    rx.text(item["name"], weight="medium", custom_attrs={"data-user-content": "true"}),
                    rx.cond(item["extra"] != "", rx.badge(item["extra"], variant="outline", size="1")),
                    align="center",
                )
            ),
            *[rx.table.cell(item[key]) for key, _ in TABLE_COLUMNS],
            on_click=State.choose_scope(item["scope"]),
            cursor="pointer",
            background=rx.cond(State.scope == item["scope"], rx.color("accent", 3), "transparent"),
            class_name="monitoring-row",
            custom_attrs={"data-scope": item["scope"], "data-name": item["name"]},
        )

    return rx.vstack(
        rx.heading(t(title_key), size="4"),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell(t(first_key)),
                    *[rx.table.column_header_cell(t(label)) for _, label in TABLE_COLUMNS],
                )
            ),
            rx.table.body(rx.foreach(rows, row)),
            width="100%",
            size="1",
            variant="surface",
            id=table_id,
        ),
        spacing="2",
        width="100%",
    )


def _report() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading(State.scope_label, size="4", id="scope-title"),
            rx.cond(State.loading, rx.spinner(size="2")),
            align="center",
        ),
        rx.grid(
            rx.foreach(State.tile_rows, _tile),
            columns="repeat(auto-fill, minmax(140px, 1fr))",
            spacing="3",
            width="100%",
        ),
        charts(State.points),
        _group_table("by_assistant", State.assistants, "col_assistant", "assistant-table"),
        rx.text(t("by_assistant_hint"), size="1", color=rx.color("gray", 10)),
        _group_table("by_role", State.roles, "col_role", "role-table"),
        rx.text(t("by_role_hint"), size="1", color=rx.color("gray", 10)),
        spacing="4",
        width="100%",
    )


def monitoring_page() -> rx.Component:
    return page_frame(
        page_title("monitoring_title", "monitoring_subtitle"),
        _range_bar(),
        rx.cond(
            ~State.loaded,
            rx.center(rx.spinner(size="3"), padding="40px"),
            rx.cond(
                State.total_runs == 0,
                empty_state("chart-line", "monitoring_empty", "monitoring_empty_hint"),
                _report(),
            ),
        ),
    )
