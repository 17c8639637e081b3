"""Audit (board and admins): the chain verification up front, a filterable list of the
trail, newest first, page by page, and an export of what the filters match (JSON Lines)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.audit_view import (
    ACTIONS,
    RESOURCE_TYPES,
)
from studio.components.audit_table import audit_table
from studio.components.layout import empty_state, page_frame, page_title
from studio.components.paged_list import ALL, filter_select, paged_list, pager
from studio.state.audit import AuditState
from studio.state.base import t


def _chain_banner() -> rx.Component:
    recheck = rx.button(
        rx.icon("shield-check", size=14),
        t("audit_verify_again"),
        size="1",
        variant="soft",
        loading=AuditState.verifying,
        on_click=AuditState.verify,
        id="audit-verify",
    )
    anchor_now = rx.button(
        rx.icon("anchor", size=14),
        t("audit_anchor_now"),
        size="1",
        variant="soft",
        loading=AuditState.anchoring,
        on_click=AuditState.anchor,
        id="audit-anchor",
    )

    def banner(ok: bool) -> rx.Component:
        return rx.callout.root(
            rx.callout.icon(rx.icon("shield-check" if ok else "shield-alert", size=22)),
            rx.vstack(
                rx.hstack(
                    rx.text(AuditState.chain_text, size="3", weight="bold", id="chain-text"),
                    rx.spacer(),
                    anchor_now,
                    recheck,
                    width="100%",
                    align="center",
                ),
                rx.text(t("audit_chain_ok_hint" if ok else "audit_chain_broken_hint"), size="1"),
                rx.text(AuditState.chain_anchors, size="1", weight="medium", id="chain-anchors"),
                rx.cond(AuditState.chain_problem != "", rx.code(AuditState.chain_problem, size="1")),
                spacing="1",
                width="100%",
            ),
            color_scheme="green" if ok else "red",
            size="2",
            width="100%",
            id="chain-result",
            custom_attrs={"data-ok": "true" if ok else "false"},
        )

    return rx.cond(
        AuditState.verified,
        rx.cond(AuditState.chain_ok, banner(True), banner(False)),
        rx.callout(t("audit_verifying"), icon="loader", color_scheme="gray", width="100%"),
    )


def _select(name: str, options: tuple[str, ...], label: Any, all_key: str) -> rx.Component:
    return filter_select(
        name,
        f"audit-{name.replace('_', '-')}",
        all_key,
        [(option, label(option)) for option in options],
        AuditState.filters.get(name, ALL),
    )


def _filters() -> rx.Component:
    def field(label_key: str, control: rx.Component) -> rx.Component:
        return rx.vstack(rx.text(t(label_key), size="1", weight="medium"), control, spacing="1", width="100%")

    return rx.form(
        rx.grid(
            field(
                "audit_action",
                _select(
                    "action", ACTIONS, lambda a: t("audit_action_" + a.replace(".", "_")), "audit_all_actions"
                ),
            ),
            field(
                "audit_who",
                rx.input(
                    name="who",
                    default_value=AuditState.filters.get("who", ""),
                    placeholder="champion",
                    id="audit-who",
                ),
            ),
            field(
                "audit_resource",
                _select("resource_type", RESOURCE_TYPES, lambda r: t("resource_" + r), "audit_all_resources"),
            ),
            field(
                "audit_resource_id",
                rx.input(
                    name="resource_id",
                    default_value=AuditState.filters.get("resource_id", ""),
                    id="audit-resource-id",
                ),
            ),
            field(
                "range_from",
                rx.input(
                    type="date",
                    name="since",
                    default_value=AuditState.filters.get("since", ""),
                    id="audit-since",
                ),
            ),
            field(
                "range_to",
                rx.input(
                    type="date",
                    name="until",
                    default_value=AuditState.filters.get("until", ""),
                    id="audit-until",
                ),
            ),
            columns="6",
            spacing="3",
            width="100%",
        ),
        rx.hstack(
            rx.button(rx.icon("filter", size=14), t("audit_filter"), type="submit", id="audit-apply"),
            rx.button(
                t("audit_clear"),
                type="button",
                variant="soft",
                color_scheme="gray",
                on_click=AuditState.clear_filters,
                id="audit-clear",
            ),
            rx.spacer(),
            rx.button(
                rx.icon("download", size=14),
                t("audit_export"),
                type="button",
                variant="outline",
                loading=AuditState.exporting,
                on_click=AuditState.export,
                id="audit-export",
            ),
            width="100%",
            margin_top="10px",
        ),
        on_submit=AuditState.apply_filters,
        key=AuditState.filters.to_string(),
        width="100%",
    )


def _list() -> rx.Component:
    table = audit_table(AuditState.entries, AuditState.expanded, AuditState.toggle)
    pages = pager("audit", AuditState.page_number, AuditState.has_older, AuditState.newer, AuditState.older)
    return paged_list(
        AuditState.entries, table, pages, AuditState.loading, ("search-x", "audit_empty", "audit_empty_hint")
    )


def audit_page() -> rx.Component:
    return page_frame(
        page_title("audit_title", "audit_subtitle"),
        rx.cond(
            AuditState.may_read,
            rx.vstack(_chain_banner(), rx.card(_filters(), width="100%"), _list(), spacing="4", width="100%"),
            empty_state("lock", "audit_not_allowed"),
        ),
    )
