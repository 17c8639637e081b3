"""Assistants (end users): the assistants published to me, and a chat with them.

What a person reads is what the board approved: the declared outputs of the version that
ran. While a run goes on, the LLM's streamed tokens show as a preview (plain text, marked
as such); when the run ends, the bubble is replaced by the run's outputs, rendered by type
(`chat_view.outputs_markdown`: text as Markdown, objects as lists and tables, never JSON)
through `safe_markdown` (no raw HTML, no remote images).

The first required text input takes the chat message; the assistant's other inputs show
as a form with their titles, hints and defaults, a widget by type. Under each answer: its
sources, grouped by document, each passage opening in a dialog (the runtime checks again
that the reader may see it). A run that waits for an approval shows a notice and is
polled until it ends.
"""

from __future__ import annotations

import reflex as rx

from studio.components.feedback import feedback_bar
from studio.components.layout import empty_state, page_frame, page_title
from studio.components.safe_markdown import safe_markdown
from studio.state.assistants import AssistantsState
from studio.state.base import t

ENDED = rx.Var.create(["succeeded", "failed"])  # answers that can be rated


# -- rendering ------------------------------------------------------------------------------------
def _passage_item(item: rx.Var, document_id: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.hstack(
                rx.cond(
                    item.where != "",
                    rx.text(item.where, size="1", weight="medium", custom_attrs=USER_CONTENT),
                ),
                rx.badge(t("score"), " ", item.score, size="1", variant="outline"),
                spacing="2",
                align="center",
            ),
            rx.text(
                "„",
                item.text,
                "“",
                size="1",
                color=rx.color("gray", 11),
                class_name="passage-text",
                custom_attrs=USER_CONTENT,
            ),
            spacing="1",
            flex="1",
            min_width="0",
        ),
        rx.button(
            rx.icon("book-open", size=12),
            t("open_passage"),
            size="1",
            variant="ghost",
            on_click=AssistantsState.open_passage(document_id, item.chunk_id),
            class_name="open-passage",
        ),
        align="start",
        width="100%",
        class_name="source-passage",
        custom_attrs={"data-chunk": item.chunk_id},
        key=item.chunk_id,
    )


def _source_group(group: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon("file-text", size=12),
            rx.text(
                group.source, size="1", weight="bold", class_name="source-name", custom_attrs=USER_CONTENT
            ),
            rx.text("(", group.count, ")", size="1", color=rx.color("gray", 10), class_name="source-count"),
            align="center",
            spacing="1",
        ),
        rx.foreach(group.passages, lambda item: _passage_item(item, group.document_id)),
        spacing="1",
        width="100%",
        padding_left="4px",
        class_name="source-item",
        custom_attrs={"data-document": group.document_id, "data-source": group.source},
        key=group.document_id + group.source,
    )


# What people wrote (questions, the flow's names) and what the model answered: not the
# studio's words, so the language check (tests/studio/test_language_journeys.py) skips it.
USER_CONTENT = {"data-user-content": "true"}


def _message(message: rx.Var) -> rx.Component:
    is_user = message["role"] == "user"
    message_id = message["id"].to(str)
    bubble = rx.box(
        rx.cond(
            is_user,
            rx.text(message["text"], white_space="pre-wrap", custom_attrs=USER_CONTENT),
            rx.cond(
                message["kind"] == "final",
                rx.cond(
                    message["text"] != "",
                    rx.box(safe_markdown(message["text"], class_name="answer"), custom_attrs=USER_CONTENT),
                ),
                rx.cond(
                    message["text"] != "",
                    # The LLM's tokens as they come: plain text, marked as a preview; an error
                    # is the studio's sentence.
                    rx.vstack(
                        rx.cond(
                            message["kind"] == "error",
                            rx.text(message["text"], white_space="pre-wrap", color=rx.color("gray", 11)),
                            rx.text(
                                message["text"],
                                white_space="pre-wrap",
                                color=rx.color("gray", 11),
                                custom_attrs=USER_CONTENT,
                            ),
                        ),
                        rx.cond(
                            message["kind"] == "preview",
                            rx.text(t("answer_preview"), size="1", color=rx.color("gray", 9)),
                        ),
                        spacing="1",
                        class_name="answer-preview",
                    ),
                    rx.cond(message["status"] == "running", rx.spinner(size="2")),
                ),
            ),
        ),
        rx.cond(
            message["status"] == "waiting",
            rx.callout(
                t("waiting_notice"),
                icon="hourglass",
                color_scheme="amber",
                size="1",
                class_name="waiting-notice",
            ),
        ),
        rx.cond(message["status"] == "failed", rx.badge(t("run_status_failed"), color_scheme="red")),
        rx.cond(
            AssistantsState.sources.contains(message_id),
            rx.vstack(
                rx.text(t("sources"), size="1", weight="bold", color=rx.color("gray", 10)),
                rx.foreach(AssistantsState.sources[message_id], _source_group),
                spacing="2",
                margin_top="8px",
                width="100%",
                class_name="sources",
            ),
        ),
        rx.cond(
            (~is_user) & (message["run_id"] != "") & ENDED.contains(message["status"]),
            feedback_bar(message["run_id"]),
        ),
        padding="10px 14px",
        border_radius="12px",
        max_width="75%",
        background=rx.cond(is_user, rx.color("accent", 4), rx.color("gray", 3)),
        class_name=rx.cond(is_user, "chat-user", "chat-assistant"),
        custom_attrs={"data-status": message["status"], "data-kind": message["kind"]},
    )
    return rx.hstack(bubble, justify=rx.cond(is_user, "end", "start"), width="100%", key=message_id)


def _field_control(field: rx.Var) -> rx.Component:
    name = field.name
    value = AssistantsState.values.get(name, "")
    field_id = "chat-input-" + name
    return rx.match(
        field.widget,
        (
            "select",
            rx.select.root(
                rx.select.trigger(placeholder=t("choose_value"), id=field_id, width="100%"),
                rx.select.content(
                    rx.foreach(field.choices, lambda choice: rx.select.item(choice, value=choice))
                ),
                value=value,
                on_change=lambda chosen: AssistantsState.set_value(name, chosen),
                size="1",
            ),
        ),
        (
            "switch",
            rx.switch(
                checked=value == "true",
                on_change=lambda checked: AssistantsState.set_switch(name, checked),
                id=field_id,
                size="1",
            ),
        ),
        (
            "number",
            rx.input(
                type="number",
                step="any",
                value=value,
                on_change=lambda typed: AssistantsState.set_value(name, typed),
                id=field_id,
                size="1",
                width="100%",
            ),
        ),
        (
            "json",
            rx.text_area(
                value=value,
                on_change=lambda typed: AssistantsState.set_value(name, typed),
                placeholder=t("input_json_hint"),
                id=field_id,
                rows="3",
                font_family="monospace",
                size="1",
                width="100%",
            ),
        ),
        # Text: one line that grows with what is typed (long text stays readable).
        rx.text_area(
            value=value,
            on_change=lambda typed: AssistantsState.set_value(name, typed),
            id=field_id,
            rows="1",
            size="1",
            width="100%",
            style={"field-sizing": "content", "max-height": "12em"},
        ),
    )


def _field(field: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(field.label, size="1", weight="medium", class_name="field-label"),
            rx.cond(
                field.required,
                rx.text(
                    "*", size="1", color=rx.color("red", 10), title=t("required_mark"), class_name="required"
                ),
            ),
            spacing="1",
            align="center",
        ),
        _field_control(field),
        rx.cond(
            field.hint != "",
            rx.text(field.hint, size="1", color=rx.color("gray", 10), class_name="field-hint"),
        ),
        spacing="1",
        min_width="200px",
        flex="1",
        class_name="chat-field",
        custom_attrs={"data-name": field.name, "data-widget": field.widget},
        key=AssistantsState.current + ":" + field.name,
    )


def _passage_dialog() -> rx.Component:
    passage = AssistantsState.passage
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(t("passage_title"), ": ", passage.get("source", "")),
            rx.cond(
                passage.get("where", "") != "",
                rx.text(passage.get("where", ""), size="2", color=rx.color("gray", 10)),
            ),
            rx.box(
                rx.text(passage.get("text", ""), white_space="pre-wrap", size="2"),
                padding="12px",
                margin_y="12px",
                background=rx.color("gray", 2),
                border_radius="8px",
                max_height="60vh",
                overflow_y="auto",
                id="passage-text",
            ),
            rx.hstack(
                rx.dialog.close(rx.button(t("close"), variant="soft", id="passage-close")),
                justify="end",
            ),
            id="passage-dialog",
            max_width="720px",
        ),
        open=AssistantsState.passage_open,
        on_open_change=AssistantsState.set_passage_open,
    )


def _chat() -> rx.Component:
    return rx.vstack(
        rx.heading(AssistantsState.current_name, size="5"),
        rx.box(
            rx.cond(
                AssistantsState.messages.length() == 0,
                rx.text(t("your_message"), color=rx.color("gray", 9), size="2"),
                rx.vstack(rx.foreach(AssistantsState.shown_messages, _message), spacing="3", width="100%"),
            ),
            flex="1",
            width="100%",
            overflow_y="auto",
            padding="12px",
            border=f"1px solid {rx.color('gray', 5)}",
            border_radius="12px",
            background="white",
            min_height="320px",
            max_height="calc(100vh - 360px)",
            id="chat-log",
        ),
        rx.cond(
            AssistantsState.fields.length() > 0,
            rx.vstack(
                rx.text(t("more_inputs"), size="1", weight="bold", color=rx.color("gray", 10)),
                rx.flex(rx.foreach(AssistantsState.fields, _field), gap="12px", wrap="wrap", width="100%"),
                spacing="1",
                width="100%",
                id="chat-fields",
            ),
        ),
        rx.form(
            rx.hstack(
                # Uncontrolled: the message comes with the form's data, so Enter right after
                # typing never sends an older text (controlled inputs update with a debounce).
                rx.input(
                    name="message",
                    width="100%",
                    size="3",
                    placeholder=rx.cond(
                        AssistantsState.main_hint != "", AssistantsState.main_hint, t("your_message")
                    ),
                    id="chat-input",
                    disabled=AssistantsState.busy | (AssistantsState.main_name == ""),
                ),
                rx.button(
                    rx.icon("send", size=16),
                    t("ask"),
                    type="submit",
                    size="3",
                    loading=AssistantsState.busy,
                    id="chat-send",
                ),
                width="100%",
            ),
            on_submit=AssistantsState.send,
            reset_on_submit=True,
            width="100%",
        ),
        _passage_dialog(),
        spacing="3",
        width="100%",
        height="100%",
    )


def assistants_page() -> rx.Component:
    item = lambda entry: rx.card(  # noqa: E731 - a render function for foreach
        rx.vstack(
            rx.text(entry["name"], weight="medium"),
            rx.text(entry["description"], size="1", color=rx.color("gray", 10), line_clamp=3),
            spacing="1",
            custom_attrs=USER_CONTENT,  # the flow's own name and purpose
        ),
        on_click=AssistantsState.choose(entry["slug"]),
        cursor="pointer",
        width="100%",
        class_name="assistant-item",
        custom_attrs={"data-slug": entry["slug"]},
        key=entry["slug"],
        border=rx.cond(
            AssistantsState.current == entry["slug"], f"2px solid {rx.color('accent', 8)}", "none"
        ),
    )
    return page_frame(
        page_title("assistants_title", "assistants_subtitle"),
        rx.cond(
            AssistantsState.assistants.length() == 0,
            rx.cond(
                AssistantsState.loading,
                rx.center(rx.spinner(size="3"), padding="40px"),
                empty_state("messages-square", "assistants_empty"),
            ),
            rx.hstack(
                rx.vstack(
                    rx.foreach(AssistantsState.assistants, item),
                    width="280px",
                    min_width="280px",
                    spacing="2",
                ),
                rx.box(_chat(), flex="1", min_width="0"),
                align="start",
                spacing="4",
                width="100%",
            ),
        ),
    )
