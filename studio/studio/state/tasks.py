"""The tasks page's state: approval tasks a running flow raised for me, and my decisions.

Each card's text areas are controlled by per-task state (`edits[task_id]`,
`comments[task_id]`): when a decided task leaves the list, the cards below move up with
their own text, never the text of the card that was there before. (Uncontrolled text
areas, keyed by position, once showed — and sent — the previous card's edited letter for
the next task.)

`/tasks?task=<id>` (the link of a notification or a mail) highlights that task's card and
scrolls to it; a task no longer open gets a notice instead.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.api_types import TaskListItemOut
from studio.state.base import AppState
from studio.tasks_view import linked_task, payload_value, scroll_script, task_card


class TasksState(AppState):
    tasks: list[dict[str, str]] = []
    originals: dict[str, Any] = {}
    # The text in each card, by task id: the payload as shown (and edited), the comment.
    edits: dict[str, str] = {}
    comments: dict[str, str] = {}
    loading: bool = False
    deciding: str = ""
    linked: str = ""  # the task `?task=` names, when it is open here: its card is highlighted
    link_gone: bool = False  # `?task=` names a task that is not (or no longer) open for me

    def _show(self, found: list[TaskListItemOut]) -> None:
        self.tasks = [task_card(task) for task in found]
        self.originals = {task["id"]: task.get("payload") for task in found}
        # What someone typed into a card that is still open stays; everything else starts
        # from the task's own payload. Decided tasks' texts are dropped.
        self.edits = {task["id"]: self.edits.get(task["id"], task["payload"]) for task in self.tasks}
        self.comments = {task["id"]: self.comments.get(task["id"], "") for task in self.tasks}

    @rx.event
    async def load(self) -> Any:
        """The page's load and the reload button: the open tasks, and the card the link names."""
        if not self.token:
            return
        self.loading = True
        yield
        async with self._runtime_call("loading") as call:
            self._show(await self.api().tasks("open"))
            wanted = str(self.router.url.query_parameters.get("task") or "")
            self.linked, self.link_gone = linked_task(wanted, [task["id"] for task in self.tasks])
        if call.failed:
            yield call.events
        elif self.linked:
            yield rx.call_script(scroll_script(self.linked))

    @rx.event
    async def refresh(self) -> Any:
        """After a decision: the list again (the link's card, decided now, simply leaves it)."""
        async with self._runtime_call() as call:
            self._show(await self.api().tasks("open"))
        yield call.events

    @rx.event
    def set_edited(self, task_id: str, value: str) -> None:
        if task_id in self.originals:
            self.edits = {**self.edits, task_id: value}

    @rx.event
    def set_comment(self, task_id: str, value: str) -> None:
        if task_id in self.originals:
            self.comments = {**self.comments, task_id: value}

    @rx.event
    async def decide(self, task_id: str, decision: str) -> Any:
        self.deciding = f"{decision}:{task_id}"
        yield
        task = next((item for item in self.tasks if item["id"] == task_id), {})
        payload = None
        edited = self.edits.get(task_id)
        if task.get("editable") and edited is not None and edited != task.get("payload"):
            payload = payload_value(self.originals.get(task_id), edited)
        async with self._runtime_call("deciding") as call:
            answer = await self.api().decide(task_id, decision, self.comments.get(task_id, ""), payload)
        if call.failed:
            yield call.events
            return
        self.edits = {key: value for key, value in self.edits.items() if key != task_id}
        self.comments = {key: value for key, value in self.comments.items() if key != task_id}
        status = self.tr(f"run_status_{answer.get('run_status')}") if answer.get("run_status") else "-"
        yield rx.toast.success(self.tr("task_decided", status=status))
        yield TasksState.refresh
