"""The frame every signed-in page shares: sidebar, header with workspace and language."""

from __future__ import annotations

import reflex as rx

from studio import routes
from studio.components.inbox_bell import inbox_bell
from studio.state.base import AppState, t

SIDEBAR_WIDTH = "220px"


def _nav_item(label_key: str, icon: str, href: str, test_id: str) -> rx.Component:
    active = AppState.router.url.path.startswith(href)
    return rx.link(
        rx.hstack(
            rx.icon(icon, size=18),
            rx.text(t(label_key), size="2", weight="medium"),
            spacing="3",
            align="center",
            padding_x="12px",
            padding_y="8px",
            border_radius="8px",
            width="100%",
            background=rx.cond(active, rx.color("accent", 4), "transparent"),
            color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 12)),
            _hover={"background": rx.color("accent", 3)},
        ),
        href=href,
        underline="none",
        width="100%",
        id=test_id,
    )


def _section(label_key: str) -> rx.Component:
    return rx.text(
        t(label_key),
        size="1",
        weight="bold",
        color=rx.color("gray", 10),
        text_transform="uppercase",
        padding_x="12px",
        padding_top="14px",
        padding_bottom="4px",
    )


def sidebar() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon("audio-waveform", size=24, color=rx.color("accent", 10)),
            rx.heading("Dirigent", size="5"),
            align="center",
            spacing="2",
            padding_x="12px",
            padding_y="14px",
            cursor="pointer",
            on_click=AppState.go_home,
        ),
        rx.cond(
            AppState.sees_flows,
            rx.fragment(
                _section("section_build"),
                _nav_item("nav_flows", "workflow", routes.FLOWS, "nav-flows"),
                _nav_item("nav_knowledge", "library", routes.KNOWLEDGE, "nav-knowledge"),
            ),
        ),
        _section("section_use"),
        _nav_item("nav_assistants", "messages-square", routes.ASSISTANTS, "nav-assistants"),
        _nav_item("nav_tasks", "list-checks", routes.TASKS, "nav-tasks"),
        _nav_item("nav_inbox", "inbox", routes.INBOX, "nav-inbox"),
        rx.cond(
            AppState.is_board | AppState.is_admin | AppState.can_build,
            rx.fragment(
                _section("section_govern"),
                rx.cond(AppState.is_board, _nav_item("nav_review", "stamp", routes.REVIEW, "nav-review")),
                _nav_item("nav_monitoring", "chart-line", routes.MONITORING, "nav-monitoring"),
                rx.cond(
                    AppState.is_board | AppState.is_admin,
                    _nav_item("nav_audit", "scroll-text", routes.AUDIT, "nav-audit"),
                ),
                rx.cond(
                    AppState.is_admin,
                    _nav_item("nav_connections", "plug", routes.CONNECTIONS, "nav-connections"),
                ),
                rx.cond(
                    AppState.is_global_admin, _nav_item("nav_models", "cpu", routes.MODELS, "nav-models")
                ),
            ),
        ),
        spacing="1",
        width=SIDEBAR_WIDTH,
        min_width=SIDEBAR_WIDTH,
        height="100vh",
        padding="8px",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
        position="sticky",
        top="0",
    )


def language_switch() -> rx.Component:
    def button(code: str, label: str) -> rx.Component:
        return rx.button(
            label,
            size="1",
            id=f"lang-{code}",
            variant=rx.cond(AppState.lang == code, "solid", "soft"),
            on_click=AppState.set_lang(code),
        )

    return rx.hstack(button("de", "DE"), button("en", "EN"), spacing="1", title=t("language"))


def workspace_switch() -> rx.Component:
    return rx.hstack(
        rx.text(t("workspace"), size="2", color=rx.color("gray", 11)),
        rx.select.root(
            rx.select.trigger(id="workspace-select", min_width="140px"),
            rx.select.content(
                rx.foreach(
                    AppState.workspace_slugs,
                    lambda slug: rx.select.item(AppState.workspace_names[slug], value=slug),
                )
            ),
            value=AppState.workspace,
            on_change=AppState.set_workspace,
            size="2",
        ),
        align="center",
        spacing="2",
    )


def header() -> rx.Component:
    return rx.hstack(
        rx.cond(AppState.workspace_slugs.length() > 0, workspace_switch(), rx.box()),
        rx.spacer(),
        inbox_bell(),
        language_switch(),
        rx.menu.root(
            rx.menu.trigger(
                rx.button(
                    rx.icon("circle-user", size=16),
                    AppState.username,
                    variant="ghost",
                    size="2",
                    id="user-menu",
                )
            ),
            rx.menu.content(
                rx.menu.item(
                    rx.hstack(rx.icon("key-round", size=14), t("account_title")),
                    on_click=rx.redirect(routes.ACCOUNT),
                    id="account-link",
                ),
                rx.menu.item(
                    rx.hstack(rx.icon("log-out", size=14), t("sign_out")),
                    on_click=AppState.sign_out,
                    id="sign-out",
                ),
            ),
        ),
        align="center",
        spacing="4",
        padding_x="20px",
        height="56px",
        width="100%",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
    )


def page_frame(*children: rx.Component, full_bleed: bool = False) -> rx.Component:
    """Sidebar, header and the page's content (shown once the person is known)."""
    content = rx.cond(
        AppState.signed_in,
        rx.box(
            *children,
            padding=rx.cond(full_bleed, "0", "24px"),
            width="100%",
            height="calc(100vh - 56px)",
            overflow="auto",
        ),
        rx.center(rx.spinner(size="3"), width="100%", height="60vh"),
    )
    return rx.hstack(
        sidebar(),
        rx.vstack(header(), content, spacing="0", width="100%", min_width="0"),
        spacing="0",
        width="100%",
        align="start",
        background=rx.color("gray", 1),
    )


def page_title(title_key: str, subtitle_key: str | None = None, *actions: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.heading(t(title_key), size="6"),
            rx.text(t(subtitle_key), color=rx.color("gray", 11), size="2") if subtitle_key else rx.fragment(),
            spacing="1",
        ),
        rx.spacer(),
        *actions,
        width="100%",
        align="center",
        margin_bottom="16px",
    )


def empty_state(
    icon: str, title_key: str, hint_key: str | None = None, *actions: rx.Component
) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon(icon, size=40, color=rx.color("gray", 9)),
            rx.text(t(title_key), size="4", weight="medium"),
            rx.text(t(hint_key), size="2", color=rx.color("gray", 11)) if hint_key else rx.fragment(),
            *actions,
            align="center",
            spacing="3",
        ),
        padding="48px",
        width="100%",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="12px",
        class_name="empty-state",
    )


def state_badge(state: rx.Var) -> rx.Component:
    """A version's lifecycle state as a coloured, translated badge."""
    return rx.match(
        state,
        ("draft", rx.badge(t("state_draft"), color_scheme="gray")),
        ("submitted", rx.badge(t("state_submitted"), color_scheme="amber")),
        ("approved", rx.badge(t("state_approved"), color_scheme="blue")),
        ("published", rx.badge(t("state_published"), color_scheme="green")),
        ("retired", rx.badge(t("state_retired"), color_scheme="gray", variant="outline")),
        ("rejected", rx.badge(t("state_rejected"), color_scheme="red")),
        rx.badge(state),
    )


def tested_callout(text: rx.Var, *, ok: bool, class_name: str) -> rx.Component:
    """The answer of a "Testen" button (a connection, a model endpoint): green or red,
    with `data-ok` for the journeys that read it."""
    return rx.callout(
        text,
        icon="circle-check" if ok else "circle-alert",
        color_scheme="green" if ok else "red",
        size="1",
        width="100%",
        class_name=class_name,
        custom_attrs={"data-ok": "true" if ok else "false"},
    )
