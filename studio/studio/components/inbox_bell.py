"""The header's bell: the number of unread notifications, asked for when a page opens and
every `POLL_MS` while it stays open; a click opens the inbox."""

from __future__ import annotations

import reflex as rx

from studio import routes
from studio.components.every import every
from studio.state.base import t
from studio.state.inbox import POLL_MS, InboxState


def inbox_bell() -> rx.Component:
    return rx.link(
        rx.box(
            rx.icon("bell", size=18),
            rx.cond(
                InboxState.unread > 0,
                rx.badge(
                    InboxState.unread_label,
                    color_scheme="red",
                    variant="solid",
                    radius="full",
                    size="1",
                    position="absolute",
                    top="-8px",
                    right="-12px",
                    id="inbox-badge",
                    custom_attrs={"data-count": InboxState.unread},
                ),
            ),
            every(ms=POLL_MS, on_tick=InboxState.refresh_count),
            position="relative",
            display="flex",
            align_items="center",
            padding="4px",
            on_mount=InboxState.refresh_count,
        ),
        href=routes.INBOX,
        id="inbox-bell",
        title=t("inbox_bell"),
        color=rx.color("gray", 12),
        underline="none",
    )
