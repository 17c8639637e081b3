"""A test report (`testcases.ReportView`) as people read it: in the editor and in the review."""

from __future__ import annotations

import reflex as rx

from studio.components.node_form import MONO
from studio.state.base import t


def passed_badge(passed: rx.Var) -> rx.Component:
    return rx.cond(
        passed,
        rx.badge(rx.icon("circle-check", size=12), t("case_passed"), color_scheme="green"),
        rx.badge(rx.icon("circle-x", size=12), t("case_failed"), color_scheme="red"),
    )


def _step(step: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(step.node, size="1", font_family=MONO, weight="medium"),
        rx.text(step.status_label, size="1", color=rx.color("gray", 10)),
        rx.cond(
            step.fixed,
            rx.badge(rx.icon("pin", size=10), t("step_fixed"), color_scheme="violet", size="1"),
        ),
        rx.spacer(),
        rx.text(step.duration, size="1", color=rx.color("gray", 10), white_space="nowrap"),
        width="100%",
        align="center",
        spacing="2",
        class_name="report-step",
        custom_attrs={"data-node": step.node, "data-fixed": rx.cond(step.fixed, "true", "false")},
        key=step.node,  # a node runs once per case
    )


def _case(case: rx.Var) -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.hstack(
                rx.text(case.name, size="2", weight="medium"),
                rx.spacer(),
                rx.text(case.duration, size="1", color=rx.color("gray", 10), white_space="nowrap"),
                passed_badge(case.passed),
                width="100%",
                align="center",
            ),
            rx.foreach(
                case.failures,
                lambda failure: rx.text(
                    failure, size="1", color=rx.color("red", 11), class_name="report-failure"
                ),
            ),
            rx.el.details(
                rx.el.summary(rx.text(t("report_steps"), as_="span", size="1", color=rx.color("gray", 11))),
                rx.vstack(rx.foreach(case.steps, _step), spacing="1", width="100%", padding_top="4px"),
                open=~case.passed,
                width="100%",
            ),
            spacing="1",
            width="100%",
        ),
        padding="8px",
        border=f"1px solid {rx.color('gray', 5)}",
        border_left=rx.cond(
            case.passed, f"3px solid {rx.color('green', 9)}", f"3px solid {rx.color('red', 9)}"
        ),
        border_radius="6px",
        width="100%",
        class_name="report-case",
        custom_attrs={"data-name": case.name, "data-passed": rx.cond(case.passed, "true", "false")},
        key=case.name,  # names are unique in a document
    )


def render_report(report: rx.Var, empty: rx.Component) -> rx.Component:
    """The report's summary, when and how it ran, and each case with its failures and steps."""
    return rx.cond(
        report.id != "",
        rx.vstack(
            rx.hstack(
                rx.badge(
                    report.summary,
                    color_scheme=rx.cond(report.passed, "green", "red"),
                    size="2",
                    id="report-summary",
                    custom_attrs={
                        "data-passed": rx.cond(report.passed, "true", "false"),
                        "data-report": report.id,
                    },
                ),
                rx.cond(report.mode == "live", rx.badge(t("mode_live"), color_scheme="blue")),
                align="center",
            ),
            rx.text(report.meta, size="1", color=rx.color("gray", 10)),
            rx.foreach(report.cases, _case),
            spacing="2",
            width="100%",
            class_name="test-report",
        ),
        empty,
    )
