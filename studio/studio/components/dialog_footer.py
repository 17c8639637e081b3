"""The bottom row of every dialog: cancel (or close) on the left of the dialog's actions."""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.state.base import t


def dialog_footer(
    *actions: rx.Component, cancel_key: str = "cancel", alert: bool = False, **props: Any
) -> rx.Component:
    """Cancel closes the dialog and never submits its form (`type="button"`); `actions`
    follow it, right-aligned. `alert` for an `rx.alert_dialog` (its own cancel part)."""
    close = rx.alert_dialog.cancel if alert else rx.dialog.close
    return rx.hstack(
        close(rx.button(t(cancel_key), variant="soft", color_scheme="gray", type="button")),
        *actions,
        justify="end",
        width="100%",
        spacing="3",
        **props,
    )
