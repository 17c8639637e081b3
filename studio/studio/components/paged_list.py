"""A filtered, paged list as the runs and audit pages show it: the filter form's selects,
the pager under the table (newer, page n, older) and the table, a spinner or "nothing
here" in its place.

Both pages page backwards through time with a stack of cursors in their state
(`pages`); only the texts and element ids differ, by `prefix` (`runs`, `audit`).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.components.layout import empty_state
from studio.state.base import t

ALL = "__all__"  # the select's "all" item: an empty filter (a select item needs a value)


def filter_select(
    name: str, element_id: str, all_key: str, options: list[tuple[str, Any]], default: rx.Var
) -> rx.Component:
    """A select submitted as `name`; its first item, `all_key`, means no filter."""
    return rx.select.root(
        rx.select.trigger(placeholder=t(all_key), id=element_id, width="100%"),
        rx.select.content(
            rx.select.item(t(all_key), value=ALL),
            *[rx.select.item(label, value=value) for value, label in options],
        ),
        name=name,
        default_value=default,
    )


def pager(prefix: str, page_number: Any, has_older: Any, on_newer: Any, on_older: Any) -> rx.Component:
    return rx.hstack(
        rx.button(
            rx.icon("chevron-left", size=14),
            t(f"{prefix}_newer"),
            size="1",
            variant="soft",
            disabled=page_number <= 1,
            on_click=on_newer,
            id=f"{prefix}-newer",
        ),
        rx.text(
            t(f"{prefix}_page"), " ", page_number, size="1", color=rx.color("gray", 10), id=f"{prefix}-page"
        ),
        rx.button(
            t(f"{prefix}_older"),
            rx.icon("chevron-right", size=14),
            size="1",
            variant="soft",
            disabled=~has_older,
            on_click=on_older,
            id=f"{prefix}-older",
        ),
        justify="center",
        align="center",
        width="100%",
    )


def paged_list(
    rows: rx.Var, table: rx.Component, pages: rx.Component, loading: rx.Var, empty: tuple[str, str, str]
) -> rx.Component:
    """The table and its pager; while nothing is shown, a spinner or `empty` (icon, title
    key, hint key)."""
    return rx.cond(
        rows.length() > 0,  # type: ignore[attr-defined]
        rx.vstack(table, pages, spacing="3", width="100%"),
        rx.cond(loading, rx.center(rx.spinner(size="3"), padding="40px"), empty_state(*empty)),
    )
