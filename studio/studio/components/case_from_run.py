"""The dialog "Als Testfall übernehmen" of the runs viewer (state: `state.case_from_run`)."""

from __future__ import annotations

import reflex as rx

from studio.components.dialog_footer import dialog_footer
from studio.components.safe_markdown import safe_markdown
from studio.state.base import t
from studio.state.case_from_run import CaseFromRunState as S

HINT = {"size": "1", "color": rx.color("gray", 11)}


def _field(label_key: str, control: rx.Component, hint: rx.Component | None = None) -> rx.Component:
    return rx.vstack(
        rx.text(t(label_key), size="2", weight="medium"),
        control,
        hint or rx.fragment(),
        spacing="1",
        width="100%",
    )


def _from_the_run() -> rx.Component:
    """What the case takes from the run as it is: inputs, fixed connectors, decisions."""
    return rx.vstack(
        rx.text(t("case_inputs_from_run"), size="2", weight="medium"),
        rx.box(
            safe_markdown(S.case_inputs, class_name="case-run-inputs"),
            padding="6px 10px",
            border_radius="6px",
            background=rx.color("gray", 2),
            width="100%",
            font_size="13px",
        ),
        rx.cond(
            S.case_fixed != "",
            rx.text(S.case_fixed, **HINT, id="case-fixed"),
        ),
        rx.cond(
            S.case_decisions != "",
            rx.text(S.case_decisions, **HINT, id="case-decisions"),
        ),
        spacing="1",
        width="100%",
    )


def _form() -> rx.Component:
    check = rx.radio_group.root(
        rx.vstack(
            rx.radio_group.item(t("case_check_equals"), value="equals", id="case-check-equals"),
            rx.radio_group.item(t("case_check_contains"), value="contains", id="case-check-contains"),
            spacing="1",
        ),
        value=S.case_check,
        on_change=S.set_case_check,
        size="2",
    )
    output = rx.select.root(
        rx.select.trigger(id="case-output", width="100%"),
        rx.select.content(
            rx.foreach(S.case_outputs, lambda name: rx.select.item(name, value=name, key=name))
        ),
        name="output",
        default_value=S.case_output,
    )
    expected_hint = rx.cond(
        S.case_check == "contains",
        rx.text(t("case_contains_hint"), **HINT),
        rx.text(
            rx.cond(
                S.case_from_correction, t("case_expected_from_correction"), t("case_expected_from_output")
            ),
            **HINT,
        ),
    )
    return rx.form(
        rx.vstack(
            rx.text(t("make_case_intro"), size="2"),
            _field(
                "case_name_label",
                rx.input(name="name", default_value=S.case_name, id="run-case-name", width="100%"),
            ),
            _from_the_run(),
            rx.cond(S.case_outputs.length() > 1, _field("case_output_label", output)),
            _field("case_check_label", check),
            _field(
                "case_expected_label",
                rx.text_area(
                    name="expected",
                    default_value=S.case_expected,
                    rows="5",
                    width="100%",
                    id="run-case-expected",
                ),
                expected_hint,
            ),
            rx.cond(
                S.case_llm != "",
                rx.callout(
                    S.case_llm,
                    icon="triangle-alert",
                    color_scheme="amber",
                    size="1",
                    id="case-llm-warning",
                ),
            ),
            rx.cond(
                S.case_error != "",
                rx.callout(
                    S.case_error, icon="circle-alert", color_scheme="red", size="1", id="run-case-error"
                ),
            ),
            dialog_footer(
                rx.button(
                    rx.icon("flask-conical", size=14),
                    t("case_create"),
                    type="submit",
                    loading=S.case_busy,
                    id="run-case-create",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=S.create_case,
        key=S.case_key,
        width="100%",
    )


def _created() -> rx.Component:
    return rx.vstack(
        rx.callout(
            S.case_created_text,
            icon="circle-check",
            color_scheme="green",
            id="run-case-created",
        ),
        rx.cond(
            S.case_llm != "",
            rx.callout(
                S.case_llm,
                icon="triangle-alert",
                color_scheme="amber",
                size="1",
            ),
        ),
        dialog_footer(
            rx.button(
                rx.icon("list-checks", size=14),
                t("case_open_editor"),
                on_click=S.open_editor_cases,
                id="run-case-open-editor",
            ),
            cancel_key="close",
        ),
        spacing="3",
        width="100%",
    )


def case_from_run_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(t("make_case_title")),
            rx.cond(
                S.case_loading,
                rx.center(rx.spinner(size="3"), padding="32px"),
                rx.cond(S.case_created != "", _created(), _form()),
            ),
            max_width="640px",
            id="run-case-dialog",
        ),
        open=S.case_open,
        on_open_change=S.set_case_open,
    )
