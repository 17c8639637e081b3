"""Sign-in: username and password against the runtime; the token goes into a cookie."""

from __future__ import annotations

import reflex as rx

from studio.components.layout import language_switch
from studio.state.base import t
from studio.state.login import LoginState


def login_page() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.hstack(rx.spacer(), language_switch(), width="100%"),
            rx.hstack(
                rx.icon("audio-waveform", size=32, color=rx.color("accent", 10)),
                rx.heading("Dirigent", size="8"),
                align="center",
                spacing="2",
            ),
            rx.text(t("tagline"), color=rx.color("gray", 11)),
            rx.card(
                rx.form(
                    rx.vstack(
                        rx.heading(t("sign_in_title"), size="4"),
                        rx.text(t("username"), size="2", weight="medium"),
                        rx.input(
                            name="username",
                            id="login-username",
                            auto_focus=True,
                            size="3",
                            width="100%",
                            auto_complete="username",
                        ),
                        rx.text(t("password"), size="2", weight="medium"),
                        rx.input(
                            name="password",
                            id="login-password",
                            type="password",
                            size="3",
                            width="100%",
                            auto_complete="current-password",
                        ),
                        rx.cond(
                            LoginState.error != "",
                            rx.callout(
                                LoginState.error,
                                icon="triangle-alert",
                                color_scheme="red",
                                size="1",
                                width="100%",
                                id="login-error",
                            ),
                        ),
                        rx.button(
                            rx.cond(LoginState.busy, t("signing_in"), t("sign_in")),
                            type="submit",
                            size="3",
                            width="100%",
                            loading=LoginState.busy,
                            id="login-submit",
                        ),
                        spacing="3",
                        width="100%",
                    ),
                    on_submit=LoginState.submit,
                    reset_on_submit=False,
                    width="100%",
                ),
                width="100%",
                size="3",
            ),
            rx.text(t("sign_in_hint"), size="1", color=rx.color("gray", 10), text_align="center"),
            spacing="4",
            align="center",
            width="380px",
        ),
        height="100vh",
        background=rx.color("gray", 2),
    )
