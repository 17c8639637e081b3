"""Every stable code the runtime answers with, with its English text and its parameters.

A code is a snake_case word that does not change once shipped; its parameters are the
named values its text needs. Clients translate by code (the studio keeps a German and an
English sentence for each: `studio/locales/`); the English `message` next to a code is
for logs, scripts and the API's readers. Four families, one module each:

    answers.py    an error answer of the API, `{"error": code, "message", **parameters}`
                  (raise a `runtime.errors` class with `code=` and the parameters as extras)
    problems.py   a problem of a flow document, of its test cases, of a run's inputs or of
                  a request body: `{"node", "field", "code", "params", "message"}`
    checks.py     a check of a test case that failed: `{"check", "code", "params", "message"}`
    steps.py      the error of a run or of one of its steps: `{"node", "kind", "code",
                  "message", **parameters}` (`nodes.errors.NodeError` with `code=`)

`GET /api/error-codes` serves the table (`CODES`); a test compares it with what the code
raises (tests/runtime/test_codes.py) and with the studio's catalogs
(tests/studio/test_catalog.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from runtime.codes.answers import ANSWERS
from runtime.codes.checks import CHECKS
from runtime.codes.problems import PROBLEMS
from runtime.codes.steps import STEPS

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?:![rs])?\}")
# Placeholders of the English text that are said from other parameters, not sent as one:
# a check's `{checked}` is its `output`, or its `node` and `field` (checks.py).
DERIVED = frozenset({"checked"})


@dataclass(frozen=True)
class Code:
    """One code: its family, its English text, the names of its parameters and, for a code
    whose answer comes in variants, the words its parameter `reason` can take."""

    code: str
    family: str
    template: str
    params: tuple[str, ...]
    reasons: tuple[str, ...] = ()


def placeholders(template: str) -> tuple[str, ...]:
    """The `{name}` parameters of an English template, in order, each once."""
    return tuple(dict.fromkeys(_PLACEHOLDER.findall(template)))


def _family(name: str, table: dict[str, Any]) -> dict[str, Code]:
    """A table's entries: `template`, `(template, extra parameters)` or `(template, extra
    parameters, reasons)`."""
    codes = {}
    for code, entry in table.items():
        template, extra, reasons = (entry, (), ()) if isinstance(entry, str) else (*entry, ())[:3]
        named = [param for param in placeholders(template) if param not in DERIVED]
        params = tuple(dict.fromkeys((*named, *extra, *(("reason",) if reasons else ()))))
        codes[code] = Code(code, name, template, params, tuple(reasons))
    return codes


def _all() -> dict[str, Code]:
    codes: dict[str, Code] = {}
    for name, table in (("answer", ANSWERS), ("problem", PROBLEMS), ("check", CHECKS), ("step", STEPS)):
        for code, entry in _family(name, table).items():
            if code in codes:
                raise RuntimeError(f"the code {code!r} is in two families: {codes[code].family}, {name}")
            codes[code] = entry
    return codes


CODES: dict[str, Code] = _all()


def text(code: str, **params: Any) -> str:
    """The English text of `code` with its parameters filled in."""
    return CODES[code].template.format(**params)


def coded(code: str, *, said: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
    """`{"code", "params", "message"}` for a problem or a failed check: the English message
    from the table, so that code and message never tell different stories. `said` fills
    the placeholders that are not parameters of their own (`DERIVED`)."""
    return {"code": code, "params": params, "message": text(code, **params, **(said or {}))}


__all__ = ["CODES", "Code", "coded", "placeholders", "text"]
