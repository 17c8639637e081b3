"""The monitoring charts (Reflex's recharts): one card per measure, days along the x axis.

Every series reads a flat key of the daily points (`monitoring_view.chart_points`); series
names are translated labels, so legend and tooltip follow the language switch.
"""

from __future__ import annotations

import reflex as rx

from studio.state.base import t

CHART_HEIGHT = 220
# (data key, label key, colour) per series.
RUN_SERIES = (
    ("succeeded", "run_status_succeeded", "grass"),
    ("failed", "run_status_failed", "red"),
    ("waiting", "run_status_waiting", "amber"),
    ("running", "run_status_running", "blue"),
    ("cancelled", "run_status_cancelled", "gray"),
    ("expired", "run_status_expired", "brown"),
)
TASK_SERIES = (
    ("tasks_approved", "task_status_approved", "grass"),
    ("tasks_rejected", "task_status_rejected", "red"),
    ("tasks_expired", "task_status_expired", "brown"),
    ("tasks_open", "task_status_open", "amber"),
)


def _colour(name: str) -> str:
    return f"var(--{name}-9)"


def _axes(*, right: bool = False) -> list[rx.Component]:
    axes = [
        rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
        rx.recharts.x_axis(data_key="label", font_size=11, interval="preserveStartEnd", min_tick_gap=16),
        rx.recharts.y_axis(y_axis_id="left", font_size=11, allow_decimals=False, width=44),
        rx.recharts.graphing_tooltip(),
        rx.recharts.legend(icon_size=10, wrapper_style={"fontSize": "12px"}),
    ]
    if right:
        axes.insert(3, rx.recharts.y_axis(y_axis_id="right", orientation="right", font_size=11, width=44))
    return axes


def _bar(key: str, label: str, colour: str, stack: str = "") -> rx.Component:
    props = {"stack_id": stack} if stack else {}
    return rx.recharts.bar(
        data_key=key,
        name=t(label),
        fill=_colour(colour),
        y_axis_id="left",
        is_animation_active=False,
        **props,
    )


def _line(key: str, label: str, colour: str, axis: str = "left", dots: bool = True) -> rx.Component:
    return rx.recharts.line(
        data_key=key,
        name=t(label),
        stroke=_colour(colour),
        y_axis_id=axis,
        type_="monotone",
        connect_nulls=True,
        stroke_width=2,
        dot={"r": 3} if dots else False,  # days without a value are gaps: one alone is a point
        is_animation_active=False,
    )


def chart_card(title_key: str, hint_key: str, chart: rx.Component, chart_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(t(title_key), size="2", weight="bold"),
            rx.text(t(hint_key), size="1", color=rx.color("gray", 10)),
            rx.box(chart, width="100%", height=f"{CHART_HEIGHT}px"),
            spacing="1",
            width="100%",
        ),
        width="100%",
        min_width="0",
        class_name="monitoring-chart",
        id=chart_id,
    )


def charts(points: rx.Var) -> rx.Component:
    runs = rx.recharts.bar_chart(
        *[_bar(key, label, colour, "runs") for key, label, colour in RUN_SERIES],
        *_axes(),
        data=points,
        height=CHART_HEIGHT,
    )
    latency = rx.recharts.line_chart(
        _line("p50_ms", "series_p50", "indigo"),
        _line("p95_ms", "series_p95", "crimson"),
        *_axes(),
        data=points,
        height=CHART_HEIGHT,
    )
    tokens = rx.recharts.bar_chart(
        _bar("tokens", "series_tokens", "violet"), *_axes(), data=points, height=CHART_HEIGHT
    )
    feedback = rx.recharts.composed_chart(
        _bar("feedback_up", "series_up", "grass", "feedback"),
        _bar("feedback_down", "series_down", "red", "feedback"),
        _line("corrections", "series_corrections", "orange", dots=False),
        *_axes(),
        data=points,
        height=CHART_HEIGHT,
    )
    approvals = rx.recharts.composed_chart(
        *[_bar(key, label, colour, "tasks") for key, label, colour in TASK_SERIES],
        _line("median_wait_min", "series_wait", "indigo", axis="right"),
        *_axes(right=True),
        data=points,
        height=CHART_HEIGHT,
    )
    actions = rx.recharts.bar_chart(
        _bar("connector_ok", "series_calls_ok", "teal", "calls"),
        _bar("connector_failed", "series_calls_failed", "red", "calls"),
        *_axes(),
        data=points,
        height=CHART_HEIGHT,
    )
    return rx.grid(
        chart_card("chart_runs", "chart_runs_hint", runs, "chart-runs"),
        chart_card("chart_latency", "chart_latency_hint", latency, "chart-latency"),
        chart_card("chart_tokens", "chart_tokens_hint", tokens, "chart-tokens"),
        chart_card("chart_feedback", "chart_feedback_hint", feedback, "chart-feedback"),
        chart_card("chart_approvals", "chart_approvals_hint", approvals, "chart-approvals"),
        chart_card("chart_actions", "chart_actions_hint", actions, "chart-actions"),
        columns="2",
        spacing="4",
        width="100%",
    )
