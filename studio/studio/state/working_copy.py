"""The editor's working copy: loading it, autosaving it, its history, cutting versions.

Every edit changes `doc` through `_changed` (which keeps the previous document for undo)
and counts up `edit_seq`. The canvas sees `autosave_key` change and, two seconds after
the last change, calls `autosave`: the document goes to the runtime's working copy
(`PUT /api/flows/{id}/draft` with the ETag this tab saw last). The runtime keeps it even
when it is invalid; a version is cut from it only on request ("Version erstellen", or
before a test, a test-case run or a submit), and only when it is valid.

If another tab (or person) saved the working copy in between, the runtime answers 412
`draft_changed`: the state shows the conflict and waits for a choice: reload theirs
(undo brings this tab's document back) or save this tab's document over it.

`unsaved` is what the browser guards (see `flow_canvas.jsx`): a change not yet stored,
a failed save or a conflict; leaving the page then asks first.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio import editing
from studio.api import ApiError
from studio.api_types import DraftOut
from studio.state.validation import Validation

AUTOSAVE_DELAY_MS = 2000
SAVE_STATES = ("saved", "pending", "conflict", "failed")


class WorkingCopy(Validation, mixin=True):
    flow_id: str = ""
    flow_name: str = ""
    flow_workspace: str = ""
    loaded: bool = False
    load_error: str = ""
    read_only: bool = True

    # The newest version of the flow.
    saved_number: int = 0
    saved_state: str = ""
    saved_hash: str = ""
    # The working copy as the runtime stores it.
    draft_etag: str = ""
    save_state: str = "saved"  # one of SAVE_STATES
    conflict_by: str = ""
    edit_seq: int = 0  # counts edits; `saved_seq` is the edit the runtime has
    saved_seq: int = 0
    cutting: bool = False
    # Bumps when the document changes from outside the forms (undo, redo, reload): the side
    # panel's uncontrolled inputs re-mount with the new values.
    form_epoch: int = 0
    undo_depth: int = 0
    redo_depth: int = 0
    _undo: list[dict[str, Any]] = []
    _redo: list[dict[str, Any]] = []

    # -- derived ---------------------------------------------------------------------------------
    @rx.var
    def dirty(self) -> bool:
        """The working copy differs from the newest version (or is invalid)."""
        return self.current_hash != self.saved_hash or not self.current_hash

    @rx.var
    def unsaved(self) -> bool:
        """Something here is not stored in the runtime yet: leaving would lose it."""
        return not self.read_only and (
            self.edit_seq != self.saved_seq or self.save_state in ("conflict", "failed")
        )

    @rx.var
    def save_display(self) -> str:
        """What the toolbar says: saved, pending (being saved soon), conflict or failed."""
        if self.save_state in ("conflict", "failed"):
            return self.save_state
        return "pending" if self.edit_seq != self.saved_seq else "saved"

    @rx.var
    def autosave_key(self) -> str:
        """Changes with every edit while one waits to be saved; "" when there is nothing to do."""
        waiting = self.edit_seq != self.saved_seq and self.save_state == "pending"
        return f"{self.flow_id}:{self.edit_seq}" if waiting and not self.read_only else ""

    @rx.var
    def cut_blocked_reason(self) -> str:
        """Why "Version erstellen" is off, in words; "" when it is on."""
        if self.read_only:
            return self.tr("cut_why_read_only")
        if self.validation:
            return self.tr("cut_why_invalid")
        if not self.dirty:
            return self.tr("cut_why_unchanged", n=self.saved_number)
        return ""

    # -- loading ---------------------------------------------------------------------------------
    async def _load_working_copy(self, flow_id: str) -> None:
        """The flow, its newest version and (for editors) its working copy. Raises `ApiError`."""
        api = self.api()
        same = flow_id == self.flow_id and not self.read_only
        if same and self.edit_seq != self.saved_seq and self.save_state in ("pending", "failed"):
            await self._flush()  # a reload before the autosave: keep the edit
        if same and self.save_state == "conflict":
            # The reload shows what is stored; undo brings this tab's document back.
            self._undo = editing.pushed(self._undo, self.doc)
        if flow_id != self.flow_id:
            self._undo, self._redo = [], []
        self.save_state, self.conflict_by = "saved", ""
        self.flow_id = flow_id
        flow = await api.flow(flow_id)
        latest = flow.get("latest_version") or {}
        self.flow_name = flow.get("name", "")
        self.flow_workspace = flow.get("workspace", "")
        self.read_only = "edit" not in (flow.get("allowed_actions") or [])
        self.saved_number = int(latest.get("number") or 0)
        self.saved_state = str(latest.get("state") or "")
        self.saved_hash = str(latest.get("content_hash") or "")
        if self.read_only:
            self.doc = latest.get("document") or {}
            self.draft_etag = ""
            await self._validate()
        else:
            self._take_draft(await api.draft(flow_id))
        self.saved_seq = self.edit_seq
        self.form_epoch += 1
        self._history_depths()

    def _take_draft(self, draft: DraftOut) -> None:
        document = draft.get("document")
        self.doc = document if isinstance(document, dict) else {}
        report = draft.get("validation") or {}
        self.validation = list(report.get("errors") or [])
        self.current_hash = str(report.get("content_hash") or "")
        self.draft_etag = str(draft.get("etag") or "")
        self._after_change()

    # -- editing ---------------------------------------------------------------------------------
    def _after_change(self) -> None:
        """Hook for the editor: what else follows a new document (the selection)."""

    def _history_depths(self) -> None:
        self.undo_depth, self.redo_depth = len(self._undo), len(self._redo)

    async def _changed(self, document: dict[str, Any], *, record: bool = True, validate: bool = True) -> None:
        """`document` is the new working copy: kept for undo, validated, saved soon."""
        if record:
            self._undo = editing.pushed(self._undo, self.doc)
            self._redo = []
        self.doc = document
        self._history_depths()
        self._after_change()
        if validate:
            await self._validate()
        self.edit_seq += 1
        if self.save_state != "conflict":
            self.save_state = "pending"

    @rx.event
    async def undo(self) -> None:
        if self.read_only or not self._undo:
            return
        previous = self._undo[-1]
        self._undo = self._undo[:-1]
        self._redo = editing.pushed(self._redo, self.doc)
        self.form_epoch += 1
        await self._changed(previous, record=False)

    @rx.event
    async def redo(self) -> None:
        if self.read_only or not self._redo:
            return
        following = self._redo[-1]
        self._redo = self._redo[:-1]
        self._undo = editing.pushed(self._undo, self.doc)
        self.form_epoch += 1
        await self._changed(following, record=False)

    # -- saving the working copy -----------------------------------------------------------------
    async def _flush(self, etag: str | None = None) -> list[Any]:
        """Store `doc` as the working copy; the events to answer with when that failed."""
        seq = self.edit_seq
        try:
            answer = await self.api().write_draft(self.flow_id, self.doc, etag or self.draft_etag)
        except ApiError as exc:
            if exc.code == "draft_changed":
                self.save_state = "conflict"
                self.conflict_by = str(exc.body.get("updated_by") or "")
                return []
            self.save_state = "failed"
            return self.on_error(exc)
        self.draft_etag = str(answer.get("etag") or "")
        self.saved_seq = seq
        self.save_state = "saved" if self.edit_seq == seq else "pending"
        return []

    @rx.event
    async def autosave(self, _trigger: Any = None) -> Any:
        """The canvas's timer fired two seconds after the last edit."""
        if self.read_only or self.edit_seq == self.saved_seq or self.save_state != "pending":
            return None
        return await self._flush()

    @rx.event
    async def retry_save(self) -> Any:
        if self.read_only or self.save_state != "failed":
            return None
        return await self._flush()

    @rx.event
    async def keep_mine(self) -> Any:
        """After a conflict: this tab's document over whatever is stored now."""
        if self.read_only:
            return None
        try:
            current = await self.api().draft(self.flow_id)
        except ApiError as exc:
            return self.on_error(exc)
        self.save_state, self.conflict_by = "pending", ""
        return await self._flush(str(current.get("etag") or "*"))

    @rx.event
    async def take_theirs(self) -> Any:
        """After a conflict: load what is stored now; undo brings this tab's document back."""
        try:
            current = await self.api().draft(self.flow_id)
        except ApiError as exc:
            return self.on_error(exc)
        self._undo = editing.pushed(self._undo, self.doc)
        self._redo = []
        self._take_draft(current)
        self.saved_seq = self.edit_seq
        self.save_state, self.conflict_by = "saved", ""
        self.form_epoch += 1
        self._history_depths()
        return rx.toast.info(self.tr("wc_reloaded"))

    # -- cutting a version -------------------------------------------------------------------------
    async def _cut_version(self) -> list[Any]:
        """Save what is pending, then cut a version from the working copy; the events to
        answer with. Afterwards `dirty` is False unless that failed."""
        if self.read_only:
            return []
        if self.edit_seq != self.saved_seq or self.save_state == "failed":
            failed = await self._flush()
            if self.save_state != "saved":
                return failed or [rx.toast.error(self.tr("wc_conflict"))]
        if self.validation:
            return [rx.toast.warning(self.tr("cut_why_invalid"))]
        try:
            version = await self.api().cut_version(self.flow_id, self.draft_etag or None)
        except ApiError as exc:
            if exc.errors:
                self.validation = exc.errors
            if exc.code == "draft_changed":
                self.save_state = "conflict"
                self.conflict_by = str(exc.body.get("updated_by") or "")
            return self.on_error(exc)
        self.saved_number = int(version.get("number") or 0)
        self.saved_state = str(version.get("state") or "")
        self.saved_hash = str(version.get("content_hash") or "")
        key = "cut_done" if version.get("created") else "cut_unchanged"
        return [rx.toast.success(self.tr(key, n=self.saved_number))]

    @rx.event
    async def cut_version(self) -> Any:
        if self.read_only or self.cutting:
            return
        self.cutting = True
        yield
        answer = await self._cut_version()
        self.cutting = False
        yield answer
