"""The audit trail as a table: one row per entry, a click shows its details and hash."""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.state.base import t

# (header label key, column width); the details take the rest.
COLUMNS = (
    ("audit_seq", "64px"),
    ("audit_at", "150px"),
    ("audit_who", "130px"),
    ("audit_action", "210px"),
    ("audit_resource", "200px"),
    ("audit_detail", "auto"),
)


def _clip(text: rx.Var, **props: Any) -> rx.Component:
    """One line, cut with an ellipsis; the whole text on hover."""
    return rx.text(
        text,
        title=text,
        white_space="nowrap",
        overflow="hidden",
        text_overflow="ellipsis",
        display="block",
        **props,
    )


def _entry(entry: rx.Var, expanded: rx.Var, toggle: Any) -> rx.Component:
    return rx.fragment(
        rx.table.row(
            rx.table.cell(rx.text("#", entry["seq"], size="1", color=rx.color("gray", 10))),
            rx.table.cell(rx.text(entry["at"], size="1", white_space="nowrap")),
            rx.table.cell(_clip(entry["actor"], size="2")),
            rx.table.cell(
                _clip(entry["action_text"], size="2", weight="medium"),
                _clip(entry["action"], size="1", color=rx.color("gray", 10), font_family="monospace"),
            ),
            rx.table.cell(
                _clip(entry["resource_type"], size="1"),
                _clip(entry["resource_id"], size="1", color=rx.color("gray", 10)),
            ),
            # The recorded detail is data (JSON as stored, names people gave), not the studio's words.
            rx.table.cell(
                _clip(entry["detail"], size="1", color=rx.color("gray", 11)),
                custom_attrs={"data-user-content": "detail"},
            ),
            on_click=toggle(entry["seq"]),
            cursor="pointer",
            class_name="audit-row",
            custom_attrs={
                "data-action": entry["action"],
                "data-actor": entry["actor"],
                "data-seq": entry["seq"],
            },
        ),
        rx.cond(
            expanded == entry["seq"],
            rx.table.row(
                rx.table.cell(
                    rx.vstack(
                        rx.cond(
                            entry["detail_pretty"] != "",
                            rx.box(
                                rx.code_block(
                                    entry["detail_pretty"], language="json", font_size="12px", width="100%"
                                ),
                                custom_attrs={"data-user-content": "detail"},
                                width="100%",
                            ),
                            rx.text(t("audit_no_detail"), size="1", color=rx.color("gray", 10)),
                        ),
                        rx.text(
                            t("audit_entry_hash"),
                            ": ",
                            entry["hash"],
                            "…",
                            size="1",
                            color=rx.color("gray", 10),
                        ),
                        width="100%",
                    ),
                    col_span=len(COLUMNS),
                    background=rx.color("gray", 2),
                ),
                class_name="audit-detail",
            ),
        ),
    )


def audit_table(entries: rx.Var, expanded: rx.Var, toggle: Any) -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(*[rx.table.column_header_cell(t(key), width=width) for key, width in COLUMNS])
        ),
        rx.table.body(rx.foreach(entries, lambda entry: _entry(entry, expanded, toggle))),
        width="100%",
        size="1",
        variant="surface",
        # Fixed columns: long details and ids are cut, not widening the table past the page.
        style={"& table": {"tableLayout": "fixed"}},
        id="audit-table",
    )
