"""Connections (admins): the workspace's connections, a form per kind, test, delete.

Secrets are write-only: the page shows that one is set ("gesetzt"), never its value; the
password fields start empty and an empty one keeps what is stored."""

from __future__ import annotations

import reflex as rx

from studio.components.confirm import confirm_dialog
from studio.components.dialog_footer import dialog_footer
from studio.components.layout import empty_state, page_frame, page_title, tested_callout
from studio.components.notify_settings import notify_settings_card
from studio.connection_forms import (
    AUTH_TYPES,
    FIELDS,
    KINDS,
    ON_UNCERTAIN,
    SECRET,
    SECRETS,
    SETTING,
    TEST_SECRET,
    TEST_SETTING,
    Field,
)
from studio.state.base import t
from studio.state.connections import ConnectionsState as State


def _problem(path: str) -> rx.Component:
    return rx.cond(
        State.field_errors.contains(path),
        rx.text(State.field_errors[path], size="1", color=rx.color("red", 11), class_name="field-error"),
    )


def _labelled(label_key: str, control: rx.Component, path: str) -> rx.Component:
    return rx.vstack(
        rx.text(t(label_key), size="2", weight="medium"),
        control,
        _problem(path),
        spacing="1",
        width="100%",
        class_name="conn-field",
        custom_attrs={"data-field": path},
    )


def _field(field: Field, prefix: str = SETTING) -> rx.Component:
    """A setting of production (`s:`) or of the test target (`t:`, all auth fields shown)."""
    test = prefix == TEST_SETTING
    defaults = State.test_defaults if test else State.defaults
    name, default = f"{prefix}{field.path}", defaults[field.path]
    field_id = ("conn-test-" if test else "conn-") + field.path.replace(".", "-").replace("_", "-")
    if field.path == "auth.type" and test:
        control = rx.select.root(
            rx.select.trigger(id=field_id, width="100%"),
            rx.select.content(*[rx.select.item(t(f"auth_{kind}"), value=kind) for kind in AUTH_TYPES]),
            name=name,
            default_value=default,
        )
    elif field.path == "on_uncertain":
        control = rx.select.root(
            rx.select.trigger(id=field_id, width="100%"),
            rx.select.content(
                *[rx.select.item(t(f"conn_on_uncertain_{choice}"), value=choice) for choice in ON_UNCERTAIN]
            ),
            name=name,
            default_value=default,
        )
    elif field.path == "auth.type":
        control = rx.select.root(
            rx.select.trigger(id=field_id, width="100%"),
            rx.select.content(*[rx.select.item(t(f"auth_{kind}"), value=kind) for kind in AUTH_TYPES]),
            name=name,
            value=State.auth_type,
            on_change=State.set_auth_type,
        )
    elif field.widget == "select":
        control = rx.select(list(field.options), name=name, default_value=default, id=field_id, width="100%")
    elif field.widget == "switch":
        control = rx.hstack(
            rx.checkbox(name=name, default_checked=default == "on", id=field_id),
            rx.text(t(f"{field.label}_hint"), size="1", color=rx.color("gray", 10)),
            align="center",
        )
    else:
        control = rx.input(
            name=name,
            default_value=default,
            placeholder=field.placeholder,
            id=field_id,
            width="100%",
            type="number" if field.widget == "number" else "text",
            step="any" if field.widget == "number" else None,
        )
    shown = _labelled(field.label, control, f"{prefix}{field.path}" if test else field.path)
    return rx.cond(State.auth_type == field.auth, shown) if field.auth and not test else shown


def _secret(name: str, auth: str, prefix: str = SECRET) -> rx.Component:
    test = prefix == TEST_SECRET
    is_set = (State.test_set_secrets if test else State.set_secrets).contains(name)
    field = rx.vstack(
        rx.hstack(
            rx.icon("key-round", size=14),
            rx.text(t(f"secret_{name}"), size="2", weight="medium"),
            rx.cond(is_set, rx.badge(t("secret_set"), color_scheme="green", class_name="secret-set")),
            align="center",
        ),
        rx.input(
            type="password",
            name=f"{prefix}{name}",
            id=f"conn-{'test-' if test else ''}secret-{name.replace('_', '-')}",
            auto_complete="new-password",
            placeholder=rx.cond(is_set, t("secret_keep"), t("secret_new")),
            width="100%",
        ),
        spacing="1",
        width="100%",
        class_name="conn-secret",
        custom_attrs={"data-secret": name},
    )
    return rx.cond(State.auth_type == auth, field) if auth and not test else field


def _test_target(kind: str) -> rx.Component:
    """Where the editor's test runs go instead of production: same kind, own secrets."""
    return rx.vstack(
        rx.separator(size="4"),
        rx.hstack(
            rx.icon("flask-conical", size=16),
            rx.text(t("conn_test_target_title"), size="2", weight="bold"),
            align="center",
        ),
        rx.text(t("conn_test_target_hint"), size="1", color=rx.color("gray", 10)),
        rx.hstack(
            rx.checkbox(checked=State.test_on, on_change=State.set_test_on, class_name="conn-test-target-on"),
            rx.text(t("conn_test_target_on"), size="2"),
            align="center",
        ),
        rx.cond(
            State.test_on,
            rx.vstack(
                rx.grid(
                    *[_field(field, TEST_SETTING) for field in FIELDS[kind] if field.path != "on_uncertain"],
                    columns="2",
                    spacing="3",
                    width="100%",
                ),
                *[_secret(name, "", TEST_SECRET) for name, _ in SECRETS[kind]],
                spacing="3",
                width="100%",
                class_name="conn-test-target",
            ),
        ),
        spacing="2",
        width="100%",
    )


def _kind_fields(kind: str) -> rx.Component:
    return rx.vstack(
        rx.grid(*[_field(field) for field in FIELDS[kind]], columns="2", spacing="3", width="100%"),
        rx.separator(size="4"),
        rx.text(t("secrets_title"), size="2", weight="bold"),
        rx.text(t("secrets_hint"), size="1", color=rx.color("gray", 10)),
        *[_secret(name, auth) for name, auth in SECRETS[kind]],
        _test_target(kind),
        spacing="3",
        width="100%",
    )


def _dialog() -> rx.Component:
    kind_select = rx.select.root(
        rx.select.trigger(id="conn-kind", width="100%"),
        rx.select.content(*[rx.select.item(t(f"kind_{kind}"), value=kind) for kind in KINDS]),
        value=State.form_kind,
        on_change=State.set_form_kind,
        disabled=State.editing_id != "",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(State.editing_id != "", t("conn_edit_title"), t("conn_new_title"))),
            rx.form(
                rx.vstack(
                    rx.grid(
                        _labelled(
                            "conn_name",
                            rx.input(
                                name="name",
                                default_value=State.editing_name,
                                id="conn-name",
                                placeholder="crm",
                            ),
                            "name",
                        ),
                        _labelled("conn_kind", kind_select, "kind"),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    rx.text(t("conn_name_hint"), size="1", color=rx.color("gray", 10)),
                    rx.match(State.form_kind, *[(kind, _kind_fields(kind)) for kind in KINDS], rx.fragment()),
                    _problem("_form"),
                    dialog_footer(rx.button(t("save"), type="submit", loading=State.saving, id="conn-save")),
                    spacing="3",
                    width="100%",
                ),
                on_submit=State.save,
                key=State.editing_id + ":" + State.form_key.to_string(),
            ),
            id="conn-dialog",
            max_width="640px",
        ),
        open=State.dialog_open,
        on_open_change=State.set_dialog_open,
    )


def _connection(row: rx.Var) -> rx.Component:
    connection_id = row["id"]
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("plug", size=18, color=rx.color("accent", 10)),
                rx.text(row["name"], weight="bold", size="3"),
                rx.badge(rx.match(row["kind"], *[(kind, t(f"kind_{kind}")) for kind in KINDS], row["kind"])),
                rx.text(
                    row["target"],
                    size="2",
                    color=rx.color("gray", 11),
                    class_name="conn-target",
                    white_space="nowrap",
                    overflow="hidden",
                    text_overflow="ellipsis",
                    flex="1",
                    min_width="0",
                    title=row["target"],
                ),
                rx.button(
                    rx.icon("activity", size=14),
                    t("conn_test"),
                    size="1",
                    variant="soft",
                    loading=State.testing == connection_id,
                    on_click=State.test(connection_id),
                    class_name="conn-test",
                ),
                rx.cond(
                    row["test_target"] == "true",
                    rx.button(
                        rx.icon("flask-conical", size=14),
                        t("conn_test_target_test"),
                        size="1",
                        variant="soft",
                        color_scheme="gray",
                        on_click=State.test_sandbox(connection_id),
                        class_name="conn-test-target-test",
                    ),
                ),
                rx.button(
                    rx.icon("pencil", size=14),
                    t("edit"),
                    size="1",
                    variant="outline",
                    on_click=State.open_edit(connection_id),
                    class_name="conn-edit",
                ),
                rx.icon_button(
                    rx.icon("trash-2", size=14),
                    size="1",
                    variant="ghost",
                    color_scheme="red",
                    title=t("delete"),
                    on_click=State.ask_delete(connection_id, row["name"]),
                    class_name="conn-delete",
                ),
                align="center",
                width="100%",
            ),
            rx.hstack(
                rx.text(t("secrets_title"), ":", size="1", color=rx.color("gray", 10)),
                rx.cond(
                    row["secrets"] != "",
                    rx.foreach(
                        row["secrets"].split(", "),
                        lambda name: rx.badge(
                            name, ": ", t("secret_set"), size="1", variant="outline", color_scheme="green"
                        ),
                    ),
                    rx.text(t("none"), size="1", color=rx.color("gray", 10)),
                ),
                rx.cond(
                    row["test_target"] == "true",
                    rx.badge(
                        t("conn_test_target_badge"), size="1", color_scheme="blue", class_name="conn-has-test"
                    ),
                    rx.badge(t("conn_test_target_none"), size="1", color_scheme="gray", variant="outline"),
                ),
                rx.spacer(),
                rx.text(t("col_updated"), " ", row["updated"], size="1", color=rx.color("gray", 10)),
                align="center",
                width="100%",
                wrap="wrap",
            ),
            rx.cond(
                State.test_text.contains(connection_id),
                rx.cond(
                    State.test_ok[connection_id],
                    tested_callout(State.test_text[connection_id], ok=True, class_name="conn-test-result"),
                    tested_callout(State.test_text[connection_id], ok=False, class_name="conn-test-result"),
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="conn-card",
        custom_attrs={"data-name": row["name"]},
        key=connection_id,
    )


def connections_page() -> rx.Component:
    new_button = rx.button(
        rx.icon("plus", size=16), t("conn_new"), on_click=State.open_new, id="new-connection"
    )
    return page_frame(
        page_title("connections_title", "connections_subtitle", rx.cond(State.is_admin, new_button)),
        notify_settings_card(),
        rx.cond(
            ~State.is_admin,
            empty_state("lock", "connections_admins_only"),
            rx.cond(
                State.connections.length() == 0,
                rx.cond(
                    State.loading,
                    rx.center(rx.spinner(size="3"), padding="40px"),
                    empty_state("plug", "connections_empty", "connections_empty_hint", new_button),
                ),
                rx.vstack(
                    rx.foreach(State.connections, _connection), spacing="3", width="100%", max_width="1000px"
                ),
            ),
        ),
        _dialog(),
        confirm_dialog(
            open_=State.confirm_id != "",
            on_open_change=State.set_confirm_open,
            title=t("conn_delete_title"),
            body=("„", State.confirm_name, "“: ", t("conn_delete_body")),
            on_confirm=State.confirm_delete,
            busy=State.deleting,
        ),
    )
