"""Tasks: approval tasks a running flow raised for me; approve or reject with a comment,
editing the payload where the node allows it. The state is `state.tasks.TasksState`."""

from __future__ import annotations

import reflex as rx

from studio.components.layout import empty_state, page_frame, page_title
from studio.state.base import t
from studio.state.tasks import TasksState

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
        # The task a link names (`?task=<id>`): ringed, and scrolled to (`state.tasks`).
        box_shadow=rx.cond(TasksState.linked == task_id, "0 0 0 2px var(--accent-9)", "none"),
        id="task-" + task_id,
        custom_attrs={"data-task": task_id, "data-linked": rx.cond(TasksState.linked == task_id, "true", "")},
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
            TasksState.link_gone,
            rx.callout(t("task_link_gone"), icon="info", color_scheme="gray", id="task-link-gone"),
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
