"""Models (global admins): the language models flows use, connect and edit, test, remove.

The API key is write-only, as connection secrets are: the list says „gespeichert“, the
form never shows the key; editing offers keep, replace or remove. The default model from
`DIRIGENT_LLM_URL` is listed and testable, not editable here."""

from __future__ import annotations

import reflex as rx

from studio.components.confirm import confirm_dialog
from studio.components.dialog_footer import dialog_footer
from studio.components.layout import empty_state, page_frame, page_title, tested_callout
from studio.state.base import t
from studio.state.models import ModelsState as State


def _problem(field: str) -> rx.Component:
    return rx.cond(
        State.field_errors.contains(field),
        rx.text(State.field_errors[field], size="1", color=rx.color("red", 11), class_name="field-error"),
    )


def _labelled(label_key: str, control: rx.Component, field: str, hint_key: str = "") -> rx.Component:
    return rx.vstack(
        rx.text(t(label_key), size="2", weight="medium"),
        control,
        rx.text(t(hint_key), size="1", color=rx.color("gray", 10)) if hint_key else rx.fragment(),
        _problem(field),
        spacing="1",
        width="100%",
        custom_attrs={"data-field": field},
    )


def _key_input() -> rx.Component:
    return rx.input(
        type="password",
        name="api_key",
        id="model-api-key",
        auto_complete="new-password",
        placeholder="sk-…",
        width="100%",
    )


def _key_field() -> rx.Component:
    """New or without a stored key: one optional field. With a stored key: keep it
    (default), replace it, or remove it."""
    choices = rx.radio_group.root(
        rx.vstack(
            *[
                rx.radio_group.item(t(f"model_key_{choice}"), value=choice, id=f"model-key-{choice}")
                for choice in ("keep", "replace", "remove")
            ],
            spacing="1",
        ),
        value=State.key_choice,
        on_change=State.set_key_choice,
        id="model-key-choice",
    )
    return rx.vstack(
        rx.hstack(
            rx.icon("key-round", size=14),
            rx.text(t("model_api_key"), size="2", weight="medium"),
            rx.cond(
                State.has_key,
                rx.badge(t("model_key_stored"), color_scheme="green", class_name="model-key-stored"),
            ),
            align="center",
        ),
        rx.text(t("model_api_key_hint"), size="1", color=rx.color("gray", 10)),
        rx.cond(
            State.has_key,
            rx.vstack(
                choices, rx.cond(State.key_choice == "replace", _key_input()), spacing="2", width="100%"
            ),
            _key_input(),
        ),
        _problem("api_key"),
        spacing="1",
        width="100%",
    )


def _dialog() -> rx.Component:
    editing = State.editing != ""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(editing, t("model_edit_title"), t("model_new_title"))),
            rx.form(
                rx.vstack(
                    _labelled(
                        "model_name",
                        rx.input(
                            name="name",
                            default_value=State.defaults["name"],
                            read_only=editing,
                            id="model-name",
                            placeholder="default",
                            width="100%",
                        ),
                        "name",
                        "model_name_hint",
                    ),
                    _labelled(
                        "model_base_url",
                        rx.input(
                            name="base_url",
                            default_value=State.defaults["base_url"],
                            id="model-base-url",
                            placeholder="http://tgi:80",
                            width="100%",
                        ),
                        "base_url",
                        "model_base_url_hint",
                    ),
                    _labelled(
                        "model_id",
                        rx.input(
                            name="model",
                            default_value=State.defaults["model"],
                            id="model-id",
                            placeholder="tgi",
                            width="100%",
                        ),
                        "model",
                        "model_id_hint",
                    ),
                    rx.separator(size="4"),
                    _key_field(),
                    dialog_footer(rx.button(t("save"), type="submit", loading=State.saving, id="model-save")),
                    spacing="3",
                    width="100%",
                ),
                on_submit=State.save,
                key=State.editing + ":" + State.form_key.to_string(),
            ),
            id="model-dialog",
            max_width="560px",
        ),
        open=State.dialog_open,
        on_open_change=State.set_dialog_open,
    )


def _endpoint(row: rx.Var) -> rx.Component:
    name = row["name"]
    own = row["source"] == "admin"
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("cpu", size=18, color=rx.color("accent", 10)),
                rx.text(name, weight="bold", size="3"),
                rx.badge(row["model"], variant="soft", class_name="model-id"),
                rx.text(
                    row["base_url"],
                    size="2",
                    color=rx.color("gray", 11),
                    class_name="model-url",
                    white_space="nowrap",
                    overflow="hidden",
                    text_overflow="ellipsis",
                    flex="1",
                    min_width="0",
                    title=row["base_url"],
                ),
                rx.button(
                    rx.icon("activity", size=14),
                    t("model_test"),
                    size="1",
                    variant="soft",
                    loading=State.testing == name,
                    on_click=State.test(name),
                    class_name="model-test",
                ),
                rx.cond(
                    own,
                    rx.fragment(
                        rx.button(
                            rx.icon("pencil", size=14),
                            t("edit"),
                            size="1",
                            variant="outline",
                            on_click=State.open_edit(name),
                            class_name="model-edit",
                        ),
                        rx.icon_button(
                            rx.icon("trash-2", size=14),
                            size="1",
                            variant="ghost",
                            color_scheme="red",
                            title=t("delete"),
                            on_click=State.ask_delete(name),
                            class_name="model-delete",
                        ),
                    ),
                ),
                align="center",
                width="100%",
            ),
            rx.hstack(
                rx.cond(
                    row["has_key"] == "true",
                    rx.badge(
                        rx.icon("key-round", size=12),
                        t("model_key_stored"),
                        size="1",
                        variant="outline",
                        color_scheme="green",
                        class_name="model-has-key",
                    ),
                    rx.badge(t("model_key_none"), size="1", variant="outline", color_scheme="gray"),
                ),
                rx.cond(
                    own,
                    rx.fragment(),
                    rx.badge(
                        t("model_source_environment"),
                        size="1",
                        color_scheme="blue",
                        title=t("model_environment_hint"),
                        class_name="model-from-environment",
                    ),
                ),
                rx.text(t("model_last_test"), ":", size="1", color=rx.color("gray", 10)),
                rx.text(
                    row["last_test"],
                    " ",
                    row["last_test_at"],
                    size="1",
                    color=rx.match(
                        row["last_test_state"],
                        ("ok", rx.color("green", 11)),
                        ("failed", rx.color("red", 11)),
                        rx.color("gray", 10),
                    ),
                    class_name="model-last-test",
                ),
                rx.spacer(),
                rx.text(row["created_by"], size="1", color=rx.color("gray", 10)),
                align="center",
                width="100%",
                wrap="wrap",
            ),
            rx.cond(
                State.test_text.contains(name),
                rx.cond(
                    State.test_ok[name],
                    tested_callout(State.test_text[name], ok=True, class_name="model-test-result"),
                    tested_callout(State.test_text[name], ok=False, class_name="model-test-result"),
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="model-card",
        custom_attrs={"data-name": name},
        key=name,
    )


def models_page() -> rx.Component:
    new_button = rx.button(rx.icon("plus", size=16), t("model_new"), on_click=State.open_new, id="new-model")
    return page_frame(
        page_title("models_title", "models_subtitle", rx.cond(State.is_global_admin, new_button)),
        rx.cond(
            ~State.is_global_admin,
            empty_state("lock", "models_admins_only"),
            rx.cond(
                State.endpoints.length() == 0,
                rx.cond(
                    State.loading,
                    rx.center(rx.spinner(size="3"), padding="40px"),
                    empty_state("cpu", "models_empty", "models_empty_hint", new_button),
                ),
                rx.vstack(
                    rx.foreach(State.endpoints, _endpoint), spacing="3", width="100%", max_width="1000px"
                ),
            ),
        ),
        _dialog(),
        confirm_dialog(
            open_=State.confirm_name != "",
            on_open_change=State.set_confirm_open,
            title=t("model_delete_title"),
            body=("„", State.confirm_name, "“: ", t("model_delete_body")),
            on_confirm=State.confirm_delete,
            busy=State.deleting,
        ),
    )
