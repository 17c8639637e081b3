"""Läufe (runs) of one assistant, for its champions and the board: a filterable table page
by page, and beside it the chosen run's trace — the answer next to the asker's correction,
the inputs, each step collapsible with its inputs and outputs rendered by type (the chat's
renderer, `chat_view`, never JSON), an agent's step with its loop turn by turn — and "Als
Testfall übernehmen"."""

from __future__ import annotations

import reflex as rx

from studio import routes
from studio.chat_view import EMPTY
from studio.components.case_from_run import case_from_run_dialog
from studio.components.layout import empty_state, page_frame
from studio.components.paged_list import ALL, filter_select, paged_list, pager
from studio.components.safe_markdown import safe_markdown
from studio.runs_view import STATUSES
from studio.state.base import t
from studio.state.case_from_run import CaseFromRunState
from studio.state.runs import RunsState as S

STATUS_COLOURS = {
    "succeeded": "green",
    "failed": "red",
    "waiting": "amber",
    "running": "blue",
    "queued": "blue",
    "cancelled": "gray",
    "expired": "gray",
    "skipped": "gray",
}
LABEL = {"size": "1", "weight": "medium", "color": rx.color("gray", 11)}


def status_badge(status: rx.Var, label: rx.Var) -> rx.Component:
    return rx.match(
        status,
        *[(name, rx.badge(label, color_scheme=colour)) for name, colour in STATUS_COLOURS.items()],  # type: ignore[arg-type]
        rx.badge(label),
    )


def _feedback_icons(row: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.match(
            row["feedback"],
            (
                "up",
                rx.icon("thumbs-up", size=16, color=rx.color("green", 10), aria_label=t("feedback_up_label")),
            ),
            (
                "down",
                rx.icon(
                    "thumbs-down", size=16, color=rx.color("red", 10), aria_label=t("feedback_down_label")
                ),
            ),
            rx.text(EMPTY, color=rx.color("gray", 9)),
        ),
        rx.cond(
            row["correction"] != "",
            rx.icon(
                "message-square-text",
                size=16,
                color=rx.color("red", 10),
                aria_label=t("feedback_with_correction"),
            ),
        ),
        spacing="1",
        align="center",
        class_name="run-feedback",
        custom_attrs={"data-rating": row["feedback"], "data-correction": row["correction"]},
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["when"], size="2", white_space="nowrap")),
        rx.table.cell(
            rx.hstack(
                rx.text(row["person"], size="2"),
                rx.cond(row["test"] != "", rx.badge(t("runs_test_badge"), color_scheme="gray", size="1")),
                spacing="2",
                align="center",
            )
        ),
        rx.table.cell(rx.text(row["version"], size="2")),
        rx.table.cell(status_badge(row["status"], row["status_label"])),
        rx.table.cell(rx.text(row["duration"], size="2", white_space="nowrap")),
        rx.table.cell(rx.text(row["tokens"], size="2")),
        rx.table.cell(_feedback_icons(row)),
        on_click=S.open_run(row["id"]),
        cursor="pointer",
        background=rx.cond(S.selected == row["id"], rx.color("accent", 3), "transparent"),
        _hover={"background": rx.color("accent", 2)},
        class_name="run-row",
        custom_attrs={"data-run": row["id"], "data-status": row["status"]},
        key=row["id"],
    )


def _select(name: str, all_key: str, options: list[tuple[str, rx.Var]]) -> rx.Component:
    return filter_select(name, f"runs-{name}", all_key, options, S.filters.get(name, ALL))


def _filters() -> rx.Component:
    def field(label_key: str, control: rx.Component) -> rx.Component:
        return rx.vstack(rx.text(t(label_key), **LABEL), control, spacing="1", width="100%")

    statuses = [(status, t(f"run_status_{status}")) for status in STATUSES]
    feedback = [(key, t(f"runs_feedback_{key}")) for key in ("any", "correction", "none")]
    return rx.form(
        rx.hstack(
            field("runs_filter_status", _select("status", "runs_all_statuses", statuses)),
            field("runs_filter_feedback", _select("feedback", "runs_feedback_all", feedback)),
            field(
                "runs_from",
                rx.input(
                    type="date", name="since", default_value=S.filters.get("since", ""), id="runs-since"
                ),
            ),
            field(
                "runs_to",
                rx.input(
                    type="date", name="until", default_value=S.filters.get("until", ""), id="runs-until"
                ),
            ),
            rx.hstack(
                rx.checkbox(name="tests", default_checked=S.filters.get("tests", "") != "", id="runs-tests"),
                rx.text(t("runs_include_tests"), size="2", white_space="nowrap"),
                spacing="2",
                align="center",
                padding_bottom="6px",
            ),
            rx.button(rx.icon("filter", size=14), t("runs_filter"), type="submit", id="runs-apply"),
            rx.button(
                t("runs_clear"),
                type="button",
                variant="soft",
                color_scheme="gray",
                on_click=S.clear_filters,
                id="runs-clear",
            ),
            spacing="3",
            align="end",
            width="100%",
        ),
        on_submit=S.apply_filters,
        key=S.filters.to_string(),
        width="100%",
    )


def _table() -> rx.Component:
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(t(key))
                    for key in (
                        "runs_col_time",
                        "runs_col_person",
                        "runs_col_version",
                        "runs_col_status",
                        "runs_col_duration",
                        "runs_col_tokens",
                        "runs_col_feedback",
                    )
                ]
            )
        ),
        rx.table.body(rx.foreach(S.rows, _row)),
        width="100%",
        variant="surface",
        size="1",
        id="runs-table",
    )
    pages = pager("runs", S.page_number, S.next_before != "", S.newer, S.older)
    return paged_list(S.rows, table, pages, S.loading, ("history", "runs_empty", "runs_empty_hint"))


def _value_box(text: rx.Var, class_name: str) -> rx.Component:
    return rx.box(
        safe_markdown(text, class_name=class_name),
        padding="6px 10px",
        border_radius="6px",
        background=rx.color("gray", 2),
        width="100%",
        font_size="13px",
        overflow_x="auto",
    )


USER_CONTENT = {"data-user-content": "true"}  # the model's and the tools' words, not the studio's
TURN_COLOURS = {"model": "blue", "tool": "gray", "approval": "amber"}


def _turn(turn: rx.Var) -> rx.Component:
    """One entry of an agent's loop: a model turn (text, tokens) or a tool call (arguments,
    result or error, status, the decision on a held call)."""
    return rx.box(
        rx.hstack(
            rx.text(turn.heading, size="1", weight="medium", class_name="turn-heading"),
            rx.spacer(),
            rx.cond(turn.tokens != "", rx.text(turn.tokens, size="1", color=rx.color("gray", 10))),
            rx.cond(
                turn.status_label != "",
                rx.badge(
                    turn.status_label,
                    color_scheme=rx.cond(turn.is_error, "red", "green"),
                    size="1",
                    class_name="turn-status",
                ),
            ),
            rx.cond(
                turn.decision != "",
                rx.badge(turn.decision, color_scheme="amber", size="1", class_name="turn-decision"),
            ),
            align="center",
            width="100%",
            spacing="2",
        ),
        rx.cond(
            turn.arguments != "",
            rx.vstack(
                rx.text(t("turn_arguments"), **LABEL),
                rx.box(_value_box(turn.arguments, "turn-arguments"), custom_attrs=USER_CONTENT, width="100%"),
                spacing="1",
                width="100%",
            ),
        ),
        rx.cond(
            turn.text != "",
            rx.cond(
                turn.is_error,
                rx.callout(
                    turn.text, icon="circle-alert", color_scheme="red", size="1", class_name="turn-error"
                ),
                rx.box(_value_box(turn.text, "turn-text"), custom_attrs=USER_CONTENT, width="100%"),
            ),
        ),
        padding="6px 8px",
        border_left=f"3px solid {rx.color('gray', 6)}",
        width="100%",
        class_name="agent-turn",
        custom_attrs={"data-kind": turn.kind},
        key=turn.key,
    )


def _turns(step: rx.Var) -> rx.Component:
    return rx.cond(
        step.turns.length() > 0,  # type: ignore[attr-defined]
        rx.vstack(
            rx.text(t("turns_title"), **LABEL),
            rx.foreach(step.turns, _turn),
            spacing="2",
            width="100%",
            class_name="agent-turns",
        ),
    )


def _step(step: rx.Var) -> rx.Component:
    is_open = S.open_steps.contains(step.node_id)
    header = rx.hstack(
        rx.icon(rx.cond(is_open, "chevron-down", "chevron-right"), size=14),
        rx.text(step.title, size="2", weight="medium"),
        rx.code(step.node_type, size="1", variant="ghost"),
        rx.spacer(),
        rx.text(step.duration, size="1", color=rx.color("gray", 10)),
        rx.cond(step.tokens != EMPTY, rx.text(step.tokens, " Tokens", size="1", color=rx.color("gray", 10))),
        status_badge(step.status, step.status_label),
        on_click=S.toggle_step(step.node_id),
        cursor="pointer",
        width="100%",
        align="center",
        spacing="2",
        class_name="trace-step-toggle",
    )
    body = rx.vstack(
        rx.cond(
            step.inputs != "",
            rx.vstack(
                rx.text(t("trace_step_inputs"), **LABEL),
                _value_box(step.inputs, "step-inputs"),
                spacing="1",
                width="100%",
            ),
        ),
        _turns(step),
        rx.cond(
            step.outputs != "",
            rx.vstack(
                rx.text(t("trace_step_outputs"), **LABEL),
                _value_box(step.outputs, "step-outputs"),
                spacing="1",
                width="100%",
            ),
        ),
        rx.cond(
            step.error != "",
            rx.callout(
                step.error, icon="circle-alert", color_scheme="red", size="1", class_name="step-error"
            ),
        ),
        rx.cond(
            step.truncated,
            rx.hstack(
                rx.badge(t("trace_truncated"), color_scheme="amber"),
                rx.button(
                    t("trace_load_full"),
                    size="1",
                    variant="soft",
                    loading=S.full_loading == step.node_id,
                    on_click=S.load_full_step(step.node_id),
                    class_name="step-load-full",
                ),
                align="center",
            ),
        ),
        spacing="2",
        width="100%",
        padding_top="6px",
    )
    return rx.box(
        header,
        rx.cond(is_open, body),
        padding="8px 10px",
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="8px",
        width="100%",
        class_name="trace-step",
        custom_attrs={"data-node": step.node_id, "data-open": rx.cond(is_open, "true", "false")},
        key=step.node_id,
    )


def _answer_and_correction() -> rx.Component:
    trace = S.trace
    answer = rx.vstack(
        rx.text(t("trace_answer"), **LABEL),
        rx.cond(
            trace.answer != "",
            _value_box(trace.answer, "trace-answer-text"),
            rx.text(t("trace_no_answer"), size="2", color=rx.color("gray", 10)),
        ),
        rx.cond(
            trace.error != "",
            rx.callout(trace.error, icon="circle-alert", color_scheme="red", size="1", id="trace-error"),
        ),
        spacing="1",
        width="100%",
        id="trace-answer",
    )
    correction = rx.vstack(
        rx.hstack(
            rx.text(t("trace_correction"), **LABEL),
            rx.match(
                trace.rating,
                ("up", rx.icon("thumbs-up", size=14, color=rx.color("green", 10))),
                ("down", rx.icon("thumbs-down", size=14, color=rx.color("red", 10))),
                rx.fragment(),
            ),
            spacing="2",
            align="center",
        ),
        rx.cond(
            trace.correction != "",
            rx.box(
                rx.text(trace.correction, size="2", white_space="pre-wrap"),
                padding="6px 10px",
                border_radius="6px",
                background=rx.color("amber", 3),
                border=f"1px solid {rx.color('amber', 6)}",
                width="100%",
            ),
            rx.text(t("trace_no_correction"), size="2", color=rx.color("gray", 10)),
        ),
        spacing="1",
        width="100%",
        id="trace-correction",
    )
    return rx.grid(answer, correction, columns="2", spacing="3", width="100%")


def _trace() -> rx.Component:
    trace = S.trace
    header = rx.hstack(
        rx.vstack(
            rx.hstack(
                rx.text(t("trace_run"), " ", trace.short, weight="bold", size="3"),
                status_badge(trace.status, trace.status_label),
                spacing="2",
                align="center",
            ),
            rx.text(
                trace.when,
                " · ",
                trace.person,
                " · ",
                trace.version,
                " · ",
                trace.duration,
                " · ",
                trace.tokens,
                " Tokens",
                size="1",
                color=rx.color("gray", 11),
            ),
            spacing="1",
        ),
        rx.spacer(),
        rx.cond(
            trace.can_make_case,
            rx.button(
                rx.icon("flask-conical", size=14),
                t("make_case"),
                size="2",
                on_click=CaseFromRunState.open_case_dialog,
                id="make-case",
            ),
        ),
        rx.icon_button(
            rx.icon("x", size=14), size="1", variant="ghost", on_click=S.close_trace, title=t("close")
        ),
        width="100%",
        align="start",
    )
    return rx.cond(
        S.trace_loading,
        rx.center(rx.spinner(size="3"), padding="40px"),
        rx.vstack(
            header,
            _answer_and_correction(),
            rx.cond(
                trace.inputs != "",
                rx.vstack(
                    rx.text(t("trace_inputs"), **LABEL),
                    _value_box(trace.inputs, "trace-inputs"),
                    spacing="1",
                    width="100%",
                ),
            ),
            rx.text(t("trace_steps"), **LABEL),
            rx.vstack(rx.foreach(trace.steps, _step), spacing="2", width="100%", id="trace-steps"),
            spacing="3",
            width="100%",
            id="run-trace",
            custom_attrs={"data-run": trace.id},
        ),
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.link(rx.icon_button(rx.icon("arrow-left", size=16), variant="ghost", size="2"), href=routes.FLOWS),
        rx.vstack(
            rx.heading(t("runs_title"), ": ", S.flow_name, size="6", id="runs-heading"),
            rx.text(t("runs_subtitle"), size="2", color=rx.color("gray", 11)),
            spacing="1",
        ),
        rx.spacer(),
        rx.cond(
            S.can_edit,
            rx.link(
                rx.button(rx.icon("pencil", size=14), t("open_editor"), size="2", variant="soft"),
                href="/flows/" + S.flow_id,
            ),
        ),
        rx.link(
            rx.button(rx.icon("history", size=14), t("open_versions"), size="2", variant="outline"),
            href="/flows/" + S.flow_id + "/versions",
        ),
        align="center",
        width="100%",
        margin_bottom="12px",
    )


def runs_page() -> rx.Component:
    body = rx.vstack(
        _header(),
        rx.callout(t("runs_privacy"), icon="shield", color_scheme="gray", size="1", width="100%"),
        rx.card(_filters(), width="100%"),
        rx.hstack(
            rx.box(_table(), flex="1", min_width="0", overflow_x="auto"),
            rx.cond(
                S.selected != "",
                rx.box(
                    _trace(),
                    width="44%",
                    min_width="440px",
                    padding="14px",
                    border=f"1px solid {rx.color('gray', 5)}",
                    border_radius="10px",
                    background="white",
                ),
            ),
            spacing="4",
            align="start",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
    return page_frame(
        rx.cond(
            S.load_error != "",
            empty_state(
                "file-question",
                "not_found_title",
                None,
                rx.text(S.load_error, size="2", id="runs-load-error"),
            ),
            body,
        ),
        case_from_run_dialog(),
    )
