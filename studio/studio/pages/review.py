"""Review (governance board): submitted versions, their diff against the live version
(the graph coloured by change, each changed block field by field, the card), what the
version uses (connections and what they touch in production, indexes, models) and its
latest fixed test report; approve or reject with a comment.

Four eyes is the runtime's rule; this page only explains why the buttons are disabled
(the version's `allowed_actions` lacks `approve`) in the person's own words.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import reflex as rx

from studio.api import ApiError, RuntimeClient
from studio.components.layout import empty_state, page_frame, page_title, state_badge
from studio.components.report import render_report
from studio.components.uses_panel import uses_panel
from studio.components.version_diff import version_diff
from studio.state.base import AppState, t
from studio.state.version_diff import DiffViewer
from studio.testcases import ReportView, report_view
from studio.uses_view import UsesView, uses_view


async def latest_fixed_report(api: RuntimeClient, version: dict[str, Any]) -> dict[str, Any] | None:
    """The newest fixed-output report of a version: what gates it, and what the board reads."""
    latest = (version.get("tests") or {}).get("latest_fixed") or None
    if latest and "cases" in latest:
        return latest
    if latest and latest.get("id"):
        return await api.test_report(str(latest["id"]))
    reports = await api.test_reports(str(version["flow_id"]), int(version["number"]))
    return next((report for report in reports if report.get("mode") == "fixed"), None)


class ReviewState(DiffViewer, AppState):
    queue: list[dict[str, str]] = []
    loading: bool = False
    selected: str = ""  # "<flow_id>:<number>"
    detail: dict[str, str] = {}
    reviews: list[dict[str, str]] = []
    # The latest fixed report as the runtime sent it; `report` says it in the person's language.
    _report_raw: dict[str, Any] = {}

    @rx.var
    def report(self) -> ReportView:
        return report_view(self._report_raw or None, self.lang)

    # What the runtime answered to `.../uses` ({"uses": None}: it could not be loaded).
    _uses_answer: dict[str, Any] = {}
    can_approve: bool = False
    disabled_reason: str = ""
    comment: str = ""
    deciding: str = ""

    @rx.var
    def uses(self) -> UsesView:
        if not self._uses_answer:
            return UsesView()
        return uses_view(self._uses_answer.get("uses"), self.lang)

    @rx.event
    async def load(self) -> Any:
        if not self.token:
            return
        self.loading = True
        yield
        api = self.api()
        async with self._runtime_call("loading") as call:
            flows = await api.flows()
            histories = await asyncio.gather(*(api.versions(flow["id"]) for flow in flows))
        if call.failed:
            yield call.events
            return
        queue = []
        for flow, versions in zip(flows, histories, strict=True):
            for version in versions:
                if version.get("state") == "submitted":
                    queue.append(
                        {
                            "key": f"{flow['id']}:{version['number']}",
                            "flow_id": flow["id"],
                            "flow": flow["name"],
                            "workspace": flow.get("workspace", ""),
                            "number": str(version["number"]),
                            "author": str(version.get("author") or ""),
                            "submitted_by": str(version.get("submitted_by") or ""),
                            "risk": str(version.get("risk") or ""),
                            "submitted_at": str(version.get("submitted_at") or "")[:16].replace("T", " "),
                        }
                    )
        self.queue = queue
        keys = [item["key"] for item in queue]
        # ?version=<flow_id>:<number>: the version a notification leads to.
        wanted = self.router.url.query_parameters.get("version", "")
        if wanted in keys:
            self.selected = wanted
        if self.selected not in keys:
            self.selected = keys[0] if keys else ""
        yield
        await self._load_detail()

    async def _load_detail(self) -> None:
        self.detail, self.reviews, self._uses_answer = {}, [], {}
        self.clear_diff()
        self._report_raw = {}
        self.comment = ""
        if not self.selected:
            return
        flow_id, number = self.selected.split(":")
        api = self.api()
        try:
            version = await api.version(flow_id, int(number))
        except ApiError as exc:
            self.detail = {"error": self.error_text(exc)}
            return
        with contextlib.suppress(ApiError, KeyError, TypeError, ValueError):
            self._report_raw = await latest_fixed_report(api, version) or {}
        document = version.get("document") or {}
        self.detail = {
            "flow_id": flow_id,
            "number": number,
            "author": str(version.get("author") or ""),
            "submitted_by": str(version.get("submitted_by") or ""),
            "state": str(version.get("state")),
            "risk": str(version.get("risk") or ""),
            "quorum": str(version.get("quorum") or 1),
            "hash": str(version.get("content_hash") or ""),
            "name": str(document.get("name") or ""),
        }
        this_round = [review for review in version.get("reviews") or []]
        self.reviews = [
            {
                "reviewer": str(review.get("reviewer")),
                "decision": str(review.get("decision")),
                "comment": str(review.get("comment") or ""),
                "round": str(review.get("round") or ""),
            }
            for review in this_round
        ]
        await self.load_diff(flow_id, int(number), "live", document)
        try:
            self._uses_answer = {"uses": await api.version_uses(flow_id, int(number))}
        except ApiError:
            self._uses_answer = {"uses": None}
        allowed = version.get("allowed_actions") or []
        self.can_approve = "approve" in allowed
        self.disabled_reason = "" if self.can_approve else self._why_not()

    def _why_not(self) -> str:
        if not self.is_board:
            return self.tr("not_board")
        if self.detail.get("author") == self.username:
            return self.tr("four_eyes_author")
        if self.detail.get("submitted_by") == self.username:
            return self.tr("four_eyes_submitter")
        if any(review["reviewer"] == self.username for review in self.reviews):
            return self.tr("already_reviewed")
        return self.tr("not_board")

    @rx.event
    async def select(self, key: str) -> None:
        self.selected = key
        await self._load_detail()

    @rx.event
    def set_comment(self, value: str) -> None:
        self.comment = value

    @rx.event
    async def decide(self, action: str) -> Any:
        if not self.detail.get("flow_id"):
            return
        if action == "reject" and not self.comment.strip():
            yield rx.toast.warning(self.tr("comment_required"))
            return
        self.deciding = action
        yield
        flow, number = self.detail.get("name", ""), self.detail["number"]
        async with self._runtime_call("deciding") as call:
            await self.api().lifecycle(self.detail["flow_id"], int(number), action, self.comment)
        if call.failed:
            yield call.events
            return
        key = "approved_ok" if action == "approve" else "rejected_ok"
        yield rx.toast.success(self.tr(key, n=number, flow=flow))
        yield ReviewState.load


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
