"""One confirmation dialog for deleting things: what goes, that it cannot be undone."""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.components.dialog_footer import dialog_footer
from studio.state.base import t


def confirm_dialog(
    *,
    open_: rx.Var[bool],
    on_open_change: Any,
    title: rx.Var | str,
    body: tuple[rx.Var | str, ...],
    on_confirm: Any,
    busy: rx.Var[bool],
    confirm_key: str = "delete",
    dialog_id: str = "confirm-dialog",
) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(*body, size="2"),
            dialog_footer(
                rx.button(
                    rx.icon("trash-2", size=14),
                    t(confirm_key),
                    color_scheme="red",
                    loading=busy,
                    on_click=on_confirm,
                    id="confirm-delete",
                ),
                alert=True,
                margin_top="16px",
            ),
            id=dialog_id,
            max_width="480px",
        ),
        open=open_,
        on_open_change=on_open_change,
    )
