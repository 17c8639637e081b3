"""Submitting from the editor: the tests' gate on the button, and the runtime's refusal.

The gate is what the runtime reported for the saved version: "Tests bestanden", "Tests
fehlen" or "N von M Tests fehlgeschlagen". A refused submit opens a dialog with the
refusal in words and the runtime's own message; admins may submit anyway with a reason.
"""

from __future__ import annotations

import reflex as rx

from studio.components.dialog_footer import dialog_footer
from studio.state.base import t
from studio.state.testcases import CasesState

S = CasesState


def gate_badge(element_id: str = "test-gate") -> rx.Component:
    return rx.badge(
        rx.match(
            S.gate,
            ("passed", rx.icon("circle-check", size=12)),
            ("failed", rx.icon("circle-x", size=12)),
            rx.icon("circle-dashed", size=12),
        ),
        S.gate_text,
        color_scheme=rx.match(S.gate, ("passed", "green"), ("failed", "red"), "amber"),
        variant="soft",
        size="2",
        cursor="pointer",
        on_click=S.show_cases,
        id=element_id,
        custom_attrs={"data-gate": S.gate},
    )


def submit_controls() -> rx.Component:
    return rx.hstack(
        gate_badge(),
        rx.button(
            rx.icon("send", size=14),
            t("submit_short"),
            title=t("submit"),
            on_click=S.submit(False),
            loading=S.submitting,
            size="2",
            variant="outline",
            id="submit-flow",
            disabled=(S.saved_state != "draft") & ~S.dirty,
        ),
        refusal_dialog(),
        spacing="2",
        align="center",
    )


def _override() -> rx.Component:
    return rx.vstack(
        rx.divider(),
        rx.text(t("override_title"), size="2", weight="bold"),
        rx.text(t("override_reason"), size="1", color=rx.color("gray", 11)),
        rx.text_area(
            value=S.override_reason,
            on_change=S.set_override_reason,
            rows="2",
            width="100%",
            id="override-reason",
        ),
        rx.hstack(
            rx.button(
                rx.icon("shield-alert", size=14),
                t("override_submit"),
                color_scheme="orange",
                on_click=S.submit(True),
                loading=S.submitting,
                id="override-submit",
            ),
            justify="end",
            width="100%",
        ),
        spacing="2",
        width="100%",
        id="override",
    )


def refusal_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(t("submit_refused_title")),
            rx.vstack(
                rx.callout(S.refusal_text, icon="octagon-x", color_scheme="red", id="submit-refused"),
                rx.box(gate_badge("refusal-gate")),
                rx.text(t("submit_refused_hint"), size="2"),
                rx.cond(
                    S.refusal_detail != "",
                    rx.text(
                        t("runtime_says"),
                        ": ",
                        S.refusal_detail,
                        size="1",
                        color=rx.color("gray", 10),
                        id="refusal-detail",
                    ),
                ),
                dialog_footer(
                    rx.button(
                        rx.icon("flask-conical", size=14), t("to_cases"), on_click=S.show_cases, id="to-cases"
                    ),
                    cancel_key="close",
                ),
                rx.cond(S.is_admin, _override()),
                spacing="3",
                width="100%",
            ),
            max_width="520px",
        ),
        open=S.refusal_open,
        on_open_change=S.set_refusal_open,
    )
