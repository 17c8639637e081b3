"""The assistants page's state: the published assistants I may use, a chat with one of them.

A question starts a run of the live version (`POST /api/assistants/{slug}/runs`, streamed
with Server-Sent Events); the LLM's tokens show as a preview and are handed to the browser
a few times a second. When the run ends, the answer is the version's declared outputs. A run
that waits for a person is polled until it ends (`_finish`). Sources open a passage in a
dialog (the runtime checks again that the reader may see it).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import reflex as rx

from studio.api import ApiError, RuntimeClient
from studio.chat_view import (
    InputField,
    InputProblem,
    SourceGroup,
    input_fields,
    main_input,
    outputs_markdown,
    parse_inputs,
    source_groups,
)
from studio.i18n import describe_step_error
from studio.state.base import AppState

FLUSH_S = 0.12


WAIT_POLL_S = 2.0


WAIT_POLL_MAX_S = 15 * 60


def _new_message(role: str, text: str, kind: str, status: str, message_id: str = "") -> dict[str, str]:
    return {
        "id": message_id or uuid.uuid4().hex,
        "role": role,
        "text": text,
        "kind": kind,
        "status": status,
        "run_id": "",
    }


class AssistantsState(AppState):
    assistants: list[dict[str, str]] = []
    inputs_of: dict[str, dict[str, Any]] = {}
    loading: bool = False
    current: str = ""
    # Each message: id, role (user|assistant), text, kind (preview|final|error), status, run_id;
    # an error keeps the runtime's error as JSON (`error`) and is said by `shown_messages`.
    messages: list[dict[str, str]] = []
    # Sources of an answer, by the message's id.
    sources: dict[str, list[SourceGroup]] = {}
    # The form's values, by input name (controlled: each field shows its own value).
    values: dict[str, str] = {}
    busy: bool = False
    # The passage a person opened from a source.
    passage: dict[str, str] = {}
    passage_open: bool = False

    @rx.var
    def current_name(self) -> str:
        return next((item["name"] for item in self.assistants if item["slug"] == self.current), "")

    @rx.var
    def main_name(self) -> str:
        return main_input(self.inputs_of.get(self.current, {}))

    @rx.var
    def main_hint(self) -> str:
        """What the chat message is for: the main input's description or title."""
        inputs = self.inputs_of.get(self.current, {})
        spec = inputs.get(main_input(inputs)) or {}
        return str(spec.get("description") or spec.get("title") or "")

    @rx.var
    def fields(self) -> list[InputField]:
        inputs = self.inputs_of.get(self.current, {})
        return input_fields(inputs, skip=main_input(inputs))

    @rx.event
    async def load(self) -> Any:
        if not self.token:
            return
        self.loading = True
        yield
        async with self._runtime_call("loading") as call:
            found = await self.api().assistants()
        if call.failed:
            yield call.events
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
        if self.current not in self.inputs_of:
            self._show(self.assistants[0]["slug"] if self.assistants else "")

    def _show(self, slug: str) -> None:
        self.current = slug
        self.messages, self.sources = [], {}
        inputs = self.inputs_of.get(slug, {})
        self.values = {field.name: field.default for field in input_fields(inputs, skip=main_input(inputs))}

    @rx.event
    def choose(self, slug: str) -> None:
        if slug != self.current:
            self._show(slug)

    @rx.event
    def set_value(self, name: str, value: str) -> None:
        self.values = {**self.values, name: value}

    @rx.event
    def set_switch(self, name: str, value: bool) -> None:
        self.values = {**self.values, name: "true" if value else "false"}

    @rx.var
    def shown_messages(self) -> list[dict[str, str]]:
        """The messages, an error said in the person's language (it follows the switch)."""
        return [
            {**message, "text": describe_step_error(json.loads(message["error"]), self.lang)}
            if message.get("kind") == "error" and message.get("error")
            else message
            for message in self.messages
        ]

    def _update(self, message_id: str, **values: str) -> None:
        self.messages = [
            {**message, **values} if message["id"] == message_id else message for message in self.messages
        ]

    @rx.event(background=True)
    async def send(self, form: dict[str, Any]) -> Any:
        refusal = ""
        async with self:
            text = str(form.get("message") or "").strip()
            inputs_spec = self.inputs_of.get(self.current, {})
            main = main_input(inputs_spec)
            if (main and not text) or self.busy or not self.current:
                return
            try:
                inputs = parse_inputs(inputs_spec, self.values)
            except InputProblem as problem:
                label = next(
                    (f.label for f in input_fields(inputs_spec) if f.name == problem.name), problem.name
                )
                refusal = self.tr(problem.key, label=label)
            else:
                self.busy = True
        if refusal:
            yield rx.toast.error(refusal)
            return
        async with self:
            if main:
                inputs[main] = text
            answer_id = uuid.uuid4().hex
            self.messages = [
                *self.messages,
                _new_message("user", text or "…", "final", ""),
                _new_message("assistant", "", "preview", "running", answer_id),
            ]
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
                        self._update(answer_id, text=streamed, kind="preview")
                elif event.get("type") == "started":
                    async with self:
                        self._update(answer_id, run_id=str(event.get("run_id") or ""))
                elif event.get("type") == "run":
                    final = event
        except ApiError as exc:
            async with self:
                answer = {**exc.body, "code": exc.code, "message": exc.message}
                self._update(answer_id, error=json.dumps(answer), kind="error", status="failed")
                self.busy = False
                events = self.on_error(exc)
            yield events
            return
        async with self:
            status = str(final.get("status") or "running")
            if status == "succeeded":
                # The preview gives way to what the version declares as its outputs.
                self._update(
                    answer_id, text=outputs_markdown(final.get("outputs")), kind="final", status=status
                )
            elif status == "waiting":
                self._update(answer_id, text="", kind="final", status=status)
            elif status != "running":
                self._update(answer_id, error=_error_json(final), kind="error", status=status)
            self.busy = False
            run_id = next((m["run_id"] for m in self.messages if m["id"] == answer_id), "")
        await self._finish(client, answer_id, run_id)

    async def _finish(self, client: RuntimeClient, answer_id: str, run_id: str) -> None:
        """The stored run: its outputs (a run that waited or whose end the stream did not
        carry), its sources; a waiting run is polled until it ends."""
        if not run_id:
            return
        started = time.monotonic()
        while True:
            try:
                run = await client.run(run_id)
            except ApiError:
                return
            if (
                run.get("status") not in ("waiting", "running")
                or time.monotonic() - started > WAIT_POLL_MAX_S
            ):
                break
            await asyncio.sleep(WAIT_POLL_S)
        async with self:
            if not any(message["id"] == answer_id for message in self.messages):
                return  # another assistant was chosen meanwhile
            status = str(run.get("status") or "")
            if status == "succeeded":
                self._update(
                    answer_id, text=outputs_markdown(run.get("outputs")), kind="final", status=status
                )
            elif status not in ("waiting", "running"):
                self._update(answer_id, error=_error_json(run), kind="error", status=status)
            found = source_groups(run, self.tr("page"), (self.tr("passage_one"), self.tr("passages_count")))
            if found:
                self.sources = {**self.sources, answer_id: found}

    # -- a source's passage -------------------------------------------------------------------
    @rx.event
    async def open_passage(self, document_id: str, chunk_id: str) -> Any:
        async with self._runtime_call() as call:
            passage = await self.api().passage(document_id, chunk_id)
        if call.failed:
            return call.events
        where = [f"{self.tr('page')} {passage['page']}" if passage.get("page") not in (None, "") else ""]
        where.append(str(passage.get("section") or ""))
        self.passage = {
            "source": str(passage.get("source") or ""),
            "where": " · ".join(part for part in where if part),
            "text": str(passage.get("text") or ""),
            "index": str(passage.get("index") or ""),
        }
        self.passage_open = True
        return None

    @rx.event
    def set_passage_open(self, value: bool) -> None:
        self.passage_open = value


def _error_json(run: dict[str, Any]) -> str:
    """A failed run's error as the message keeps it (JSON text)."""
    error = run.get("error")
    return json.dumps(error if isinstance(error, dict) else {"message": str(error or "")})
