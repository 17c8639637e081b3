"""The account page (the user menu's "Konto"): who one is, and a new password."""

from __future__ import annotations

import reflex as rx

from studio.components.layout import page_frame, page_title
from studio.state.account import AccountState
from studio.state.base import AppState, t


def _password_field(name: str, label_key: str, error_key: str, autocomplete: str) -> rx.Component:
    error = AccountState.field_errors.get(error_key, "")
    return rx.vstack(
        rx.text(t(label_key), size="2", weight="medium"),
        rx.input(
            name=name,
            type="password",
            id=f"account-{name.replace('_', '-')}",
            auto_complete=autocomplete,
            width="100%",
        ),
        rx.cond(
            error != "",
            rx.text(error, size="1", color=rx.color("red", 11), class_name="field-error", id=f"{name}-error"),
        ),
        spacing="1",
        width="100%",
    )


def _password_form() -> rx.Component:
    form_error = AccountState.field_errors.get("_form", "")
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(t("password_change_title"), size="4"),
                rx.text(t("password_change_hint"), size="2", color=rx.color("gray", 11)),
                _password_field("current_password", "password_current", "current", "current-password"),
                _password_field("new_password", "password_new", "new", "new-password"),
                _password_field("repeat_password", "password_repeat", "repeat", "new-password"),
                rx.cond(
                    form_error != "",
                    rx.callout(
                        form_error, icon="triangle-alert", color_scheme="red", id="password-form-error"
                    ),
                ),
                rx.hstack(
                    rx.button(
                        rx.icon("key-round", size=14),
                        t("password_change"),
                        type="submit",
                        loading=AccountState.saving,
                        id="password-save",
                    ),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=AccountState.change_password,
            reset_on_submit=False,
            key=AccountState.form_key.to_string(),
            id="password-form",
        ),
        width="100%",
        max_width="480px",
    )


def account_page() -> rx.Component:
    return page_frame(
        page_title("account_title"),
        rx.text(t("account_signed_in_as"), " ", rx.el.strong(AppState.username), size="2", id="account-user"),
        _password_form(),
    )
