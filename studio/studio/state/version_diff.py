"""`DiffViewer`: a version diff in a page's state (the review and the versions page).

The state keeps what the runtime answered (the diff, both documents, the node types) and
computes the view from it in the person's language, so switching the language redraws the
diff at once without asking the runtime again. Clicking a node on the diff's canvas
scrolls to the card of its changes.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.api import ApiError
from studio.state.base import AppState
from studio.version_diff import DiffView, build_diff_view


def change_anchor(node_id: str) -> str:
    """The element id of a block's change card (node ids are safe in ids: `[A-Za-z_]\\w*`)."""
    return f"change-{node_id}"


class DiffViewer(AppState, mixin=True):
    # What the runtime answered: {"diff": ..., "new": document, "old": document or None}.
    _diff_answer: dict[str, Any] = {}
    _node_types: dict[str, dict[str, Any]] = {}
    diff_error: str = ""

    @rx.var
    def diff_view(self) -> DiffView:
        answer = self._diff_answer
        if not answer:
            return DiffView()
        return build_diff_view(answer["diff"], answer["new"], answer.get("old"), self._node_types, self.lang)

    def clear_diff(self) -> None:
        self._diff_answer = {}
        self.diff_error = ""

    async def load_diff(
        self, flow_id: str, number: int, against: str | int = "live", document: dict[str, Any] | None = None
    ) -> None:
        """Version `number` against `against` (a number or "live"); `document` is version
        `number`'s document when the caller has it already."""
        api = self.api()
        try:
            if not self._node_types:
                self._node_types = {str(item["type"]): item for item in await api.node_types()}
            diff = await api.diff(flow_id, number, against)
            if document is None:
                document = (await api.version(flow_id, number)).get("document") or {}
            old = None
            if diff.get("from") is not None:
                old = (await api.version(flow_id, int(diff["from"]))).get("document") or {}
        except ApiError as exc:
            self._diff_answer = {}
            self.diff_error = self.error_text(exc)
            return
        self.diff_error = ""
        self._diff_answer = {"diff": diff, "new": document, "old": old}

    @rx.event
    def open_change(self, clicked: dict[str, Any]) -> Any:
        """A node on the diff's canvas was clicked: show its changes (unchanged nodes have none)."""
        node = str(clicked.get("node") or "")
        if any(view.id == node for view in self.diff_view.nodes):
            return rx.scroll_to(change_anchor(node))
        return None
