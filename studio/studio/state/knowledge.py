"""The knowledge page's state: indexes of the workspace, one index's documents, an upload
with its ingestion job polled until it ends, and a search to try queries."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import reflex as rx

from studio.api import ApiError, RuntimeClient
from studio.api_types import JobOut
from studio.i18n import translate
from studio.knowledge_view import (
    JOB_ACTIVE,
    document_row,
    documents_with_uploads,
    file_rows,
    hit_row,
    index_row,
    job_progress,
    job_summary,
    parse_labels,
)
from studio.state.base import AppState

UPLOAD_ID = "knowledge-upload"
JOB_POLL_S = 0.7
JOB_POLL_MAX_S = 30 * 60


class KnowledgeState(AppState):
    indexes: list[dict[str, str]] = []
    loading: bool = False
    current: str = ""
    can_manage: bool = False
    # What the runtime answered; `documents`, `job_text` and `job_files` say it in the
    # person's language (they follow the language switch).
    _documents: list[dict[str, Any]] = []
    _job: dict[str, Any] = {}
    _job_sending: bool = False
    documents_loading: bool = False

    create_open: bool = False
    creating: bool = False
    # What the delete dialog would delete: ("index", id) or ("document", id).
    confirm_kind: str = ""
    confirm_id: str = ""
    confirm_name: str = ""
    deleting: bool = False

    upload_labels: str = ""
    sending: bool = False
    job_id: str = ""
    job_status: str = ""
    job_percent: int = 0

    query: str = ""
    hits: list[dict[str, str]] = []
    searching: bool = False
    searched: bool = False

    # -- derived ---------------------------------------------------------------------------
    @rx.var
    def current_index(self) -> dict[str, str]:
        empty = {"id": "", "name": "", "description": "", "labels": "", "backend": ""}
        return next((row for row in self.indexes if row["id"] == self.current), empty)

    @rx.var
    def documents(self) -> list[dict[str, str]]:
        return [document_row(document, self.lang) for document in self._documents]

    @rx.var
    def job_text(self) -> str:
        if self._job:
            return job_summary(self._job, self.lang)
        return translate("upload_sending", self.lang) if self._job_sending else ""

    @rx.var
    def job_files(self) -> list[dict[str, str]]:
        return file_rows(self._job, self.lang) if self._job else []

    @rx.var
    def document_rows(self) -> list[dict[str, str]]:
        return documents_with_uploads(self.documents, self.job_files, self.lang)

    @rx.var
    def label_preview(self) -> list[str]:
        return parse_labels(self.upload_labels)

    @rx.var
    def job_running(self) -> bool:
        return self.sending or self.job_status in JOB_ACTIVE

    # -- loading ---------------------------------------------------------------------------
    @rx.event
    async def load(self) -> Any:
        if not self.token or not self.workspace:
            return
        self.loading = True
        yield
        async with self._runtime_call("loading") as call:
            self.indexes = [index_row(index) for index in await self.api().knowledge_indexes(self.workspace)]
        if call.failed:
            yield call.events
            return
        if self.current not in {row["id"] for row in self.indexes}:
            self.current = self.indexes[0]["id"] if self.indexes else ""
            self._forget_index_view()
        if self.current:
            yield KnowledgeState.load_documents

    def _forget_index_view(self) -> None:
        self._documents, self.hits, self.searched, self.query = [], [], False, ""
        self.job_id, self.job_status, self._job, self._job_sending, self.job_percent = "", "", {}, False, 0

    @rx.event
    async def load_documents(self) -> Any:
        if not self.current:
            return
        self.documents_loading = True
        yield
        api = self.api()
        async with self._runtime_call("documents_loading") as call:
            described = await api.knowledge_index(self.current)
            self._documents = list(await api.documents(self.current))
            self.can_manage = "manage" in (described.get("allowed_actions") or [])
        yield call.events

    @rx.event
    def choose(self, index_id: str) -> Any:
        if index_id != self.current:
            self.current = index_id
            self._forget_index_view()
            return KnowledgeState.load_documents
        return None

    # -- creating and deleting ---------------------------------------------------------------
    @rx.event
    def set_create_open(self, value: bool) -> None:
        self.create_open = value

    @rx.event
    async def create_index(self, form: dict[str, Any]) -> Any:
        name = str(form.get("name") or "").strip()
        if not name:
            yield rx.toast.warning(self.tr("index_name_missing"))
            return
        self.creating = True
        yield
        async with self._runtime_call("creating") as call:
            created = await self.api().create_index(
                self.workspace,
                name,
                str(form.get("description") or "").strip(),
                parse_labels(str(form.get("labels") or "")),
            )
        if call.failed:
            yield call.events
            return
        self.create_open = False
        self.current = str(created["id"])
        self._forget_index_view()
        yield rx.toast.success(self.tr("index_created", name=name))
        yield KnowledgeState.load

    @rx.event
    def ask_delete(self, kind: str, item_id: str, name: str) -> None:
        self.confirm_kind, self.confirm_id, self.confirm_name = kind, item_id, name

    @rx.event
    def set_confirm_open(self, value: bool) -> None:
        if not value:
            self.confirm_kind = ""

    @rx.event
    async def confirm_delete(self) -> Any:
        kind, item_id, name = self.confirm_kind, self.confirm_id, self.confirm_name
        self.deleting = True
        yield
        async with self._runtime_call("deleting") as call:
            if kind == "index":
                await self.api().delete_index(item_id)
            else:
                await self.api().delete_document(self.current, item_id)
        if call.failed:
            yield call.events
            return
        self.confirm_kind = ""
        if kind == "index":
            self.current = ""
            yield rx.toast.success(self.tr("index_deleted", name=name))
            yield KnowledgeState.load
        else:
            yield rx.toast.success(self.tr("document_deleted", name=name))
            yield KnowledgeState.load_documents

    # -- uploading -------------------------------------------------------------------------
    @rx.event
    def set_upload_labels(self, value: str) -> None:
        self.upload_labels = value

    @rx.event
    async def upload(self, files: list[rx.UploadFile]) -> Any:
        if not files:
            yield rx.toast.warning(self.tr("upload_choose_files"))
            return
        self.sending = True
        self.job_id, self.job_status, self._job, self.job_percent = "", "queued", {}, 0
        self._job_sending = True
        yield
        contents = [(str(file.name or "upload"), await file.read()) for file in files]
        async with self._runtime_call("sending") as call:
            job = await self.api().upload_documents(self.current, contents, parse_labels(self.upload_labels))
        if call.failed:
            self.job_status, self._job_sending = "", False
            yield call.events
            return
        self._show_job(job)
        yield rx.clear_selected_files(UPLOAD_ID)
        yield KnowledgeState.watch_job

    def _show_job(self, job: JobOut) -> None:
        self.job_id = str(job.get("id") or "")
        self.job_status = str(job.get("status") or "")
        self.job_percent = job_progress(job)
        self._job, self._job_sending = job, False

    @rx.event(background=True)
    async def watch_job(self) -> Any:
        """Follow the ingestion job until it ends; then the documents and a toast."""
        async with self:
            client, job_id = RuntimeClient(self.token), self.job_id
        started = time.monotonic()
        while job_id and time.monotonic() - started < JOB_POLL_MAX_S:
            await asyncio.sleep(JOB_POLL_S)
            try:
                job = await client.ingestion_job(job_id)
            except ApiError as exc:
                async with self:
                    events = self.on_error(exc)
                yield events
                return
            async with self:
                if self.job_id != job_id:
                    return  # another index or upload since
                self._show_job(job)
                if self.job_status in JOB_ACTIVE:
                    continue
                failed = int(job.get("files_failed") or 0)
                text = self.job_text
            if failed:
                yield rx.toast.warning(text, duration=8000)
            else:
                yield rx.toast.success(text)
            yield KnowledgeState.load_documents
            return

    @rx.event
    def dismiss_job(self) -> None:
        if self.job_status not in JOB_ACTIVE:
            self.job_id, self.job_status, self._job, self._job_sending = "", "", {}, False

    # -- searching -------------------------------------------------------------------------
    @rx.event
    async def search(self, form: dict[str, Any]) -> Any:
        query = str(form.get("query") or "").strip()
        if not query or not self.current:
            return
        self.query, self.searching = query, True
        yield
        try:
            k = int(form.get("k") or 5)
        except ValueError:
            k = 5
        async with self._runtime_call("searching") as call:
            answer = await self.api().search_index(self.current, query, k)
            self.hits = [hit_row(hit) for hit in answer.get("results") or []]
            self.searched = True
        yield call.events
