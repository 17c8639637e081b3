"""Inbox: one's notifications, newest first, in the language of the switch; each leads to
its page (the review of a submitted version, the versions of a decided one, the tasks)."""

from __future__ import annotations

import reflex as rx

from studio.components.layout import empty_state, page_frame, page_title
from studio.inbox_view import ICONS
from studio.state.base import AppState, t
from studio.state.inbox import InboxState


def _icon(kind: rx.Var) -> rx.Component:
    def icon(name: str) -> rx.Component:
        return rx.icon(name, size=18, color=rx.color("accent", 10))

    return rx.match(kind, *[(key, icon(name)) for key, name in ICONS.items()], icon("bell"))


def _item(item: rx.Var) -> rx.Component:
    unread = item["unread"] == "true"
    return rx.card(
        rx.hstack(
            _icon(item["kind"]),
            rx.vstack(
                rx.link(
                    rx.cond(AppState.lang == "en", item["text_en"], item["text_de"]),
                    on_click=InboxState.open_item(item["id"], item["href"]),
                    weight=rx.cond(unread, "bold", "regular"),
                    color=rx.color("gray", 12),
                    cursor="pointer",
                    class_name="inbox-link",
                    size="2",
                ),
                rx.text(item["created"], " UTC", size="1", color=rx.color("gray", 10)),
                spacing="1",
                flex="1",
                min_width="0",
            ),
            rx.cond(
                unread,
                rx.hstack(
                    rx.badge(t("inbox_unread"), color_scheme="red", variant="soft", size="1"),
                    rx.button(
                        rx.icon("check", size=14),
                        t("inbox_mark_read"),
                        size="1",
                        variant="ghost",
                        on_click=InboxState.mark_read(item["id"]),
                        class_name="inbox-mark-read",
                    ),
                    align="center",
                    spacing="2",
                ),
            ),
            align="center",
            spacing="3",
            width="100%",
        ),
        width="100%",
        key=item["id"],
        class_name="inbox-item",
        custom_attrs={"data-id": item["id"], "data-kind": item["kind"], "data-unread": item["unread"]},
        background=rx.cond(unread, rx.color("accent", 2), rx.color("gray", 1)),
    )


def inbox_page() -> rx.Component:
    mark_all = rx.button(
        rx.icon("check-check", size=16),
        t("inbox_mark_all"),
        variant="soft",
        on_click=InboxState.mark_all,
        disabled=InboxState.unread == 0,
        id="inbox-mark-all",
    )
    return page_frame(
        page_title("inbox_title", "inbox_subtitle", mark_all),
        rx.cond(
            InboxState.items.length() == 0,
            rx.cond(
                InboxState.loading,
                rx.center(rx.spinner(size="3"), padding="40px"),
                empty_state("inbox", "inbox_empty", "inbox_empty_hint"),
            ),
            rx.vstack(
                rx.foreach(InboxState.items, _item),
                rx.cond(
                    InboxState.next_cursor != "",
                    rx.button(
                        t("inbox_more"), variant="outline", on_click=InboxState.load_more, id="inbox-more"
                    ),
                ),
                spacing="2",
                width="100%",
                max_width="900px",
                id="inbox-list",
            ),
        ),
    )
