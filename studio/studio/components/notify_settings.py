"""The admin's card on the connections page: which e-mail connection mails notifications,
and the studio's address for the links in them (global admins only)."""

from __future__ import annotations

import reflex as rx

from studio.state.base import t
from studio.state.inbox import NO_CONNECTION, NotifySettingsState


def _choice(item: rx.Var) -> rx.Component:
    return rx.select.item(item["name"], value=item["id"], key=item["id"])


def notify_settings_card() -> rx.Component:
    state = NotifySettingsState
    return rx.cond(
        state.is_platform_admin,
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("mail", size=18, color=rx.color("accent", 10)),
                    rx.heading(t("notify_title"), size="3"),
                    align="center",
                ),
                rx.text(t("notify_hint"), size="2", color=rx.color("gray", 11)),
                rx.hstack(
                    rx.vstack(
                        rx.text(t("notify_connection"), size="2", weight="medium"),
                        rx.select.root(
                            rx.select.trigger(id="notify-connection", min_width="220px"),
                            rx.select.content(
                                rx.select.item(t("notify_none"), value=NO_CONNECTION),
                                rx.foreach(state.choices, _choice),
                            ),
                            value=state.chosen,
                            on_change=state.set_chosen,
                        ),
                        spacing="1",
                    ),
                    rx.vstack(
                        rx.text(t("notify_studio_url"), size="2", weight="medium"),
                        rx.input(
                            value=state.studio_url,
                            on_change=state.set_studio_url,
                            placeholder="https://dirigent.firma.de",
                            id="notify-studio-url",
                            width="100%",
                        ),
                        rx.text(t("notify_studio_url_hint"), size="1", color=rx.color("gray", 10)),
                        spacing="1",
                        flex="1",
                    ),
                    rx.button(t("save"), on_click=state.save, loading=state.saving, id="notify-save"),
                    align="end",
                    spacing="3",
                    width="100%",
                ),
                rx.cond(
                    state.elsewhere != "", rx.text(state.elsewhere, size="1", color=rx.color("amber", 11))
                ),
                rx.text(state.counts, size="1", color=rx.color("gray", 10), id="notify-counts"),
                spacing="3",
                width="100%",
            ),
            width="100%",
            max_width="1000px",
            margin_bottom="16px",
            id="notify-settings",
        ),
    )
