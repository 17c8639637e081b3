"""Tasks: approval tasks a running flow raised for me; approve or reject with a comment,
editing the payload where the node allows it.

Each card is keyed by its task's id and its text areas are controlled by per-task state
(`edits[task_id]`, `comments[task_id]`): when a decided task leaves the list, the cards
below move up with their own text, never the text of the card that was there before.
(Uncontrolled text areas, keyed by position, once showed — and sent — the previous
card's edited letter for the next task.)"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from studio.components.layout import empty_state, page_frame, page_title
from studio.state.base import AppState, t


def payload_text(payload: Any) -> str:
    if payload is None:
        return ""
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, indent=2)


def payload_value(original: Any, text: str) -> Any:
    """The edited text back in the payload's shape (JSON stays JSON when it parses)."""
    if isinstance(original, str) or original is None:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


class TasksState(AppState):
    tasks: list[dict[str, str]] = []
    originals: dict[str, Any] = {}
    # The text in each card, by task id: the payload as shown (and edited), the comment.
    edits: dict[str, str] = {}
    comments: dict[str, str] = {}
    loading: bool = False
    deciding: str = ""

    @rx.event
    async def load(self) -> Any:
        if not self.token:
            return
        self.loading = True
        yield
        async with self._runtime_call("loading") as call:
            found = await self.api().tasks("open")
        if call.failed:
            yield call.events
            return
        self.tasks = [
            {
                "id": task["id"],
                "title": str(task.get("title") or ""),
                "flow": str((task.get("flow") or {}).get("name") or ""),
                "instructions": str(task.get("instructions") or ""),
                "payload": payload_text(task.get("payload")),
                "editable": "true" if task.get("editable") else "",
                "can_decide": "true" if task.get("can_decide") else "",
                # "Was this already sent?" after an interrupted call: yes/no instead of approve/reject
                "uncertain": "true" if task.get("question") == "side_effect_uncertain" else "",
                "approvals": f"{len(task.get('approvals') or [])}/{task.get('quorum') or 1}",
                "due": str(task.get("due_at") or "")[:16].replace("T", " "),
                "created": str(task.get("created_at") or "")[:16].replace("T", " "),
            }
            for task in found
        ]
        self.originals = {task["id"]: task.get("payload") for task in found}
        # What someone typed into a card that is still open stays; everything else starts
        # from the task's own payload. Decided tasks' texts are dropped.
        self.edits = {task["id"]: self.edits.get(task["id"], task["payload"]) for task in self.tasks}
        self.comments = {task["id"]: self.comments.get(task["id"], "") for task in self.tasks}

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
        yield TasksState.load


# The flow's and the task's own words (title, instructions, the drafted text): not the studio's.
USER_CONTENT = {"data-user-content": "true"}


def _task(task: rx.Var) -> rx.Component:
    task_id = task["id"]
    editable = (task["editable"] == "true") & (task["can_decide"] == "true")
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(task["title"], size="4", custom_attrs=USER_CONTENT),
                rx.spacer(),
                rx.badge(task["approvals"], variant="outline"),
                width="100%",
            ),
            rx.text(
                t("task_from"),
                ": ",
                rx.el.span(task["flow"], custom_attrs=USER_CONTENT),
                " · ",
                task["created"],
                size="1",
                color=rx.color("gray", 10),
            ),
            rx.cond(
                task["instructions"] != "",
                rx.callout(task["instructions"], icon="info", size="1", custom_attrs=USER_CONTENT),
            ),
            rx.text(t("task_payload"), size="2", weight="medium"),
            rx.cond(
                editable,
                rx.vstack(
                    rx.text_area(
                        custom_attrs=USER_CONTENT,
                        value=TasksState.edits.get(task_id, task["payload"]),
                        on_change=lambda value: TasksState.set_edited(task_id, value),
                        rows="6",
                        width="100%",
                        class_name="task-payload",
                    ),
                    rx.text(t("task_payload_editable"), size="1", color=rx.color("gray", 10)),
                    width="100%",
                    spacing="1",
                ),
                rx.box(
                    rx.text(task["payload"], white_space="pre-wrap", size="2", custom_attrs=USER_CONTENT),
                    padding="10px",
                    background=rx.color("gray", 3),
                    border_radius="8px",
                    width="100%",
                ),
            ),
            rx.cond(
                task["can_decide"] == "true",
                rx.vstack(
                    rx.text_area(
                        value=TasksState.comments.get(task_id, ""),
                        on_change=lambda value: TasksState.set_comment(task_id, value),
                        placeholder=t("review_comment"),
                        rows="2",
                        width="100%",
                        class_name="task-comment",
                    ),
                    rx.hstack(
                        rx.button(
                            rx.icon("x", size=14),
                            rx.cond(task["uncertain"] == "true", t("task_uncertain_no"), t("reject")),
                            color_scheme="red",
                            variant="soft",
                            loading=TasksState.deciding == "reject:" + task_id,
                            on_click=TasksState.decide(task_id, "reject"),
                            class_name="task-reject",
                        ),
                        rx.button(
                            rx.icon("check", size=14),
                            rx.cond(task["uncertain"] == "true", t("task_uncertain_yes"), t("approve")),
                            color_scheme="green",
                            loading=TasksState.deciding == "approve:" + task_id,
                            on_click=TasksState.decide(task_id, "approve"),
                            class_name="task-approve",
                        ),
                        justify="end",
                        width="100%",
                    ),
                    width="100%",
                    spacing="2",
                ),
                rx.callout(t("cannot_decide"), icon="lock", color_scheme="gray", size="1"),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="task-card",
        custom_attrs={"data-task": task_id},
        key=task_id,
    )


def tasks_page() -> rx.Component:
    return page_frame(
        page_title(
            "tasks_title",
            "tasks_subtitle",
            rx.button(rx.icon("refresh-cw", size=14), t("reload"), variant="soft", on_click=TasksState.load),
        ),
        rx.cond(
            TasksState.tasks.length() == 0,
            rx.cond(
                TasksState.loading,
                rx.center(rx.spinner(size="3"), padding="40px"),
                empty_state("list-checks", "tasks_empty"),
            ),
            rx.vstack(rx.foreach(TasksState.tasks, _task), spacing="3", width="100%", max_width="900px"),
        ),
    )
