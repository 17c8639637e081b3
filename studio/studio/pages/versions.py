"""Versions of a flow: history with state, author and hash; a diff of any two (the same
view as the review: `components.version_diff`); the lifecycle."""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio import routes
from studio.components.layout import page_frame, state_badge
from studio.components.version_diff import version_diff
from studio.state.base import AppState, t
from studio.state.version_diff import DiffViewer
from studio.testcases import gate_view

LIFECYCLE_MESSAGES = {"submit": "submitted_ok", "publish": "published_ok", "retire": "retired_ok"}


def _route_id(path: str) -> str:
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 1 else ""


def _gate(row: dict[str, Any], lang: str) -> dict[str, str]:
    """The version's tests gate (`passed`, `failed`, `missing`), when the runtime reports one."""
    if "tests" not in row:
        return {"gate": "", "gate_text": ""}
    gate, text = gate_view(row["tests"], lang)
    return {"gate": gate, "gate_text": text}


class VersionsState(DiffViewer, AppState):
    flow_id: str = ""
    flow_name: str = ""
    live_number: int = 0
    can_edit: bool = False
    # The runtime's versions; `versions` says their gates in the person's language.
    _rows: list[dict[str, Any]] = []
    diff_from: str = ""
    diff_to: str = ""
    busy: str = ""
    error: str = ""

    @rx.var
    def versions(self) -> list[dict[str, str]]:
        return [
            {
                "number": str(row["number"]),
                "state": str(row.get("state") or ""),
                "author": str(row.get("author") or ""),
                "submitted_by": str(row.get("submitted_by") or ""),
                "hash": str(row.get("content_hash") or "")[:12],
                "full_hash": str(row.get("content_hash") or ""),
                "created": str(row.get("created_at") or "")[:16].replace("T", " "),
                "live": "true" if int(row["number"]) == self.live_number else "",
                **_gate(row, self.lang),
            }
            for row in self._rows
        ]

    @rx.var
    def version_numbers(self) -> list[str]:
        return [row["number"] for row in self.versions]

    @rx.event
    async def load(self) -> Any:
        if not self.token:
            return
        self.flow_id = _route_id(self.router.url.path)
        self.error = ""
        api = self.api()
        async with self._runtime_call(error_to="error") as call:
            flow = await api.flow(self.flow_id)
            rows = await api.versions(self.flow_id)
        if call.failed:
            yield call.events
            return
        self.flow_name = flow.get("name", "")
        self.can_edit = "edit" in (flow.get("allowed_actions") or [])
        self.live_number = int((flow.get("live_version") or {}).get("number") or 0)
        self._rows = rows
        numbers = self.version_numbers
        if self.diff_to not in numbers:
            self.diff_to = numbers[0] if numbers else ""
            self.diff_from = numbers[1] if len(numbers) > 1 else ""
        yield
        await self._load_diff()

    async def _load_diff(self) -> None:
        if not self.diff_to:
            self.clear_diff()
            return
        await self.load_diff(self.flow_id, int(self.diff_to), self.diff_from or "live")

    @rx.event
    async def set_diff_from(self, value: str) -> None:
        self.diff_from = value
        await self._load_diff()

    @rx.event
    async def set_diff_to(self, value: str) -> None:
        self.diff_to = value
        await self._load_diff()

    @rx.event
    async def lifecycle(self, number: str, action: str) -> Any:
        self.busy = f"{action}:{number}"
        yield
        async with self._runtime_call("busy") as call:
            await self.api().lifecycle(self.flow_id, int(number), action)
        if call.failed:
            yield call.events
            return
        yield rx.toast.success(self.tr(LIFECYCLE_MESSAGES[action], n=number))
        yield VersionsState.load


def _version_row(row: rx.Var) -> rx.Component:
    number = row["number"]

    def action(name: str, label: str, icon: str, when: rx.Var) -> rx.Component:
        return rx.cond(
            when,
            rx.button(
                rx.icon(icon, size=12),
                t(label),
                size="1",
                variant="soft",
                loading=VersionsState.busy == name + ":" + number,
                on_click=VersionsState.lifecycle(number, name),
                id=f"{name}-" + number,
            ),
        )

    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.text("v" + number, weight="medium"),
                rx.cond(row["live"] == "true", rx.badge(t("live_badge"), color_scheme="green")),
                spacing="2",
            )
        ),
        rx.table.cell(
            state_badge(row["state"]), custom_attrs={"data-state": row["state"]}, class_name="version-state"
        ),
        rx.table.cell(rx.text(row["author"], size="2")),
        rx.table.cell(
            rx.cond(
                row["gate"] != "",
                rx.badge(
                    row["gate_text"],
                    color_scheme=rx.match(row["gate"], ("passed", "green"), ("failed", "red"), "amber"),
                    variant="soft",
                ),
            ),
            class_name="version-gate",
            custom_attrs={"data-gate": row["gate"]},
        ),
        rx.table.cell(rx.text(row["hash"], size="1", font_family="monospace", title=row["full_hash"])),
        rx.table.cell(rx.text(row["created"], size="1", color=rx.color("gray", 10))),
        rx.table.cell(
            rx.hstack(
                action("submit", "submit", "send", VersionsState.can_edit & (row["state"] == "draft")),
                action("publish", "publish", "rocket", VersionsState.can_edit & (row["state"] == "approved")),
                action(
                    "retire",
                    "retire",
                    "archive",
                    (VersionsState.can_edit | VersionsState.is_board) & (row["state"] == "published"),
                ),
                spacing="2",
                justify="end",
            )
        ),
        class_name="version-row",
        custom_attrs={"data-number": number},
        key=number,
    )


def versions_page() -> rx.Component:
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(t(key))
                    for key in (
                        "col_version",
                        "col_state",
                        "col_author",
                        "col_tests",
                        "col_hash",
                        "col_created",
                        "col_actions",
                    )
                ]
            )
        ),
        rx.table.body(rx.foreach(VersionsState.versions, _version_row)),
        width="100%",
        variant="surface",
    )
    version_select = rx.select.content(
        rx.foreach(
            VersionsState.version_numbers,
            lambda number: rx.select.item("v" + number, value=number, key=number),
        )
    )
    compare = rx.vstack(
        rx.card(
            rx.hstack(
                rx.heading(t("diff_title"), size="4"),
                rx.spacer(),
                rx.text(t("compare_from"), size="2"),
                rx.select.root(
                    rx.select.trigger(placeholder=t("live_badge"), id="diff-from"),
                    version_select,
                    value=VersionsState.diff_from,
                    on_change=VersionsState.set_diff_from,
                ),
                rx.text(t("compare_to"), size="2"),
                rx.select.root(
                    rx.select.trigger(id="diff-to"),
                    version_select,
                    value=VersionsState.diff_to,
                    on_change=VersionsState.set_diff_to,
                ),
                align="center",
                width="100%",
                spacing="2",
            ),
            width="100%",
        ),
        version_diff(VersionsState.diff_view, VersionsState.open_change, VersionsState.diff_error),
        spacing="3",
        width="100%",
    )
    header = rx.hstack(
        rx.link(rx.icon_button(rx.icon("arrow-left", size=16), variant="ghost"), href=routes.FLOWS),
        rx.vstack(
            rx.heading(VersionsState.flow_name, " - ", t("versions_title"), size="6"),
            rx.text(t("versions_subtitle"), size="2", color=rx.color("gray", 11)),
            spacing="1",
        ),
        rx.spacer(),
        rx.cond(
            VersionsState.can_edit,
            rx.link(
                rx.button(rx.icon("pencil", size=14), t("open_flow")), href="/flows/" + VersionsState.flow_id
            ),
        ),
        width="100%",
        align="center",
        margin_bottom="16px",
    )
    return page_frame(
        rx.cond(
            VersionsState.error != "",
            rx.callout(VersionsState.error, icon="triangle-alert", color_scheme="red", id="load-error"),
            rx.vstack(header, table, compare, spacing="4", width="100%"),
        ),
    )
