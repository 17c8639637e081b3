"""Review (governance board): submitted versions, their diff against the live version
(the graph coloured by change, each changed block field by field, the card), what the
version uses (connections and what they touch in production, indexes, models) and its
latest fixed test report; approve or reject with a comment.

Four eyes is the runtime's rule; this page only explains why the buttons are disabled
(the version's `allowed_actions` lacks `approve`) in the person's own words.
"""

from __future__ import annotations

import reflex as rx

from studio.components.layout import empty_state, page_frame, page_title, state_badge
from studio.components.report import render_report
from studio.components.uses_panel import uses_panel
from studio.components.version_diff import version_diff
from studio.state.base import t
from studio.state.review import ReviewState


def _queue_item(item: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(item["flow"], weight="medium"),
                rx.spacer(),
                rx.badge("v" + item["number"]),
                width="100%",
            ),
            rx.text(
                t("submitted_by"),
                ": ",
                item["submitted_by"],
                " · ",
                item["submitted_at"],
                size="1",
                color=rx.color("gray", 10),
            ),
            rx.badge(
                t("card_risk"),
                ": ",
                rx.match(
                    item["risk"],
                    ("minimal", t("risk_minimal")),
                    ("limited", t("risk_limited")),
                    ("high", t("risk_high")),
                    item["risk"],
                ),
                variant="outline",
                color_scheme=rx.cond(item["risk"] == "high", "red", "gray"),
            ),
            spacing="1",
            width="100%",
        ),
        on_click=ReviewState.select(item["key"]),
        cursor="pointer",
        width="100%",
        class_name="review-item",
        custom_attrs={"data-key": item["key"], "data-flow": item["flow"]},
        key=item["key"],
        border=rx.cond(ReviewState.selected == item["key"], f"2px solid {rx.color('accent', 8)}", "none"),
    )


def _detail() -> rx.Component:
    d = ReviewState.detail
    decision = rx.vstack(
        rx.text(t("review_comment"), size="2", weight="medium"),
        rx.text_area(
            value=ReviewState.comment,
            on_change=ReviewState.set_comment,
            rows="3",
            width="100%",
            placeholder=t("review_comment_hint"),
            id="review-comment",
        ),
        rx.cond(
            ~ReviewState.can_approve,
            rx.callout(
                ReviewState.disabled_reason, icon="info", color_scheme="amber", size="1", id="disabled-reason"
            ),
        ),
        rx.hstack(
            rx.button(
                rx.icon("x", size=14),
                t("reject"),
                color_scheme="red",
                variant="soft",
                disabled=~ReviewState.can_approve,
                loading=ReviewState.deciding == "reject",
                on_click=ReviewState.decide("reject"),
                id="reject-version",
            ),
            rx.button(
                rx.icon("check", size=14),
                t("approve"),
                color_scheme="green",
                disabled=~ReviewState.can_approve,
                loading=ReviewState.deciding == "approve",
                on_click=ReviewState.decide("approve"),
                id="approve-version",
            ),
            justify="end",
            width="100%",
        ),
        spacing="2",
        width="100%",
    )
    return rx.vstack(
        rx.hstack(
            rx.heading(d["name"], " · v", d["number"], size="5"), state_badge(d["state"]), align="center"
        ),
        rx.text(
            t("authored_by"),
            ": ",
            d["author"],
            " · ",
            t("submitted_by"),
            ": ",
            d["submitted_by"],
            " · ",
            t("quorum"),
            ": ",
            d["quorum"],
            size="2",
            color=rx.color("gray", 11),
        ),
        rx.text(d["hash"], size="1", font_family="monospace", color=rx.color("gray", 10)),
        version_diff(ReviewState.diff_view, ReviewState.open_change, ReviewState.diff_error),
        uses_panel(ReviewState.uses),
        rx.grid(
            rx.card(
                rx.vstack(
                    rx.heading(t("review_tests"), size="3"),
                    render_report(
                        ReviewState.report,
                        rx.callout(t("report_none"), icon="triangle-alert", color_scheme="amber", size="1"),
                    ),
                    width="100%",
                ),
                width="100%",
                id="review-tests",
            ),
            rx.card(
                rx.vstack(
                    rx.heading(t("reviews_so_far"), size="3"),
                    rx.cond(
                        ReviewState.reviews.length() > 0,
                        rx.foreach(
                            ReviewState.reviews,
                            lambda review: rx.text(
                                review["reviewer"],
                                ": ",
                                review["decision"],
                                " - ",
                                review["comment"],
                                size="2",
                                key=review["reviewer"] + review["round"],
                            ),
                        ),
                        rx.text(t("none"), size="2", color=rx.color("gray", 10)),
                    ),
                    width="100%",
                ),
                width="100%",
            ),
            columns="2",
            spacing="3",
            width="100%",
        ),
        rx.card(decision, width="100%"),
        spacing="3",
        width="100%",
    )


def review_page() -> rx.Component:
    return page_frame(
        page_title("review_title", "review_subtitle"),
        rx.cond(
            ReviewState.queue.length() == 0,
            rx.cond(
                ReviewState.loading,
                rx.center(rx.spinner(size="3"), padding="40px"),
                empty_state("stamp", "review_empty"),
            ),
            rx.hstack(
                rx.vstack(
                    rx.foreach(ReviewState.queue, _queue_item), width="300px", min_width="300px", spacing="2"
                ),
                rx.box(
                    rx.cond(
                        ReviewState.detail.contains("error"),
                        rx.callout(ReviewState.detail["error"], color_scheme="red"),
                        _detail(),
                    ),
                    flex="1",
                    min_width="0",
                ),
                align="start",
                spacing="4",
                width="100%",
            ),
        ),
    )
