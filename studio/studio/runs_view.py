"""What the runs viewer shows, as pure functions (tested without a browser).

run_row        one run of the list: time, person, status, duration, tokens, feedback
trace_view     one run's trace: the answer beside the asker's correction, the inputs, and
               each step with its inputs and outputs as Markdown by type (`chat_view`:
               text as it is, objects as lists, records as tables; never JSON)
turn_views     an agent step's loop (its `steps` output), turn by turn: each model turn
               (text, tokens) and each tool call (name, arguments, result or error,
               status, the person's decision), in order (`agent_turns.py`)
error_words    a step's or run's error in the person's language: by its code, else by
               its kind, with the runtime's words after a lead-in
list_filters   the form's values as the runtime's query parameters
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from studio.agent_turns import TurnView, turn_views
from studio.chat_view import EMPTY, outputs_markdown, value_markdown
from studio.i18n import describe, has_text, translate

PAGE_SIZE = 25
STATUSES = ("succeeded", "failed", "waiting", "running", "cancelled", "expired")
# The feedback filter's choices and the query parameters each sends.
FEEDBACK_FILTERS: dict[str, dict[str, str]] = {
    "any": {"has_feedback": "true"},
    "correction": {"has_correction": "true"},
    "none": {"has_feedback": "false"},
}


def when(iso: Any, lang: str) -> str:
    """An ISO time (UTC) as `07.12.2026 14:03` (German) or `2026-12-07 14:03` (English)."""
    if not iso:
        return EMPTY
    try:
        moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)
    return moment.strftime("%Y-%m-%d %H:%M" if lang == "en" else "%d.%m.%Y %H:%M")


def duration(ms: Any, lang: str) -> str:
    """`850 ms`, `1,2 s` (German decimal comma), `2 min 5 s`; an en dash for none."""
    if ms is None:
        return EMPTY
    value = float(ms)
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 60_000:
        text = f"{value / 1000:.1f} s"
        return text if lang == "en" else text.replace(".", ",")
    minutes, seconds = divmod(round(value / 1000), 60)
    return f"{minutes} min {seconds} s"


def tokens(count: Any, lang: str) -> str:
    """`1.234` (German) or `1,234` (English); an en dash for none."""
    number = int(count or 0)
    if not number:
        return EMPTY
    text = f"{number:,}"
    return text if lang == "en" else text.replace(",", ".")


def status_label(status: str, lang: str) -> str:
    return translate(f"run_status_{status}", lang) if status else ""


def run_row(run: dict[str, Any], lang: str) -> dict[str, str]:
    """One row of the list, everything text (a Reflex state holds it as it is)."""
    return {
        "id": str(run["id"]),
        "short": str(run["id"])[:8],
        "when": when(run.get("created_at"), lang),
        "person": str(run.get("started_by") or translate("runs_no_person", lang)),
        "version": f"v{run.get('version', '')}",
        "status": str(run.get("status") or ""),
        "status_label": status_label(str(run.get("status") or ""), lang),
        "duration": duration(run.get("duration_ms"), lang),
        "tokens": tokens(run.get("total_tokens"), lang),
        "feedback": str(run.get("feedback") or ""),
        "correction": "true" if run.get("has_correction") else "",
        "test": "true" if run.get("is_test") else "",
    }


def error_words(error: Any, lang: str) -> str:
    """A stored error (`{"code"?, "kind"?, "message"}`) as a sentence for people."""
    if not isinstance(error, dict):
        return str(error or "")
    message = str(error.get("message") or "")
    code = str(error.get("code") or "")
    if code:
        said = describe(code, error, lang)  # the step's error carries its parameters
        if said is not None:
            return said
        lead = code.replace("_", " ")
    else:
        key = f"step_error_{error.get('kind') or 'other'}"
        lead = translate(key if has_text(key) else "step_error_other", lang)
    return f"{lead}: {message}" if message else lead


def _markdown(value: Any) -> str:
    if value in (None, {}, []):
        return ""
    return value_markdown(value)


def references_markdown(values: Any) -> str:
    """A step's inputs: each value under the reference it was read by (`inputs.question`,
    `find.documents`), the value by type as the chat shows it."""
    if not isinstance(values, dict):
        return _markdown(values)
    parts = []
    for reference, value in values.items():
        shown = _markdown(value) or EMPTY
        parts.append(f"`{str(reference).replace('`', '')}`\n\n{shown}")
    return "\n\n".join(parts)


@dataclass
class StepView:
    """One step of the trace, everything as text for the page."""

    node_id: str = ""
    node_type: str = ""
    title: str = ""
    status: str = ""
    status_label: str = ""
    duration: str = ""
    tokens: str = ""
    inputs: str = ""  # Markdown by type (chat_view), "" for none
    outputs: str = ""
    error: str = ""
    truncated: bool = False
    # An agent's loop, turn by turn (its `steps` output, then left out of `outputs`).
    turns: list[TurnView] = field(default_factory=list)


@dataclass
class TraceView:
    id: str = ""
    short: str = ""
    flow_id: str = ""
    status: str = ""
    status_label: str = ""
    when: str = ""
    person: str = ""
    version: str = ""
    duration: str = ""
    tokens: str = ""
    answer: str = ""  # the declared outputs, as the chat shows them
    inputs: str = ""
    error: str = ""
    rating: str = ""  # up | down | ""
    correction: str = ""
    can_make_case: bool = False
    steps: list[StepView] = field(default_factory=list)


def step_view(step: dict[str, Any], lang: str) -> StepView:
    outputs = step.get("outputs")
    turns: list[TurnView] = []
    if (
        step.get("node_type") == "agent"
        and isinstance(outputs, dict)
        and isinstance(outputs.get("steps"), list)
    ):
        turns = turn_views(outputs["steps"], lang)
        outputs = {name: value for name, value in outputs.items() if name != "steps"}
    return StepView(
        node_id=str(step.get("node_id") or ""),
        node_type=str(step.get("node_type") or ""),
        title=str(step.get("title") or step.get("node_id") or ""),
        status=str(step.get("status") or ""),
        status_label=status_label(str(step.get("status") or ""), lang),
        duration=duration(step.get("duration_ms"), lang),
        tokens=tokens(step.get("tokens"), lang),
        inputs=references_markdown(step.get("inputs")),
        outputs=_markdown(outputs),
        error=error_words(step.get("error"), lang) if step.get("error") else "",
        truncated=bool(step.get("truncated")),
        turns=turns,
    )


def trace_view(trace: dict[str, Any], lang: str) -> TraceView:
    feedback = trace.get("feedback") or {}
    error = trace.get("error")
    run_error = ""
    if error:
        words = error_words(error, lang)
        node = error.get("node") if isinstance(error, dict) else None
        run_error = translate("trace_step_failed", lang, node=node, message=words) if node else words
    return TraceView(
        id=str(trace["id"]),
        short=str(trace["id"])[:8],
        flow_id=str(trace.get("flow_id") or ""),
        status=str(trace.get("status") or ""),
        status_label=status_label(str(trace.get("status") or ""), lang),
        when=when(trace.get("created_at"), lang),
        person=str(trace.get("started_by") or translate("runs_no_person", lang)),
        version=f"v{trace.get('version', '')}",
        duration=duration(trace.get("duration_ms"), lang),
        tokens=tokens(trace.get("total_tokens"), lang),
        answer=outputs_markdown(trace.get("outputs")) if trace.get("outputs") else "",
        inputs=_markdown(trace.get("inputs")),
        error=run_error,
        rating=str(feedback.get("rating") or ""),
        correction=str(feedback.get("correction") or ""),
        can_make_case=bool(trace.get("can_make_test_case")),
        steps=[step_view(step, lang) for step in trace.get("steps") or []],
    )


def list_filters(form: dict[str, Any]) -> dict[str, str]:
    """The filter form's values (status, feedback, since, until, tests) as query parameters."""
    params: dict[str, str] = {}
    status = str(form.get("status") or "")
    if status in STATUSES:
        params["status"] = status
    params.update(FEEDBACK_FILTERS.get(str(form.get("feedback") or ""), {}))
    for name in ("since", "until"):
        value = str(form.get(name) or "").strip()
        if value:
            params[name] = value
    if form.get("tests") in (True, "on", "true"):
        params["include_tests"] = "true"
    return params
