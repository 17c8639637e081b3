"""What a version uses (`uses_view.UsesView`), for the review: connections with what they
do in production, knowledge indexes, language models. Each row is keyed by its name."""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.components.node_form import MONO
from studio.state.base import t


def _missing(exists: Any) -> rx.Component:
    return rx.cond(~exists, rx.badge(t("uses_missing"), color_scheme="red", variant="soft"))


def _table(headers: tuple[str, ...], rows: Any, render: Any, table_id: str) -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(t(key)) for key in headers])),
            rx.table.body(rx.foreach(rows, render)),
            width="100%",
            size="1",
            variant="surface",
            id=table_id,
        ),
        rx.text(t("uses_none"), size="2", color=rx.color("gray", 10)),
    )


def _connection(item: Any) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.hstack(rx.text(item.name, weight="medium"), _missing(item.exists), spacing="2")),
        rx.table.cell(item.kind),
        rx.table.cell(rx.text(item.host, font_family=MONO, size="1")),
        rx.table.cell(item.actions),
        rx.table.cell(
            rx.vstack(
                rx.badge(
                    item.effect,
                    color_scheme=rx.cond(item.side_effects, "red", "gray"),
                    variant="soft",
                    class_name="use-effect",
                ),
                rx.cond(
                    item.touches_production,
                    rx.badge(
                        rx.icon("triangle-alert", size=12),
                        t("uses_production"),
                        color_scheme=rx.cond(item.side_effects, "red", "amber"),
                        class_name="use-production",
                    ),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(rx.text(item.test_target, size="1")),
        rx.table.cell(rx.text(item.nodes, font_family=MONO, size="1")),
        class_name="use-connection",
        custom_attrs={
            "data-name": item.name,
            "data-production": rx.cond(item.touches_production, "true", "false"),
            "data-side-effects": rx.cond(item.side_effects, "true", "false"),
        },
        key=item.name,
    )


def _index(item: Any) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.hstack(rx.text(item.name, weight="medium"), _missing(item.exists), spacing="2")),
        rx.table.cell(item.backend),
        rx.table.cell(item.documents),
        rx.table.cell(rx.text(item.nodes, font_family=MONO, size="1")),
        class_name="use-index",
        custom_attrs={"data-name": item.name},
        key=item.name,
    )


def _model(item: Any) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.hstack(rx.text(item.name, weight="medium"), _missing(item.exists), spacing="2")),
        rx.table.cell(item.served_model),
        rx.table.cell(rx.text(item.host, font_family=MONO, size="1")),
        rx.table.cell(rx.text(item.nodes, font_family=MONO, size="1")),
        class_name="use-model",
        custom_attrs={"data-name": item.name},
        key=item.name,
    )


def uses_panel(uses: Any) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t("uses_title"), size="3"),
            rx.cond(
                uses.failed,
                rx.text(t("uses_unavailable"), size="2", color=rx.color("red", 11)),
                rx.vstack(
                    rx.text(t("uses_connections_title"), size="2", weight="bold"),
                    _table(
                        (
                            "uses_name",
                            "uses_kind",
                            "uses_host",
                            "uses_actions",
                            "uses_effects",
                            "uses_test_target",
                            "uses_nodes",
                        ),
                        uses.connections,
                        _connection,
                        "uses-connections",
                    ),
                    rx.text(t("uses_indexes_title"), size="2", weight="bold"),
                    _table(
                        ("uses_name", "uses_backend", "uses_documents", "uses_nodes"),
                        uses.indexes,
                        _index,
                        "uses-indexes",
                    ),
                    rx.text(t("uses_models_title"), size="2", weight="bold"),
                    _table(
                        ("uses_name", "uses_served_model", "uses_host", "uses_nodes"),
                        uses.models,
                        _model,
                        "uses-models",
                    ),
                    spacing="2",
                    width="100%",
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        id="review-uses",
    )
