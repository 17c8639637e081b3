"""The editor's "Testfälle" tab: the version's cases in words, running them, the report,
and the dialog that adds or edits one case."""

from __future__ import annotations

import reflex as rx

from studio.components.dialog_footer import dialog_footer
from studio.components.node_form import MONO
from studio.components.report import render_report
from studio.state.base import t
from studio.state.testcases import CasesState
from studio.testcases import AGENT_SCRIPT_EXAMPLE

S = CasesState
HINT = {"size": "1", "color": rx.color("gray", 10)}


def _lines(label: str, items: rx.Var) -> rx.Component:
    return rx.cond(
        items.length() > 0,
        rx.vstack(
            rx.text(t(label), size="1", weight="bold", color=rx.color("gray", 10)),
            rx.foreach(items, lambda item: rx.text(item, size="1", word_break="break-word")),
            spacing="0",
            width="100%",
        ),
    )


def _case_card(case: rx.Var) -> rx.Component:
    actions = rx.cond(
        ~S.read_only,
        rx.hstack(
            rx.icon_button(
                rx.icon("pencil", size=12),
                size="1",
                variant="ghost",
                title=t("edit_case"),
                on_click=S.edit_case(case.index),
                class_name="case-edit",
            ),
            rx.icon_button(
                rx.icon("trash-2", size=12),
                size="1",
                variant="ghost",
                color_scheme="red",
                title=t("delete_case"),
                on_click=S.delete_case(case.index),
                class_name="case-delete",
            ),
            spacing="1",
        ),
    )
    return rx.box(
        rx.vstack(
            rx.hstack(
                rx.text(case.name, size="2", weight="bold"),
                rx.match(
                    case.result,
                    ("passed", rx.badge(t("case_passed"), color_scheme="green")),
                    ("failed", rx.badge(t("case_failed"), color_scheme="red")),
                    rx.fragment(),
                ),
                rx.spacer(),
                actions,
                width="100%",
                align="center",
            ),
            rx.cond(case.description != "", rx.text(case.description, **HINT)),
            _lines("case_inputs", case.inputs),
            _lines("case_fixed", case.fixed),
            _lines("case_decisions", case.decisions),
            _lines("case_expect", case.checks),
            spacing="2",
            width="100%",
        ),
        padding="10px",
        border=f"1px solid {rx.color('gray', 6)}",
        border_radius="8px",
        background="white",
        width="100%",
        class_name="case-card",
        custom_attrs={"data-name": case.name, "data-result": case.result},
        key=case.name,  # names are unique in a document; the card moves with its case
    )


def cases_panel() -> rx.Component:
    run = rx.vstack(
        rx.button(
            rx.icon("flask-conical", size=14),
            rx.cond(S.running_cases, t("running_cases"), t("run_cases")),
            on_click=S.run_cases,
            loading=S.running_cases,
            disabled=S.cases.length() == 0,
            color_scheme="green",
            width="100%",
            id="run-cases",
        ),
        rx.cond(
            S.has_llm,
            rx.vstack(
                rx.hstack(
                    rx.switch(checked=S.live, on_change=S.set_live, size="1", id="cases-live"),
                    rx.text(t("live_mode"), size="2"),
                    align="center",
                ),
                rx.text(t("live_hint"), **HINT),
                spacing="1",
            ),
        ),
        spacing="2",
        width="100%",
    )
    return rx.vstack(
        rx.text(t("cases_hint"), **HINT),
        rx.cond(
            S.cases.length() > 0,
            rx.vstack(rx.foreach(S.cases, _case_card), spacing="2", width="100%", id="case-list"),
            rx.callout(t("cases_empty"), icon="info", color_scheme="amber", size="1", id="cases-empty"),
        ),
        rx.cond(
            ~S.read_only,
            rx.button(
                rx.icon("plus", size=12),
                t("add_case"),
                size="1",
                variant="soft",
                on_click=S.new_case,
                id="add-case",
            ),
        ),
        rx.divider(),
        run,
        rx.text(t("report_title"), size="2", weight="bold"),
        render_report(S.report, rx.text(t("report_none"), **HINT)),
        case_dialog(),
        spacing="3",
        width="100%",
    )


# -- the form for one case ------------------------------------------------------------------------
def _section(label: str, hint: str | None = None) -> rx.Component:
    return rx.vstack(
        rx.text(t(label), size="2", weight="bold"),
        rx.text(t(hint), **HINT) if hint else rx.fragment(),
        spacing="0",
        padding_top="6px",
    )


def _key(name: rx.Var | str) -> rx.Var:
    return S.form_key.to_string() + name


def _input_field(row: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(row["name"], size="2", font_family=MONO, min_width="120px"),
        rx.input(
            name="input__" + row["name"],
            default_value=S.form_inputs[row["name"]],
            key=_key("in" + row["name"]),
            placeholder=row["description"],
            id="case-input-" + row["name"],
            width="100%",
        ),
        align="center",
        width="100%",
        key=_key("inrow" + row["name"]),
    )


def _fixed_field(item: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(item["id"], size="2", font_family=MONO),
            rx.text(item["type"], **HINT),
            spacing="0",
            min_width="120px",
        ),
        rx.text_area(
            name="fixed__" + item["id"],
            default_value=S.form_fixed[item["id"]],
            key=_key("fx" + item["id"]),
            placeholder=item["example"],
            rows="2",
            font_family=MONO,
            id="case-fixed-" + item["id"],
            width="100%",
        ),
        align="start",
        width="100%",
        key=_key("fxrow" + item["id"]),
    )


def _agent_field(node: rx.Var) -> rx.Component:
    """An agent's script in the case: its model's turns and its tools' results, as JSON."""
    return rx.hstack(
        rx.text(node, size="2", font_family=MONO, min_width="120px"),
        rx.text_area(
            name="agent__" + node,
            default_value=S.form_agents[node],
            key=_key("ag" + node),
            placeholder=AGENT_SCRIPT_EXAMPLE,
            rows="4",
            font_family=MONO,
            id="case-agent-" + node,
            width="100%",
        ),
        align="start",
        width="100%",
        key=_key("agrow" + node),
    )


def _decision_field(node: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(node, size="2", font_family=MONO, min_width="120px"),
        rx.select.root(
            rx.select.trigger(id="case-decision-" + node, min_width="150px"),
            rx.select.content(
                rx.select.item(t("decision_open"), value="-"),
                rx.select.item(t("decision_approve"), value="approve"),
                rx.select.item(t("decision_reject"), value="reject"),
            ),
            value=rx.cond(S.form_decisions[node], S.form_decisions[node], "-"),
            on_change=lambda value: S.set_decision(node, value),
        ),
        rx.input(
            name="comment__" + node,
            default_value=S.form_comments[node],
            key=_key("cm" + node),
            placeholder=t("decision_comment"),
            width="100%",
        ),
        align="center",
        width="100%",
        key=_key("cmrow" + node),
    )


def _check_row(row: rx.Var) -> rx.Component:
    key = row["key"]
    return rx.hstack(
        rx.select.root(
            rx.select.trigger(min_width="170px", class_name="check-kind"),
            rx.select.content(
                rx.foreach(
                    S.check_options, lambda option: rx.select.item(option["label"], value=option["value"])
                )
            ),
            value=row["check"],
            on_change=lambda value: S.set_check(key, "check", value),
        ),
        rx.cond(
            row["on"] != "run",
            rx.select.root(
                rx.select.trigger(
                    placeholder=t("check_target"), min_width="150px", class_name="check-target"
                ),
                rx.select.content(
                    rx.foreach(
                        S.form_targets, lambda option: rx.select.item(option["label"], value=option["value"])
                    )
                ),
                value=row["target"],
                on_change=lambda value: S.set_check(key, "target", value),
            ),
        ),
        rx.cond(
            row["needs_field"] == "true",
            rx.input(
                name="field__" + key,
                default_value=row["field"],
                key=_key("f" + key),
                placeholder=t("check_field"),
                font_family=MONO,
                width="90px",
                id="check-field-" + key,
            ),
        ),
        rx.cond(
            row["needs_value"] == "true",
            rx.cond(
                row["check"] == "status",
                rx.select.root(
                    rx.select.trigger(class_name="check-value", width="100%"),
                    rx.select.content(
                        *[
                            rx.select.item(t(f"run_status_{status}"), value=status)
                            for status in ("succeeded", "waiting", "failed")
                        ]
                    ),
                    value=rx.cond(row["value"] != "", row["value"], "succeeded"),
                    on_change=lambda value: S.set_check(key, "value", value),
                ),
                rx.input(
                    name="value__" + key,
                    default_value=row["value"],
                    key=_key("v" + key + row["check"]),
                    placeholder=t("check_value"),
                    width="100%",
                    id="check-value-" + key,
                ),
            ),
            rx.spacer(),
        ),
        rx.cond(
            row["takes_arguments"] == "true",
            rx.input(
                name="arguments__" + key,
                default_value=row["arguments"],
                key=_key("a" + key),
                placeholder=t("check_arguments"),
                font_family=MONO,
                width="100%",
                id="check-arguments-" + key,
            ),
        ),
        rx.icon_button(
            rx.icon("x", size=12),
            size="1",
            variant="ghost",
            color_scheme="gray",
            type="button",
            on_click=S.remove_check(key),
        ),
        align="center",
        width="100%",
        class_name="check-row",
        custom_attrs={"data-key": key},
        key=_key("row" + key),
    )


def case_dialog() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.text(t("case_name"), size="2", weight="bold"),
            rx.input(name="name", default_value=S.form_name, key=_key("name"), id="case-name", width="100%"),
            rx.text(t("case_description"), size="2", weight="bold"),
            rx.input(
                name="description",
                default_value=S.form_description,
                key=_key("description"),
                id="case-description",
                width="100%",
            ),
            rx.cond(
                S.input_rows.length() > 0,
                rx.fragment(_section("case_inputs"), rx.foreach(S.input_rows, _input_field)),
            ),
            rx.cond(
                S.form_fixable.length() > 0,
                rx.fragment(
                    _section("case_fixed", "case_fixed_hint"), rx.foreach(S.form_fixable, _fixed_field)
                ),
            ),
            rx.cond(
                S.form_agent_nodes.length() > 0,
                rx.fragment(
                    _section("case_agents", "case_agents_hint"), rx.foreach(S.form_agent_nodes, _agent_field)
                ),
            ),
            rx.cond(
                S.form_approvals.length() > 0,
                rx.fragment(
                    _section("case_decisions", "case_decisions_hint"),
                    rx.foreach(S.form_approvals, _decision_field),
                ),
            ),
            _section("case_expect", "case_expect_hint"),
            rx.foreach(S.form_checks, _check_row),
            rx.button(
                rx.icon("plus", size=12),
                t("add_check"),
                size="1",
                variant="soft",
                type="button",
                on_click=S.add_check,
                id="add-check",
            ),
            rx.cond(
                S.form_error != "",
                rx.callout(
                    S.form_error, icon="triangle-alert", color_scheme="red", size="1", id="case-error"
                ),
            ),
            dialog_footer(rx.button(rx.icon("save", size=14), t("save"), type="submit", id="case-save")),
            spacing="2",
            width="100%",
        ),
        on_submit=S.save_case,
        reset_on_submit=False,
        width="100%",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.form_index >= 0, t("case_form_edit"), t("case_form_new"))),
            form,
            max_width="760px",
            max_height="88vh",
            overflow_y="auto",
            id="case-dialog",
        ),
        open=S.form_open,
        on_open_change=S.set_form_open,
    )
