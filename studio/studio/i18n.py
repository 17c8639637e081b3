"""The studio's words in the person's language, read from one catalog per language.

The catalogs are `studio/locales/de.py` (German, the default) and `studio/locales/en.py`:
`TEXTS[key] = text`, with the same keys in both (their docstring lists the namespaces).
Pages render `t(key)` (`state.base.t`), a Var that follows the language switch; event
handlers call `translate(key, lang, **values)`. Runtime errors become sentences with
`describe_error`: every code has a sentence of its own (`error.<code>`); a code the
catalog does not know gets a lead-in and the runtime's message, and is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from studio.locales import de, en

log = logging.getLogger("studio.i18n")

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
CATALOGS: dict[str, dict[str, str]] = {"de": de.TEXTS, "en": en.TEXTS}

RUN_STATUSES = ("succeeded", "failed", "waiting", "running", "cancelled", "expired", "skipped", "pending")


def catalog(lang: str) -> dict[str, str]:
    """The texts of `lang` (German for anything but English)."""
    return en.TEXTS if lang == "en" else de.TEXTS


def has_text(key: str) -> bool:
    """Whether the catalogs know `key` (they know the same keys in both languages)."""
    return key in de.TEXTS


def text_pair(key: str) -> tuple[str, str]:
    """`key` in German and in English, for a Var that follows the language switch."""
    return de.TEXTS[key], en.TEXTS[key]


class _Blank(dict[str, Any]):
    """Parameters for `str.format_map`: a missing one reads as empty, never a KeyError."""

    def __missing__(self, key: str) -> str:
        return ""


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **values: Any) -> str:
    """The text for `key` in `lang`, with `{name}` placeholders filled from `values`."""
    text = catalog(lang).get(key, key)
    return text.format(**values) if values else text


def fill(key: str, lang: str, values: dict[str, Any]) -> str:
    """`translate` for parameters from the runtime: a missing one reads as empty."""
    return catalog(lang).get(key, key).format_map(_Blank(values))


# -- node types and config fields ------------------------------------------------------------
def node_type_title(node_type: str, fallback: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The title of a shipped node type; types the runtime adds later keep their own."""
    key = f"node.{node_type}"
    return translate(key, lang) if has_text(key) else fallback


def node_type_description(node_type: str, fallback: str, lang: str = DEFAULT_LANGUAGE) -> str:
    key = f"node.{node_type}.about"
    return translate(key, lang) if has_text(key) else fallback


def field_texts(name: str, title: str, description: str, lang: str = DEFAULT_LANGUAGE) -> tuple[str, str]:
    """A config field's title and description in `lang` (German for the known ones)."""
    if lang != "en" and name in de.FIELDS:
        return de.FIELDS[name]
    return title, description


def field_title_by_type(node_type: str, name: str, lang: str) -> str | None:
    """A German title for a field of one node type (or of every type), else None."""
    if lang == "en":
        return None
    return de.FIELDS_BY_TYPE.get((node_type, name)) or de.COMMON_FIELDS.get(name)


def status_labels(lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    return {status: translate(f"run_status_{status}", lang) for status in RUN_STATUSES}


# -- runtime errors ----------------------------------------------------------------------------
# The lead-in for a code the catalog has no sentence for, by HTTP status.
STATUS_LEADS = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    422: "bad_request",
    503: "unavailable",
}


def describe_error(
    code: str,
    message: str,
    status: int,
    lang: str = DEFAULT_LANGUAGE,
    params: Mapping[str, Any] | None = None,
) -> str:
    """A runtime error as a sentence for people: never a stack trace, never just a code.
    `params` are the error's parameters (the answer's other fields, a problem's `params`)."""
    known = describe(code, params or {}, lang)
    if known is not None:
        return known
    log.warning("no text for the runtime's code %r (%s)", code, message)
    lead_key = code if has_text(f"lead.{code}") else STATUS_LEADS.get(status, "error")
    detail = message.strip() or code
    return f"{translate(f'lead.{lead_key}', lang)}: {detail[:1].upper()}{detail[1:]} ({code})"


def describe_answer(code: str, message: str, status: int, body: Mapping[str, Any], lang: str) -> str:
    """An error answer of the runtime (`{"error", "message", **params, "errors"?}`) as a
    sentence, followed by its first problems (a body or the inputs that do not fit)."""
    sentence = describe_error(code, message, status, lang, body)
    problems = [problem for problem in body.get("errors") or [] if isinstance(problem, Mapping)]
    said = []
    for problem in problems[:3]:
        text = describe_problem(problem, lang)
        where = str(problem.get("field") or "")
        said.append(f"{where}: {text}" if where else text)
    return " ".join([sentence, *said]) if said else sentence


def _shown(name: str, value: Any, lang: str) -> str:
    """A parameter as the sentence shows it: run statuses in words, lists joined."""
    if name in ("status", "expected", "state") and isinstance(value, str) and value in RUN_STATUSES:
        return translate(f"run_status_{value}", lang)
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def checked_text(params: Mapping[str, Any], lang: str) -> str:
    """What a failed test check looked at: a flow output, or a step's field."""
    if params.get("output"):
        return translate("checked.output", lang, output=params["output"])
    return translate("checked.step", lang, node=params.get("node") or "", field=params.get("field") or "")


def describe(code: str, params: Mapping[str, Any], lang: str = DEFAULT_LANGUAGE) -> str | None:
    """The catalog's sentence for a runtime code, its parameters filled in (the variant
    `error.<code>.<reason>` when there is one); None for a code the catalog does not know."""
    reason = params.get("reason")
    key = f"error.{code}.{reason}" if reason and has_text(f"error.{code}.{reason}") else f"error.{code}"
    if not has_text(key):
        return None
    values = {name: _shown(name, value, lang) for name, value in params.items()}
    if "{checked}" not in catalog(lang)[key]:
        return fill(key, lang, values)
    said = fill(key, lang, {**values, "checked": checked_text(params, lang)})
    return said[:1].upper() + said[1:]  # "output 'answer': ..." begins a sentence


def describe_problem(problem: Mapping[str, Any], lang: str = DEFAULT_LANGUAGE) -> str:
    """One problem (`{"code", "params", "message"}`: of a flow document, a test case, a
    run's inputs, a request body, or a failed check) as a sentence; without a known code
    the runtime's English message with its code."""
    code = str(problem.get("code") or "")
    params = problem.get("params")
    known = describe(code, params if isinstance(params, Mapping) else {}, lang) if code else None
    if known is not None:
        return known
    message = str(problem.get("message") or "")
    if code:
        log.warning("no text for the runtime's code %r (%s)", code, message)
        return f"{message} ({code})" if message else code
    return message


def no_model_sentence(error: dict[str, Any], lang: str) -> str:
    """The `no_model_endpoint` sentence; a model other than "default" is named in it."""
    sentence = translate("error.no_model_endpoint", lang)
    model = str(error.get("model") or "")
    if model and model != "default":
        sentence = f"{sentence} {translate('no_model_named', lang, model=model)}"
    return sentence


def probe_failure_text(reason: str, lang: str) -> str:
    """Why the model test button's request failed, in words (the reason itself when unknown)."""
    key = f"model_error_{reason}"
    return translate(key, lang) if has_text(key) else reason


def describe_step_error(error: Any, lang: str = DEFAULT_LANGUAGE) -> str:
    """A failed step's (or run's) error as a sentence: by its code when it has a known one,
    else the runtime's own message."""
    if not isinstance(error, dict):
        return str(error or "")
    code = str(error.get("code") or "")
    if code == "no_model_endpoint":
        return no_model_sentence(error, lang)
    if code == "template_budget_exceeded":
        limit = str(error.get("limit") or "")
        label = translate(f"limit.{limit}", lang) if has_text(f"limit.{limit}") else limit
        value = error.get("limit_value")
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        return translate("error.template_budget_exceeded", lang, limit=label, limit_value=shown)
    if code:
        return describe_error(code, str(error.get("message") or ""), 0, lang, error)
    return str(error.get("message") or error)
