"""The audit page's state (global admins and the board): the hash-chained trail, newest first,
page by page, with filters, the chain's verification and anchoring, and an export of what
the filters match (JSON Lines).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import reflex as rx

from studio.audit_view import (
    PAGE_SIZE,
    anchor_text,
    entry_row,
    query_params,
    verify_text,
)
from studio.components.paged_list import ALL
from studio.state.base import AppState

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
