"""The agent's tools in its form: a card per tool with its kind, name, description and the
kind's fields, and buttons to add a connection action or a knowledge search.

Each card and each of its inputs is keyed by the tool's stable id (`AgentTools.tool_ids`),
never by position; inputs send their value when they lose focus, as the rest of the form.
"""

from __future__ import annotations

import reflex as rx

from studio.agent_tools_form import APPROVE, METHODS, TOOL_KINDS
from studio.state.base import t
from studio.state.editor import EditorState as S

MONO = "ui-monospace, SFMono-Regular, Menlo, monospace"


def _label(key: str) -> rx.Component:
    return rx.text(t(key), size="1", weight="medium", color=rx.color("gray", 11))


def _input(card: rx.Var, field: str, **props: object) -> rx.Component:
    tool_id = card["key"]
    return rx.input(
        default_value=card[field],
        # The value in the key: a change underneath (an undo) draws the input anew.
        key=tool_id + ":" + field + ":" + card[field],
        on_blur=lambda value: S.set_tool_field(tool_id, field, value),
        read_only=S.read_only,
        width="100%",
        size="1",
        class_name=f"tool-{field}",
        id="tool-" + field + "-" + tool_id,
        **props,
    )


def _select(card: rx.Var, field: str, options: list[str] | rx.Var, labels: bool = False) -> rx.Component:
    tool_id = card["key"]
    items = (
        [
            rx.select.item(t(f"tool_{field}_{option}") if labels else option, value=option)
            for option in options
        ]
        if isinstance(options, list)
        else [rx.foreach(options, lambda option: rx.select.item(option, value=option))]
    )
    return rx.select.root(
        rx.select.trigger(width="100%", class_name=f"tool-{field}"),
        rx.select.content(*items),
        value=card[field],
        on_change=lambda value: S.set_tool_field(tool_id, field, value),
        disabled=S.read_only,
        size="1",
    )


def _named(card: rx.Var, field: str, offered: str) -> rx.Component:
    """A select of what the workspace has, or a text field when nothing could be listed."""
    return rx.cond(
        S.tool_choices[offered].length() > 0,  # type: ignore[attr-defined]
        _select(card, field, S.tool_choices[offered]),
        _input(card, field, font_family=MONO),
    )


def _connection_fields(card: rx.Var) -> rx.Component:
    tool_id = card["key"]
    return rx.vstack(
        _label("tool_connection"),
        _named(card, "connection", "tool_connection"),
        rx.hstack(
            rx.box(_label("tool_method"), _select(card, "method", list(METHODS)), width="110px"),
            rx.box(_label("tool_path"), _input(card, "path", font_family=MONO), flex="1"),
            width="100%",
            spacing="2",
        ),
        _label("tool_parameters"),
        rx.text_area(
            default_value=card["parameters"],
            key=tool_id + ":parameters:" + card["parameters"],
            on_blur=lambda value: S.set_tool_field(tool_id, "parameters", value),
            read_only=S.read_only,
            rows="4",
            font_family=MONO,
            width="100%",
            size="1",
            class_name="tool-parameters",
            id="tool-parameters-" + tool_id,
        ),
        _label("tool_approve"),
        _select(card, "approve", list(APPROVE), labels=True),
        spacing="1",
        width="100%",
    )


def _knowledge_fields(card: rx.Var) -> rx.Component:
    return rx.vstack(
        _label("tool_index"),
        _named(card, "index", "index"),
        _label("tool_top_k"),
        _input(card, "top_k", type="number", step="1", min="1", max="50"),
        spacing="1",
        width="100%",
    )


def _card(card: rx.Var) -> rx.Component:
    tool_id = card["key"]
    return rx.box(
        rx.vstack(
            rx.hstack(
                rx.box(_select(card, "kind", list(TOOL_KINDS), labels=True), width="150px"),
                rx.spacer(),
                rx.cond(
                    ~S.read_only,
                    rx.icon_button(
                        rx.icon("trash-2", size=12),
                        size="1",
                        variant="ghost",
                        color_scheme="red",
                        type="button",
                        title=t("tool_remove"),
                        on_click=S.remove_tool(tool_id),
                        class_name="tool-remove",
                    ),
                ),
                width="100%",
                align="center",
            ),
            _label("tool_name"),
            _input(card, "name", font_family=MONO),
            _label("tool_description"),
            rx.text_area(
                default_value=card["description"],
                key=tool_id + ":description:" + card["description"],
                on_blur=lambda value: S.set_tool_field(tool_id, "description", value),
                read_only=S.read_only,
                rows="2",
                width="100%",
                size="1",
                class_name="tool-description",
                id="tool-description-" + tool_id,
            ),
            rx.cond(card["kind"] == "connection", _connection_fields(card), _knowledge_fields(card)),
            rx.cond(
                card["errors"] != "",
                rx.text(
                    card["errors"],
                    size="1",
                    color=rx.color("red", 11),
                    white_space="pre-line",
                    class_name="tool-errors",
                ),
            ),
            spacing="1",
            width="100%",
        ),
        padding="8px",
        border=f"1px solid {rx.color('gray', 6)}",
        border_radius="8px",
        width="100%",
        class_name="tool-card",
        custom_attrs={"data-tool": tool_id},
        key=tool_id,
    )


def agent_tools_editor() -> rx.Component:
    return rx.vstack(
        rx.foreach(S.selected_tools, _card),
        rx.cond(
            ~S.read_only,
            rx.hstack(
                rx.button(
                    rx.icon("plus", size=12),
                    t("tool_add_connection"),
                    size="1",
                    variant="soft",
                    type="button",
                    on_click=S.add_tool("connection"),
                    id="tool-add-connection",
                ),
                rx.button(
                    rx.icon("plus", size=12),
                    t("tool_add_knowledge"),
                    size="1",
                    variant="soft",
                    type="button",
                    on_click=S.add_tool("knowledge"),
                    id="tool-add-knowledge",
                ),
                spacing="2",
                wrap="wrap",
            ),
        ),
        spacing="2",
        width="100%",
        class_name="agent-tools",
    )
