"""Audit (board and admins): the chain verification up front, a filterable list of the
trail, newest first, page by page, and an export of what the filters match (JSON Lines)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import reflex as rx

from studio.audit_view import (
    ACTIONS,
    PAGE_SIZE,
    RESOURCE_TYPES,
    anchor_text,
    entry_row,
    query_params,
    verify_text,
)
from studio.components.audit_table import audit_table
from studio.components.layout import empty_state, page_frame, page_title
from studio.components.paged_list import ALL, filter_select, paged_list, pager
from studio.state.base import AppState, t

FILTER_NAMES = ("action", "who", "resource_type", "resource_id", "since", "until")


class AuditState(AppState):
    filters: dict[str, str] = {}
    # What the runtime answered; the rows and sentences are said from it in the person's
    # language (computed vars, so that they follow the language switch).
    _found: list[dict[str, Any]] = []
    _verified: dict[str, Any] = {}
    # before_seq of each page shown so far (0: the newest page); the last is the current one.
    pages: list[int] = [0]
    has_older: bool = False
    loading: bool = False
    exporting: bool = False
    expanded: str = ""

    verifying: bool = False
    verified: bool = False
    anchoring: bool = False

    @rx.var
    def entries(self) -> list[dict[str, str]]:
        return [entry_row(entry, self.lang) for entry in self._found]

    @rx.var
    def chain_ok(self) -> bool:
        return verify_text(self._verified, self.lang)[0] if self._verified else False

    @rx.var
    def chain_text(self) -> str:
        return verify_text(self._verified, self.lang)[1] if self._verified else ""

    @rx.var
    def chain_problem(self) -> str:
        return verify_text(self._verified, self.lang)[2] if self._verified else ""

    @rx.var
    def chain_anchors(self) -> str:
        return anchor_text(self._verified, self.lang) if self._verified else ""

    @rx.var
    def may_read(self) -> bool:
        return self.is_board or "admin" in self.global_roles

    @rx.var
    def page_number(self) -> int:
        return len(self.pages)

    @rx.event
    async def load(self) -> Any:
        if not self.token or not self.may_read:
            return
        self.pages = [0]
        yield AuditState.fetch
        yield AuditState.verify

    @rx.event
    async def fetch(self) -> Any:
        self.loading = True
        yield
        params: dict[str, Any] = {**query_params(self.filters), "limit": PAGE_SIZE + 1}
        if self.pages[-1]:
            params["before_seq"] = self.pages[-1]
        async with self._runtime_call("loading") as call:
            found = await self.api().audit(params)
        if call.failed:
            yield call.events
            return
        self.has_older = len(found) > PAGE_SIZE
        self._found = found[:PAGE_SIZE]

    @rx.event
    async def verify(self) -> Any:
        self.verifying = True
        yield
        async with self._runtime_call("verifying") as call:
            result = await self.api().audit_verify()
        if call.failed:
            yield call.events
            return
        self._verified = result
        self.verifying, self.verified = False, True

    @rx.event
    async def anchor(self) -> Any:
        self.anchoring = True
        yield
        async with self._runtime_call("anchoring") as call:
            anchored = await self.api().audit_anchor()
        if call.failed:
            yield call.events
            return
        yield rx.toast.success(self.tr("audit_anchored", seq=anchored.get("seq") or 0))
        yield AuditState.verify

    @rx.event
    def apply_filters(self, form: dict[str, Any]) -> Any:
        self.filters = {name: str(form.get(name) or "").replace(ALL, "") for name in FILTER_NAMES}
        self.pages = [0]
        return AuditState.fetch

    @rx.event
    def clear_filters(self) -> Any:
        self.filters, self.pages = {}, [0]
        return AuditState.fetch

    @rx.event
    def older(self) -> Any:
        if self.has_older and self.entries:
            self.pages = [*self.pages, int(self.entries[-1]["seq"])]
            return AuditState.fetch
        return None

    @rx.event
    def newer(self) -> Any:
        if len(self.pages) > 1:
            self.pages = self.pages[:-1]
            return AuditState.fetch
        return None

    @rx.event
    def toggle(self, seq: str) -> None:
        self.expanded = "" if self.expanded == seq else seq

    @rx.event
    async def export(self) -> Any:
        self.exporting = True
        yield
        params = {
            key: value
            for key, value in query_params(self.filters).items()
            if key in ("action", "since", "until")
        }
        async with self._runtime_call("exporting") as call:
            text = await self.api().audit_export(params)
        if call.failed:
            yield call.events
            return
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
        lines = text.count("\n")
        yield rx.download(data=text, filename=f"dirigent-audit-{stamp}.jsonl")
        yield rx.toast.success(self.tr("audit_exported", count=lines))


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
