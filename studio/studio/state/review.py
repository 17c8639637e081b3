"""The review page's state (the board): the queue of submitted versions, one version's
diff against the live one, its card, what it uses in production and its latest fixed test
report; approve or reject with a comment. Four eyes is the runtime's rule; the state only
explains why the buttons are off.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import reflex as rx

from studio.api import ApiError, RuntimeClient
from studio.api_types import TestReportOut, VersionDetailOut
from studio.state.base import AppState
from studio.state.version_diff import DiffViewer
from studio.testcases import ReportView, report_view
from studio.uses_view import UsesView, uses_view


async def latest_fixed_report(api: RuntimeClient, version: VersionDetailOut) -> TestReportOut | None:
    """The newest fixed-output report of a version: what gates it, and what the board reads."""
    # The version names its latest report (LatestFixedOut: no cases); the cases are read here.
    latest = (version.get("tests") or {}).get("latest_fixed") or None
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
