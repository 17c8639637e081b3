"""Assistants (end users): the assistants published to me, and a chat with streamed answers.

The first required text input of the assistant takes the chat message; its other inputs
show as "more details". Under each answer: the sources its knowledge search used (file,
page, score). A run that waits for an approval shows a notice and is polled until it ends.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import reflex as rx

from studio.api import ApiError, RuntimeClient
from studio.components.feedback import feedback_bar
from studio.components.layout import empty_state, page_frame, page_title
from studio.state.base import AppState, t

FLUSH_S = 0.12
ENDED = rx.Var.create(["succeeded", "failed"])  # answers that can be rated
WAIT_POLL_S = 2.0
WAIT_POLL_MAX_S = 15 * 60


def main_input(inputs: dict[str, Any]) -> str:
    """The input that takes the chat message: the first required string input, else the first."""
    for name, spec in inputs.items():
        if (spec or {}).get("type", "string") == "string" and (spec or {}).get("required"):
            return name
    return next(iter(inputs), "question")


PREFERRED_OUTPUTS = ("answer", "result", "text")


def answer_text(outputs: Any) -> str:
    """What the chat shows of a run's outputs: the one output, or `answer`/`result`/`text`."""
    if isinstance(outputs, dict):
        if len(outputs) == 1:
            return str(next(iter(outputs.values())))
        for name in PREFERRED_OUTPUTS:
            if name in outputs:
                return str(outputs[name])
        return "\n\n".join(f"**{key}**: {value}" for key, value in outputs.items())
    return "" if outputs is None else str(outputs)


def sources_of(run: dict[str, Any]) -> list[dict[str, str]]:
    found = []
    for step in run.get("steps") or []:
        if step.get("node_type") != "retrieval":
            continue
        for document in (step.get("outputs") or {}).get("documents") or []:
            found.append(
                {
                    "source": str(document.get("source") or ""),
                    "page": str(document.get("page") or ""),
                    "score": f"{float(document.get('score') or 0):.2f}",
                }
            )
    return found


class AssistantsState(AppState):
    assistants: list[dict[str, str]] = []
    inputs_of: dict[str, dict[str, Any]] = {}
    loading: bool = False
    current: str = ""
    # Each message: role (user|assistant), text, status, run_id; sources by message index.
    messages: list[dict[str, str]] = []
    sources: dict[str, list[dict[str, str]]] = {}
    extra: dict[str, str] = {}
    busy: bool = False

    @rx.var
    def current_name(self) -> str:
        return next((item["name"] for item in self.assistants if item["slug"] == self.current), "")

    @rx.var
    def main_hint(self) -> str:
        """The description of the input the chat message goes to (e.g. "Empfänger, z. B. ...")."""
        inputs = self.inputs_of.get(self.current, {})
        return str((inputs.get(main_input(inputs)) or {}).get("description") or "")

    @rx.var
    def extra_inputs(self) -> list[dict[str, str]]:
        inputs = self.inputs_of.get(self.current, {})
        main = main_input(inputs)
        return [
            {
                "name": name,
                "description": str((spec or {}).get("description") or ""),
                "value": self.extra.get(name, ""),
            }
            for name, spec in inputs.items()
            if name != main
        ]

    @rx.event
    async def load(self) -> Any:
        if not self.token:
            return
        self.loading = True
        yield
        try:
            found = await self.api().assistants()
        except ApiError as exc:
            self.loading = False
            yield self.on_error(exc)
            return
        self.assistants = [
            {
                "slug": item["slug"],
                "name": item["name"],
                "description": str(item.get("description") or ""),
                "version": str(item.get("version") or ""),
                "workspace": str(item.get("workspace")),
            }
            for item in found
        ]
        self.inputs_of = {item["slug"]: item.get("inputs") or {} for item in found}
        self.loading = False
        if self.current not in self.inputs_of:
            self.current = self.assistants[0]["slug"] if self.assistants else ""
            self.messages, self.sources = [], {}

    @rx.event
    def choose(self, slug: str) -> None:
        if slug != self.current:
            self.current = slug
            self.messages, self.sources, self.extra = [], {}, {}

    @rx.event
    def set_extra(self, name: str, value: str) -> None:
        self.extra = {**self.extra, name: value}

    def _update_last(self, **values: str) -> None:
        messages = list(self.messages)
        messages[-1] = {**messages[-1], **values}
        self.messages = messages

    @rx.event(background=True)
    async def send(self, form: dict[str, Any]) -> Any:
        async with self:
            text = str(form.get("message") or "").strip()
            if not text or self.busy or not self.current:
                return
            inputs = {name: value for name, value in self.extra.items() if value}
            inputs[main_input(self.inputs_of.get(self.current, {}))] = text
            self.messages = [
                *self.messages,
                {"role": "user", "text": text, "status": "", "run_id": ""},
                {"role": "assistant", "text": "", "status": "running", "run_id": ""},
            ]
            self.busy = True
            client, slug = RuntimeClient(self.token), self.current
        streamed, final, last = "", {}, time.monotonic()
        try:
            async for event in client.invoke(slug, inputs):
                if event.get("type") == "token":
                    streamed += str(event.get("text") or "")
                    if time.monotonic() - last < FLUSH_S:
                        continue
                    last = time.monotonic()
                    async with self:
                        self._update_last(text=streamed)
                elif event.get("type") == "started":
                    async with self:
                        self._update_last(run_id=str(event.get("run_id") or ""))
                elif event.get("type") == "run":
                    final = event
        except ApiError as exc:
            async with self:
                self._update_last(text=self.error_text(exc), status="failed")
                self.busy = False
                events = self.on_error(exc)
            yield events
            return
        async with self:
            status = str(final.get("status") or "failed")
            error = (final.get("error") or {}).get("message", "") if final.get("error") else ""
            text = streamed or answer_text(final.get("outputs")) or error
            self._update_last(text=text, status=status)
            self.busy = False
            index, run_id = len(self.messages) - 1, self.messages[-1]["run_id"]
        await self._finish(client, index, run_id, status)

    async def _finish(self, client: RuntimeClient, index: int, run_id: str, status: str) -> None:
        """Sources of a finished run; a waiting run is polled until it ends."""
        if not run_id:
            return
        started = time.monotonic()
        while True:
            try:
                run = await client.run(run_id)
            except ApiError:
                return
            if run.get("status") != "waiting" or time.monotonic() - started > WAIT_POLL_MAX_S:
                break
            await asyncio.sleep(WAIT_POLL_S)
        async with self:
            if index < len(self.messages) and self.messages[index].get("run_id") == run_id:
                if status == "waiting" and run.get("status") != "waiting":
                    messages = list(self.messages)
                    error = (run.get("error") or {}).get("message", "") if run.get("error") else ""
                    messages[index] = {
                        **messages[index],
                        "status": str(run.get("status")),
                        "text": answer_text(run.get("outputs")) or error,
                    }
                    self.messages = messages
                found = sources_of(run)
                if found:
                    self.sources = {**self.sources, str(index): found}


def _message(message: rx.Var, index: rx.Var) -> rx.Component:
    is_user = message["role"] == "user"
    sources = AssistantsState.sources[index.to_string()]
    bubble = rx.box(
        rx.cond(
            is_user,
            rx.text(message["text"], white_space="pre-wrap"),
            rx.cond(message["text"] != "", rx.markdown(message["text"]), rx.spinner(size="2")),
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
            AssistantsState.sources.contains(index.to_string()),
            rx.vstack(
                rx.text(t("sources"), size="1", weight="bold", color=rx.color("gray", 10)),
                rx.foreach(
                    sources,
                    lambda source: rx.hstack(
                        rx.icon("file-text", size=12),
                        rx.text(source["source"], size="1"),
                        rx.cond(
                            source["page"] != "",
                            rx.text(t("page"), " ", source["page"], size="1", color=rx.color("gray", 10)),
                        ),
                        rx.badge(t("score"), " ", source["score"], size="1", variant="outline"),
                        align="center",
                        class_name="source-item",
                    ),
                ),
                spacing="1",
                margin_top="8px",
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
        custom_attrs={"data-status": message["status"]},
    )
    return rx.hstack(bubble, justify=rx.cond(is_user, "end", "start"), width="100%")


def _chat() -> rx.Component:
    return rx.vstack(
        rx.heading(AssistantsState.current_name, size="5"),
        rx.box(
            rx.cond(
                AssistantsState.messages.length() == 0,
                rx.text(t("your_message"), color=rx.color("gray", 9), size="2"),
                rx.vstack(rx.foreach(AssistantsState.messages, _message), spacing="3", width="100%"),
            ),
            flex="1",
            width="100%",
            overflow_y="auto",
            padding="12px",
            border=f"1px solid {rx.color('gray', 5)}",
            border_radius="12px",
            background="white",
            min_height="320px",
            max_height="calc(100vh - 330px)",
            id="chat-log",
        ),
        rx.cond(
            AssistantsState.extra_inputs.length() > 0,
            rx.hstack(
                rx.text(t("more_inputs"), size="1", color=rx.color("gray", 10)),
                rx.foreach(
                    AssistantsState.extra_inputs,
                    lambda item: rx.input(
                        placeholder=item["name"],
                        default_value=item["value"],
                        size="1",
                        title=item["description"],
                        on_blur=lambda value: AssistantsState.set_extra(item["name"], value),
                    ),
                ),
                align="center",
                wrap="wrap",
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
                    disabled=AssistantsState.busy,
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
        ),
        on_click=AssistantsState.choose(entry["slug"]),
        cursor="pointer",
        width="100%",
        class_name="assistant-item",
        custom_attrs={"data-slug": entry["slug"]},
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
