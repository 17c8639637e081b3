"""Feedback under a finished chat answer: thumbs up, or thumbs down with an optional
correction (what the answer should have said). Posting again replaces the earlier one."""

from __future__ import annotations

import reflex as rx

from studio.state.base import t
from studio.state.feedback import FeedbackState


def feedback_bar(run_id: rx.Var) -> rx.Component:
    """Under an answer whose run has ended (`run_id` set)."""
    rating = FeedbackState.given.get(run_id, "")
    thumb = lambda icon, value, label_key, handler: rx.icon_button(  # noqa: E731 - a small render helper
        rx.icon(icon, size=14),
        size="1",
        variant=rx.cond(rating == value, "solid", "ghost"),
        color_scheme="green" if value == "up" else "red",
        title=t(label_key),
        aria_label=t(label_key),
        loading=FeedbackState.sending == run_id,
        on_click=handler,
        class_name=f"feedback-{value}",
    )
    return rx.vstack(
        rx.hstack(
            thumb("thumbs-up", "up", "helpful", FeedbackState.thumbs_up(run_id)),
            thumb("thumbs-down", "down", "not_helpful", FeedbackState.open_correction(run_id)),
            rx.cond(
                rating != "",
                rx.text(
                    t("thanks_feedback"), size="1", color=rx.color("gray", 10), class_name="feedback-saved"
                ),
            ),
            align="center",
            spacing="2",
        ),
        rx.cond(
            FeedbackState.correcting == run_id,
            rx.form(
                rx.vstack(
                    rx.text_area(
                        name="correction",
                        placeholder=t("correction_placeholder"),
                        rows="3",
                        width="100%",
                        max_length=4000,
                        class_name="feedback-correction",
                    ),
                    rx.hstack(
                        rx.button(
                            t("cancel"),
                            type="button",
                            size="1",
                            variant="soft",
                            color_scheme="gray",
                            on_click=FeedbackState.open_correction(run_id),
                        ),
                        rx.button(
                            t("send_feedback"),
                            type="submit",
                            size="1",
                            color_scheme="red",
                            loading=FeedbackState.sending == run_id,
                            class_name="feedback-send",
                        ),
                        justify="end",
                        width="100%",
                    ),
                    spacing="2",
                    width="100%",
                ),
                on_submit=FeedbackState.thumbs_down,
                reset_on_submit=True,
                width="100%",
            ),
        ),
        spacing="2",
        width="100%",
        margin_top="6px",
        class_name="feedback-bar",
        custom_attrs={"data-rating": rating, "data-run": run_id},
    )
