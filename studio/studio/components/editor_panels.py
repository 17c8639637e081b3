"""The editor's side panels: palette, flow settings, documentation card, test panel."""

from __future__ import annotations

import reflex as rx

from studio.components.node_form import MONO
from studio.state.base import t
from studio.state.editor import EditorState

CATEGORY_COLOURS = {"flow": "gray", "ai": "violet", "logic": "cyan", "human": "amber", "connector": "green"}


def palette() -> rx.Component:
    def item(entry: rx.Var) -> rx.Component:
        return rx.box(
            rx.hstack(
                rx.box(
                    width="4px",
                    height="32px",
                    border_radius="2px",
                    background=rx.match(
                        entry["category"],
                        *[(name, rx.color(colour, 9)) for name, colour in CATEGORY_COLOURS.items()],
                        rx.color("gray", 9),
                    ),
                ),
                rx.vstack(
                    rx.text(entry["title"], size="2", weight="medium"),
                    rx.text(entry["description"], size="1", color=rx.color("gray", 10), line_clamp=2),
                    spacing="0",
                ),
                spacing="2",
                align="center",
            ),
            draggable=True,
            custom_attrs={"data-node-type": entry["type"]},
            id="palette-" + entry["type"],
            class_name="palette-item",
            padding="8px",
            border=f"1px solid {rx.color('gray', 6)}",
            border_radius="8px",
            background="white",
            cursor="grab",
            width="100%",
            _hover={"border_color": rx.color("accent", 8), "box_shadow": "0 1px 4px rgba(0,0,0,0.08)"},
        )

    return rx.vstack(
        rx.text(t("palette"), size="2", weight="bold"),
        rx.text(t("palette_hint"), size="1", color=rx.color("gray", 10)),
        rx.input(
            rx.input.slot(rx.icon("search", size=14)),
            value=EditorState.palette_query,
            on_change=EditorState.set_palette_query,
            placeholder=t("palette_search"),
            type="search",
            size="2",
            width="100%",
            id="palette-search",
        ),
        rx.foreach(EditorState.palette, item),
        rx.cond(
            EditorState.palette.length() == 0,
            rx.text(t("palette_nothing"), size="1", color=rx.color("gray", 10), id="palette-nothing"),
        ),
        spacing="2",
        width="220px",
        min_width="220px",
        padding="12px",
        height="100%",
        overflow_y="auto",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
    )


def _label(key: str) -> rx.Component:
    return rx.text(t(key), size="2", weight="medium")


def _flow_error(field: str) -> rx.Component:
    message = EditorState.flow_level_errors[field]
    return rx.cond(
        EditorState.flow_level_errors.contains(field),
        rx.text(message, size="1", color=rx.color("red", 11), class_name="field-error"),
    )


def _input_details(row: rx.Var) -> rx.Component:
    """Title, description, type, choices and default of one input: what end users see in
    the chat's form (`input_specs` turns the text into the spec)."""
    name = row["name"]

    def text_field(field: str, label: str, *, rows: str = "") -> rx.Component:
        props = {
            "default_value": row[field],
            "key": EditorState.flow_id + "in" + name + field,
            "on_blur": lambda value: EditorState.set_input_field(name, field, value),
            "read_only": EditorState.read_only,
            "size": "1",
            "width": "100%",
            "id": "input-" + field + "-" + name,
        }
        control = rx.text_area(rows=rows, **props) if rows else rx.input(**props)
        return rx.vstack(
            _label(label), control, _flow_error("inputs." + name + "." + field), spacing="1", width="100%"
        )

    return rx.popover.root(
        rx.popover.trigger(
            rx.icon_button(
                rx.icon("sliders-horizontal", size=12),
                size="1",
                variant="ghost",
                color_scheme="gray",
                title=t("input_details"),
                class_name="input-details",
                custom_attrs={"data-input": name},
            )
        ),
        rx.popover.content(
            rx.vstack(
                rx.text(t("input_details"), ": ", name, size="2", weight="bold"),
                text_field("title", "input_title"),
                text_field("description", "input_description", rows="2"),
                _label("input_type"),
                rx.select.root(
                    rx.select.trigger(width="100%", id="input-type-" + name),
                    rx.select.content(
                        *[
                            rx.select.item(t(f"input_type_{kind}"), value=kind)
                            for kind in ("string", "number", "integer", "boolean", "object", "array")
                        ]
                    ),
                    value=row["type"],
                    on_change=lambda kind: EditorState.set_input_field(name, "type", kind),
                    disabled=EditorState.read_only,
                    size="1",
                ),
                text_field("enum", "input_choices", rows="3"),
                text_field("default", "input_default"),
                spacing="2",
                width="300px",
            ),
        ),
    )


def flow_settings() -> rx.Component:
    def input_row(row: rx.Var) -> rx.Component:
        return rx.hstack(
            rx.input(
                default_value=row["name"],
                key=EditorState.flow_id + "in" + row["name"],
                font_family=MONO,
                on_blur=lambda value: EditorState.rename_input(row["name"], value),
                size="1",
                width="100%",
                read_only=EditorState.read_only,
            ),
            rx.tooltip(
                rx.switch(
                    checked=row["required"] == "true",
                    size="1",
                    disabled=EditorState.read_only,
                    on_change=lambda value: EditorState.set_input_required(row["name"], value),
                ),
                content=t("input_required"),
            ),
            _input_details(row),
            rx.cond(
                ~EditorState.read_only,
                rx.icon_button(
                    rx.icon("x", size=12),
                    size="1",
                    variant="ghost",
                    color_scheme="gray",
                    on_click=EditorState.remove_input(row["name"]),
                ),
            ),
            align="center",
            width="100%",
            key=EditorState.flow_id + "inrow" + row["name"],
        )

    def output_row(row: rx.Var) -> rx.Component:
        return rx.vstack(
            rx.hstack(
                rx.input(
                    default_value=row["name"],
                    key=EditorState.flow_id + "out" + row["name"],
                    size="1",
                    font_family=MONO,
                    width="100%",
                    read_only=EditorState.read_only,
                    on_blur=lambda value: EditorState.rename_output(row["name"], value),
                ),
                rx.cond(
                    ~EditorState.read_only,
                    rx.icon_button(
                        rx.icon("x", size=12),
                        size="1",
                        variant="ghost",
                        color_scheme="gray",
                        on_click=EditorState.remove_output(row["name"]),
                    ),
                ),
                width="100%",
                align="center",
            ),
            rx.input(
                default_value=row["value"],
                key=EditorState.flow_id + "outv" + row["name"],
                size="1",
                font_family=MONO,
                width="100%",
                read_only=EditorState.read_only,
                id="output-" + row["name"],
                on_blur=lambda value: EditorState.set_output(row["name"], value),
            ),
            _flow_error("outputs." + row["name"]),
            spacing="1",
            width="100%",
        )

    return rx.vstack(
        _label("flow_name"),
        rx.input(
            default_value=EditorState.doc["name"].to(str),
            key=EditorState.flow_id + "name",
            on_blur=lambda value: EditorState.set_doc_field("name", value),
            width="100%",
            read_only=EditorState.read_only,
        ),
        _label("flow_description"),
        rx.text_area(
            default_value=EditorState.doc["description"].to(str),
            key=EditorState.flow_id + "description",
            on_blur=lambda value: EditorState.set_doc_field("description", value),
            width="100%",
            rows="2",
            read_only=EditorState.read_only,
        ),
        rx.divider(),
        _label("flow_inputs"),
        rx.text(t("flow_inputs_hint"), size="1", color=rx.color("gray", 10)),
        rx.foreach(EditorState.input_rows, input_row),
        rx.cond(
            ~EditorState.read_only,
            rx.button(
                rx.icon("plus", size=12),
                t("add_input"),
                size="1",
                variant="soft",
                on_click=EditorState.add_input,
            ),
        ),
        rx.divider(),
        _label("flow_outputs"),
        rx.text(t("flow_outputs_hint"), size="1", color=rx.color("gray", 10)),
        rx.foreach(EditorState.output_rows, output_row),
        rx.cond(
            ~EditorState.read_only,
            rx.button(
                rx.icon("plus", size=12),
                t("add_output"),
                size="1",
                variant="soft",
                on_click=EditorState.add_output,
            ),
        ),
        rx.flex(
            rx.foreach(
                EditorState.output_variables,
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
        spacing="2",
        width="100%",
    )


def card_form() -> rx.Component:
    card = EditorState.card

    def area(name: str, label: str, rows: str = "3", hint: str | None = None) -> rx.Component:
        return rx.vstack(
            _label(label),
            rx.text_area(
                default_value=card[name],
                key=EditorState.flow_id + "card" + name,
                rows=rows,
                width="100%",
                read_only=EditorState.read_only,
                id="card-" + name,
                on_blur=lambda value: EditorState.set_card_field(name, value),
            ),
            rx.text(t(hint), size="1", color=rx.color("gray", 10)) if hint else rx.fragment(),
            _flow_error("card." + name),
            spacing="1",
            width="100%",
        )

    return rx.vstack(
        area("purpose", "card_purpose", "3", "card_purpose_hint"),
        area("data_sources", "card_data_sources", "3"),
        rx.vstack(
            _label("card_risk"),
            rx.select.root(
                rx.select.trigger(width="100%", id="card-risk"),
                rx.select.content(
                    rx.select.item(t("risk_minimal"), value="minimal"),
                    rx.select.item(t("risk_limited"), value="limited"),
                    rx.select.item(t("risk_high"), value="high"),
                ),
                value=card["risk"],
                disabled=EditorState.read_only,
                on_change=lambda value: EditorState.set_card_field("risk", value),
            ),
            spacing="1",
            width="100%",
        ),
        rx.vstack(
            _label("card_owner"),
            rx.input(
                default_value=card["owner"],
                key=EditorState.flow_id + "cardowner",
                width="100%",
                read_only=EditorState.read_only,
                id="card-owner",
                on_blur=lambda value: EditorState.set_card_field("owner", value),
            ),
            spacing="1",
            width="100%",
        ),
        area("thresholds", "card_thresholds", "2"),
        area("limitations", "card_limitations", "2"),
        spacing="3",
        width="100%",
    )


def _status_badge(status: rx.Var) -> rx.Component:
    return rx.match(
        status,
        ("succeeded", rx.badge(t("run_status_succeeded"), color_scheme="green")),
        ("failed", rx.badge(t("run_status_failed"), color_scheme="red")),
        ("waiting", rx.badge(t("run_status_waiting"), color_scheme="amber")),
        ("running", rx.badge(t("run_status_running"), color_scheme="blue")),
        ("skipped", rx.badge(t("run_status_skipped"), color_scheme="gray")),
        ("cancelled", rx.badge(t("run_status_cancelled"), color_scheme="gray")),
        ("expired", rx.badge(t("run_status_expired"), color_scheme="gray")),
        rx.badge(status),
    )


def _step_detail(step: rx.Var) -> rx.Component:
    def block(label: str, value: rx.Var) -> rx.Component:
        return rx.cond(
            value != "",
            rx.vstack(
                rx.text(label, size="1", weight="bold", color=rx.color("gray", 10)),
                rx.code_block(
                    value,
                    language="json",
                    width="100%",
                    font_size="11px",
                    custom_style={"maxHeight": "180px", "overflow": "auto", "margin": "0"},
                ),
                spacing="1",
                width="100%",
            ),
        )

    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(step["node"], weight="medium", size="2", font_family=MONO),
                _status_badge(step["status"]),
                rx.spacer(),
                rx.text(step["duration"], size="1", color=rx.color("gray", 10)),
                rx.cond(
                    step["tokens"] != "",
                    rx.text(step["tokens"], " ", t("tokens"), size="1", color=rx.color("gray", 10)),
                ),
                width="100%",
                align="center",
            ),
            rx.cond(step["error"] != "", rx.text(step["error"], size="1", color=rx.color("red", 11))),
            block("inputs", step["inputs"]),
            block("outputs", step["outputs"]),
            spacing="1",
            width="100%",
        ),
        width="100%",
        size="1",
        class_name="step-detail",
    )


def test_panel() -> rx.Component:
    def input_field(row: rx.Var) -> rx.Component:
        return rx.vstack(
            rx.hstack(
                rx.text(row["name"], size="2", weight="medium", font_family=MONO),
                rx.cond(row["required"] == "true", rx.text("*", color=rx.color("red", 10))),
                spacing="1",
            ),
            rx.text_area(
                default_value=row["value"],
                key=EditorState.flow_id + "test" + row["name"],
                rows="2",
                width="100%",
                id="test-input-" + row["name"],
                placeholder=row["description"],
                on_blur=lambda value: EditorState.set_test_input(row["name"], value),
            ),
            spacing="1",
            width="100%",
        )

    return rx.vstack(
        rx.text(t("test_inputs"), size="2", weight="bold"),
        rx.foreach(EditorState.input_rows, input_field),
        rx.hstack(
            rx.checkbox(
                checked=EditorState.allow_live_reads,
                on_change=EditorState.set_allow_live_reads,
                id="allow-live-reads",
            ),
            rx.vstack(
                rx.text(t("allow_live_reads"), size="2"),
                rx.text(t("allow_live_reads_hint"), size="1", color=rx.color("gray", 10)),
                spacing="0",
            ),
            align="center",
        ),
        rx.button(
            rx.icon("play", size=14),
            rx.cond(EditorState.running, t("running"), t("run_test")),
            on_click=EditorState.run_test,
            loading=EditorState.running,
            width="100%",
            id="run-test",
            color_scheme="green",
        ),
        rx.cond(~EditorState.read_only, rx.text(t("test_cuts_first"), size="1", color=rx.color("gray", 10))),
        rx.divider(),
        rx.cond(
            EditorState.run_status != "",
            rx.vstack(
                rx.hstack(
                    rx.text(t("test_result"), size="2", weight="bold"),
                    _status_badge(EditorState.run_status),
                    id="run-status",
                    custom_attrs={"data-status": EditorState.run_status},
                ),
                rx.cond(
                    EditorState.run_status == "waiting",
                    rx.callout(t("waiting_notice"), icon="hourglass", color_scheme="amber", size="1"),
                ),
                rx.cond(
                    EditorState.stream_text != "",
                    rx.box(
                        rx.text(EditorState.stream_text, size="2", white_space="pre-wrap"),
                        id="stream-text",
                        padding="8px",
                        border_radius="6px",
                        background=rx.color("violet", 2),
                        width="100%",
                    ),
                ),
                rx.cond(
                    EditorState.run_output != "",
                    rx.box(
                        rx.text(EditorState.run_output, size="2", white_space="pre-wrap"),
                        id="run-output",
                        padding="8px",
                        border_radius="6px",
                        background=rx.color("green", 2),
                        width="100%",
                    ),
                ),
                rx.cond(
                    EditorState.run_error != "",
                    rx.callout(
                        EditorState.run_error, icon="circle-x", color_scheme="red", size="1", id="run-error"
                    ),
                ),
                rx.cond(
                    EditorState.step_details.length() > 0, rx.text(t("test_steps"), size="2", weight="bold")
                ),
                rx.foreach(EditorState.step_details, _step_detail),
                spacing="2",
                width="100%",
            ),
            rx.text(t("no_test_yet"), size="2", color=rx.color("gray", 10)),
        ),
        spacing="3",
        width="100%",
    )
