"""The selected node's form, generated from its type's config JSON schema (`flowdoc.form_fields`).

Fields send their value when they lose focus (not per keystroke); selecting another
node re-mounts the inputs through their `key`.
"""

from __future__ import annotations

import reflex as rx

from studio.components.agent_tools_editor import agent_tools_editor
from studio.state.base import t
from studio.state.editor import EditorState

MONO = "ui-monospace, SFMono-Regular, Menlo, monospace"


def _key(field: rx.Var) -> rx.Var:
    return EditorState.flow_id + ":" + EditorState.selected_node + ":" + field["name"]


def _variables() -> rx.Component:
    return rx.cond(
        EditorState.selected_variables.length() > 0,
        rx.vstack(
            rx.text(t("variables"), size="1", color=rx.color("gray", 10)),
            rx.flex(
                rx.foreach(
                    EditorState.selected_variables,
                    lambda name: rx.badge(
                        name,
                        variant="surface",
                        cursor="pointer",
                        font_family=MONO,
                        on_click=EditorState.copy_text(name),
                    ),
                ),
                wrap="wrap",
                gap="4px",
            ),
            spacing="1",
            width="100%",
        ),
    )


def _control(field: rx.Var) -> rx.Component:
    name = field["name"]
    common = {
        "key": _key(field),
        "width": "100%",
        "read_only": EditorState.read_only,
        "id": "field-" + name,
        "placeholder": field["placeholder"],
    }
    return rx.match(
        field["kind"],
        (
            "template",
            rx.vstack(
                rx.text_area(
                    default_value=field["value"],
                    rows="5",
                    font_family=MONO,
                    resize="vertical",
                    on_blur=lambda value: EditorState.set_config_field(name, "template", value),
                    **common,
                ),
                _variables(),
                width="100%",
                spacing="2",
            ),
        ),
        (
            "boolean",
            rx.switch(
                checked=field["value"] == "true",
                key=_key(field),
                id="field-" + name,
                disabled=EditorState.read_only,
                on_change=lambda value: EditorState.set_config_field(name, "boolean", value),
            ),
        ),
        (
            "select",
            rx.select(
                EditorState.selected_choices[name],
                value=field["value"],
                key=_key(field),
                disabled=EditorState.read_only,
                width="100%",
                on_change=lambda value: EditorState.set_config_field(name, "select", value),
            ),
        ),
        (
            "integer",
            rx.input(
                default_value=field["value"],
                type="number",
                step="1",
                on_blur=lambda value: EditorState.set_config_field(name, "integer", value),
                **common,
            ),
        ),
        (
            "number",
            rx.input(
                default_value=field["value"],
                type="number",
                step="any",
                on_blur=lambda value: EditorState.set_config_field(name, "number", value),
                **common,
            ),
        ),
        (
            "list",
            rx.text_area(
                default_value=field["value"],
                rows="3",
                on_blur=lambda value: EditorState.set_config_field(name, "list", value),
                **common,
            ),
        ),
        (
            "json",
            rx.text_area(
                default_value=field["value"],
                rows="4",
                font_family=MONO,
                on_blur=lambda value: EditorState.set_config_field(name, "json", value),
                **common,
            ),
        ),
        rx.input(
            default_value=field["value"],
            on_blur=lambda value: EditorState.set_config_field(name, "text", value),
            **common,
        ),
    )


def _field(field: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(field["title"], size="2", weight="medium"),
            rx.cond(field["required"] == "true", rx.text("*", color=rx.color("red", 10))),
            spacing="1",
        ),
        rx.cond(
            EditorState.selected_is_agent & (field["name"] == "tools"),
            agent_tools_editor(),
            _control(field),
        ),
        rx.cond(
            field["description"] != "", rx.text(field["description"], size="1", color=rx.color("gray", 10))
        ),
        rx.cond(
            field["error"] != "",
            rx.text(field["error"], size="1", color=rx.color("red", 11), class_name="field-error"),
        ),
        spacing="1",
        width="100%",
        class_name="config-field",
        custom_attrs={"data-field": field["name"]},
    )


def _edge_form() -> rx.Component:
    return rx.vstack(
        rx.heading(EditorState.selected_edge, size="3", font_family=MONO),
        rx.cond(
            EditorState.selected_edge_branches.length() > 0,
            rx.vstack(
                rx.text(t("edge_when"), size="2", weight="medium"),
                rx.select(
                    EditorState.selected_edge_branches,
                    value=EditorState.selected_edge_when,
                    on_change=EditorState.set_edge_when,
                    disabled=EditorState.read_only,
                    width="100%",
                    id="edge-when",
                ),
                width="100%",
            ),
        ),
        rx.cond(
            ~EditorState.read_only,
            rx.button(
                rx.icon("trash-2", size=14),
                t("delete"),
                color_scheme="red",
                variant="soft",
                on_click=EditorState.delete_selected,
                size="2",
            ),
        ),
        rx.text(t("delete_key_hint"), size="1", color=rx.color("gray", 10)),
        spacing="3",
        width="100%",
    )


def node_form() -> rx.Component:
    node = rx.vstack(
        rx.hstack(
            rx.badge(EditorState.selected_type_title, size="2"),
            rx.text(EditorState.selected_node, size="1", color=rx.color("gray", 10), font_family=MONO),
            rx.spacer(),
            rx.cond(
                ~EditorState.read_only,
                rx.icon_button(
                    rx.icon("trash-2", size=14),
                    color_scheme="red",
                    variant="soft",
                    size="1",
                    on_click=EditorState.delete_selected,
                    title=t("delete_node"),
                    id="delete-node",
                ),
            ),
            width="100%",
            align="center",
        ),
        rx.vstack(
            rx.text(t("node_title"), size="2", weight="medium"),
            rx.input(
                default_value=EditorState.selected_title,
                key=EditorState.flow_id + EditorState.selected_node,
                on_blur=EditorState.set_node_title,
                width="100%",
                read_only=EditorState.read_only,
                id="node-title",
                placeholder=EditorState.selected_node,
            ),
            spacing="1",
            width="100%",
        ),
        rx.cond(
            EditorState.selected_fields.length() > 0,
            rx.foreach(EditorState.selected_fields, _field),
            rx.text(t("node_no_config"), size="2", color=rx.color("gray", 10)),
        ),
        rx.text(t("delete_key_hint"), size="1", color=rx.color("gray", 10)),
        spacing="4",
        width="100%",
    )
    return rx.cond(
        EditorState.selected_node != "",
        node,
        rx.cond(
            EditorState.selected_edge != "",
            _edge_form(),
            rx.center(
                rx.text(t("select_node_hint"), size="2", color=rx.color("gray", 10), text_align="center"),
                padding="32px",
            ),
        ),
    )
